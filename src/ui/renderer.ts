/**
 * How a run shows its progress, chosen explicitly (listr2's default renderer prints garbage without a real TTY):
 * - `live`: listr2's default renderer, for a person at a terminal;
 * - `lines`: plain timestamped lines (CI, pipes, SSH without a TTY, TERM=dumb);
 * - in --json mode the lines go to stderr so stdout holds only the JSON result.
 */
export type RendererChoice = {kind: 'live'} | {kind: 'lines'; stream: 'stdout' | 'stderr'}

export interface RendererEnvironment {
  isTTY: boolean
  json: boolean
  ci: boolean
  term?: string
}

export function chooseRenderer(env: RendererEnvironment): RendererChoice {
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
  }
}
