/**
 * The two-service stack the reporting tests deploy with the built CLI (as test/integration/deploy.test.ts does):
 * `web` (busybox httpd on a free 127.0.0.1 port; its behaviour per release, see Release) and `worker`.
 * `environment` lets a test hand secrets to the containers, as a real compose file does.
 */
import {mkdir} from 'node:fs/promises'
import {join} from 'node:path'
import {releaseCompose} from './release-compose.js'
import {writeComposeFile} from './swarm.js'

export {type Release, releaseCompose, webScript} from './release-compose.js'

export interface ReleaseStack {
  composeFile: string
  work: string
  backupDir: string
  cleanup: () => Promise<void>
}

/** A compose file and a work dir (config/, backups/) in a fresh temporary directory. */
export async function releaseStack(environment: Record<string, string> = {}, compose = releaseCompose(environment)): Promise<ReleaseStack> {
  const written = await writeComposeFile(compose)
  await mkdir(join(written.dir, 'config'))
  return {composeFile: written.file, work: written.dir, backupDir: join(written.dir, 'backups'), cleanup: written.cleanup}
}

/** The flags of `clinical deploy` for this stack; `overrides` replaces a flag's value. */
export function deployArgs(stack: string, fixture: ReleaseStack, port: number, overrides: Record<string, string> = {}, extra: string[] = ['--json']): string[] {
  const flags: Record<string, string> = {
    '--stack': stack,
    '--compose-file': fixture.composeFile,
    '--backup-dir': fixture.backupDir,
    '--config-dir': join(fixture.work, 'config'),
    '--require-env': 'APP_VERSION',
    '--min-free-disk': '1MB',
    '--health-url': `http://127.0.0.1:${port}/healthy`,
    '--app-probe': 'off',
    '--resolve-image': 'never',
    '--timeout': '60s',
    ...overrides,
  }
  return ['deploy', ...Object.entries(flags).flat(), '--allow-root', '--no-backup-volumes', ...extra]
}
