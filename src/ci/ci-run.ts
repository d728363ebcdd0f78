/**
 * Where a run comes from when it runs in CI: the one place that reads the GITHUB_* variables for the lock holder,
 * the backup manifest, the history and the notifications.
 */

/** GitHub Actions sets GITHUB_ACTIONS=true in every step (and `clinical` over SSH gets it passed explicitly). */
export function isGitHubActions(env: NodeJS.ProcessEnv = process.env): boolean {
  return env.GITHUB_ACTIONS === 'true'
}

/**
 * `<server>/<owner>/<repo>/actions/runs/<id>` from GITHUB_SERVER_URL (default https://github.com), GITHUB_REPOSITORY
 * and GITHUB_RUN_ID, or undefined when either of the last two is missing (pure). GITHUB_ACTIONS is not required: a
 * workflow that runs `clinical` over SSH may pass only the run's coordinates to the manager.
 */
export function githubRunUrl(env: NodeJS.ProcessEnv = process.env): string | undefined {
  const repository = env.GITHUB_REPOSITORY?.trim()
  const runId = env.GITHUB_RUN_ID?.trim()
  if (!repository || !runId) return undefined
  const server = (env.GITHUB_SERVER_URL?.trim() || 'https://github.com').replace(/\/+$/, '')
  return `${server}/${repository}/actions/runs/${runId}`
}
