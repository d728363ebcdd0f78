/**
 * The two-service release stack shared by the integration tests (test/helpers/release-stack.ts) and the benchmark
 * (scripts/bench/): `web` (busybox httpd on a 127.0.0.1 port; its behaviour per release, see Release) and `worker`.
 * No imports and no side effects, so a script can use it without the test helpers' swarm check.
 */

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
