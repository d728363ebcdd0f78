/**
 * How a run shows its progress, chosen explicitly (listr2's default renderer prints garbage without a real TTY):
 * - `live`: listr2's default renderer, for a person at a terminal;
 * - `lines`: plain timestamped lines (CI, pipes, SSH without a TTY, TERM=dumb);
 * - `github`: GitHub Actions (GITHUB_ACTIONS=true): a `::group::` per phase and `::error::` annotations
 *   (src/ci/github-runner.ts);
 * - in --json mode the lines go to stderr so stdout holds only the JSON result.
 */
export type RendererChoice = {kind: 'live'} | {kind: 'lines' | 'github'; stream: 'stdout' | 'stderr'}

export interface RendererEnvironment {
  isTTY: boolean
  json: boolean
  ci: boolean
  term?: string
  /** GITHUB_ACTIONS=true. */
  githubActions?: boolean
}

export function chooseRenderer(env: RendererEnvironment): RendererChoice {
  if (env.githubActions) return {kind: 'github', stream: env.json ? 'stderr' : 'stdout'}
  if (env.json) return {kind: 'lines', stream: 'stderr'}
  if (!env.isTTY || env.ci || env.term === 'dumb') return {kind: 'lines', stream: 'stdout'}
  return {kind: 'live'}
}

/** The facts `chooseRenderer` needs, read from this process. */
export function rendererEnvironment(json: boolean, env: NodeJS.ProcessEnv = process.env): RendererEnvironment {
  return {
    isTTY: Boolean(process.stdout.isTTY),
    json,
    ci: Boolean(env.CI && env.CI !== 'false') || env.GITHUB_ACTIONS === 'true',
    term: env.TERM,
    githubActions: env.GITHUB_ACTIONS === 'true',
  }
}
