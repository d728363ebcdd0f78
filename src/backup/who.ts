import {hostname, userInfo} from 'node:os'
import type {BackupManifest} from './types.js'

/** Who took a backup: the OS user, the host, and the GitHub Actions run when the GITHUB_* variables are set. */
export function backupAuthor(env: NodeJS.ProcessEnv = process.env): BackupManifest['who'] {
  const who: BackupManifest['who'] = {user: currentUser(env), host: hostname()}
  const ciRunUrl = githubRunUrl(env)
  if (ciRunUrl) who.ciRunUrl = ciRunUrl
  return who
}

/** `<server>/<owner>/<repo>/actions/runs/<id>` from GITHUB_SERVER_URL, GITHUB_REPOSITORY, GITHUB_RUN_ID (pure). */
export function githubRunUrl(env: NodeJS.ProcessEnv): string | undefined {
  const repository = env.GITHUB_REPOSITORY?.trim()
  const runId = env.GITHUB_RUN_ID?.trim()
  if (!repository || !runId) return undefined
  const server = (env.GITHUB_SERVER_URL?.trim() || 'https://github.com').replace(/\/+$/, '')
  return `${server}/${repository}/actions/runs/${runId}`
}

function currentUser(env: NodeJS.ProcessEnv): string {
  try {
    return userInfo().username
  } catch {
    // no passwd entry for this uid (some containers)
    return env.USER || env.LOGNAME || `uid ${process.getuid?.() ?? 'unknown'}`
  }
}
