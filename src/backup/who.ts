import {hostname, userInfo} from 'node:os'
import {githubRunUrl} from '../ci/ci-run.js'
import type {BackupManifest} from './types.js'

/** Who took a backup: the OS user, the host, and the GitHub Actions run when the GITHUB_* variables are set. */
export function backupAuthor(env: NodeJS.ProcessEnv = process.env): BackupManifest['who'] {
  const who: BackupManifest['who'] = {user: currentUser(env), host: hostname()}
  const ciRunUrl = githubRunUrl(env)
  if (ciRunUrl) who.ciRunUrl = ciRunUrl
  return who
}

function currentUser(env: NodeJS.ProcessEnv): string {
  try {
    return userInfo().username
  } catch {
    // no passwd entry for this uid (some containers)
    return env.USER || env.LOGNAME || `uid ${process.getuid?.() ?? 'unknown'}`
  }
}
