/**
 * The two-service stack the reporting tests deploy with the built CLI (as test/integration/deploy.test.ts does):
 * `web` (busybox httpd on a free 127.0.0.1 port; its behaviour per release, see Release) and `worker`.
 * `environment` lets a test hand secrets to the containers, as a real compose file does.
 */
import {mkdir} from 'node:fs/promises'
import {join} from 'node:path'
import {writeComposeFile} from './swarm.js'

/** good: serves /healthy and /version; crash: exits 3 at once; unhealthy: serves /version but not its health file. */
export type Release = 'good' | 'crash' | 'unhealthy'

/** `failureAction`: web's update_config.failure_action (Swarm's default is pause; rollback makes Swarm undo it). */
export function releaseCompose(environment: Record<string, string> = {}, options: {failureAction?: 'pause' | 'rollback'} = {}): string {
  const updateConfig = options.failureAction ? `{monitor: 5s, failure_action: ${options.failureAction}}` : '{monitor: 5s}'
  const env = Object.entries(environment)
    .map(([name, value]) => `      ${name}: ${JSON.stringify(value)}\n`)
    .join('')
  return `version: "3.8"
services:
  web:
    image: clinical-test/busybox:\${APP_VERSION}
    command: ["sh", "-c", "\${WEB_SCRIPT}"]
    networks: [hostnet]
    stop_grace_period: 2s
${env ? `    environment:\n${env}` : ''}    deploy:
      update_config: ${updateConfig}
  worker:
    image: clinical-test/busybox:\${APP_VERSION}
    command: ["sleep", "3600"]
    networks: [hostnet]
    stop_grace_period: 2s
networks:
  hostnet: {external: true, name: host}
`
}

export function webScript(release: Release, port: number): string {
  const serve = `exec httpd -f -p 127.0.0.1:${port} -h /www`
  if (release === 'crash') return 'echo starting; exit 3'
  if (release === 'unhealthy') return serve
  return `echo ok > /www/healthy && ${serve}`
}

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
