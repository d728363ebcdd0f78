/**
 * The real local swarm for integration tests (scripts/local-swarm.sh up). Each test gets its own stack name
 * and free 127.0.0.1 ports, and everything labelled with its stack is removed afterwards.
 *
 * When Docker does not answer: with CI=true the suite fails (integration tests must never be skipped silently
 * in CI); elsewhere the integration files are skipped with a line that says why.
 */
import {execFile} from 'node:child_process'
import {randomBytes} from 'node:crypto'
import {mkdtemp, rm, writeFile} from 'node:fs/promises'
import {createServer} from 'node:net'
import {tmpdir} from 'node:os'
import {join} from 'node:path'
import {promisify} from 'node:util'
import {describe} from 'vitest'
import {DockerClient} from '../../src/docker/client.js'
import {stackFilter} from '../../src/docker/stack.js'
import {lockConfigName} from '../../src/deploy/lock.js'

const run = promisify(execFile)

/** Images built by scripts/local-swarm.sh with `docker import` from busybox-static; /www/version holds the tag. */
export const TEST_IMAGE = {
  v1: 'clinical-test/busybox:v1',
  v2: 'clinical-test/busybox:v2',
  v3: 'clinical-test/busybox:v3',
} as const

async function swarmAnswers(): Promise<string | undefined> {
  const docker = new DockerClient()
  try {
    const info = await docker.info(AbortSignal.timeout(5000))
    if (info.Swarm.LocalNodeState !== 'active' || !info.Swarm.ControlAvailable) return 'this node is not a swarm manager'
    await docker.inspectImage(TEST_IMAGE.v1, AbortSignal.timeout(5000))
    return undefined
  } catch (error) {
    return (error as Error).message
  } finally {
    await docker.close()
  }
}

const unavailable = await swarmAnswers()
if (unavailable && process.env.CI === 'true') {
  throw new Error(`integration tests need the local swarm (scripts/local-swarm.sh up): ${unavailable}`)
}
if (unavailable) console.warn(`[integration] skipped: no local swarm (${unavailable}); run scripts/local-swarm.sh up`)

/** `describe` that runs on the real swarm, or is skipped (never in CI) when there is none. */
export const describeOnSwarm = unavailable ? describe.skip : describe

/** A unique stack name for one test: `t<random>` (short: service names must stay under 63 characters). */
export function uniqueStackName(prefix = 't'): string {
  return `${prefix}${randomBytes(4).toString('hex')}`
}

/** A TCP port on 127.0.0.1 that is free right now. */
export async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer()
    server.once('error', reject)
    server.listen(0, '127.0.0.1', () => {
      const address = server.address()
      server.close(() => (typeof address === 'object' && address ? resolve(address.port) : reject(new Error('no port'))))
    })
  })
}

/** Remove every service, config and volume of a stack (bounded: a few seconds per resource). */
/** Remove a test stack: its services, configs and volumes (label com.docker.stack.namespace) and its deploy lock. */
export async function removeStack(docker: DockerClient, stack: string): Promise<void> {
  const filters = stackFilter(stack)
  await docker.removeConfig(lockConfigName(stack)).catch(() => undefined)
  for (const service of await docker.listServices({filters})) {
    await docker.removeService(service.ID).catch(() => undefined)
  }
  for (const config of await docker.listConfigs({filters})) {
    await docker.removeConfig(config.ID).catch(() => undefined)
  }
  // volumes stay in use until the containers of removed services are gone
  const deadline = Date.now() + 30_000
  for (const volume of await docker.listVolumes({filters})) {
    while (Date.now() < deadline) {
      const removed = await docker.removeVolume(volume.Name, {force: true}).then(
        () => true,
        () => false,
      )
      if (removed) break
      await new Promise((resolve) => setTimeout(resolve, 500))
    }
  }
}

/** One busybox httpd service `web` on 127.0.0.1:<port> with the stack volume `data` mounted at /srv/data. */
export function webWithVolumeCompose(port: number, image: string = TEST_IMAGE.v1): string {
  return `version: "3.8"
services:
  web:
    image: ${image}
    command: ["httpd", "-f", "-p", "127.0.0.1:${port}", "-h", "/www"]
    volumes: ["data:/srv/data"]
    networks: [hostnet]
    stop_grace_period: 1s
volumes:
  data: {}
networks:
  hostnet: {external: true, name: host}
`
}

/** A compose file in a fresh temporary directory; returns its path. */
export async function writeComposeFile(yaml: string): Promise<{file: string; dir: string; cleanup: () => Promise<void>}> {
  const dir = await mkdtemp(join(tmpdir(), 'clinical-it-'))
  const file = join(dir, 'docker-compose.yml')
  await writeFile(file, yaml)
  return {file, dir, cleanup: () => rm(dir, {recursive: true, force: true})}
}

/** `docker stack deploy` through the real CLI (as an operator would), for tests that need a stack to exist. */
export async function dockerStackDeploy(composeFile: string, stack: string, env: NodeJS.ProcessEnv = {}): Promise<void> {
  // --resolve-image never: no registry is asked (test traffic stays on 127.0.0.1)
  await run('docker', ['stack', 'deploy', '--resolve-image', 'never', '--compose-file', composeFile, stack], {
    env: {...process.env, ...env},
    timeout: 60_000,
  })
}

/** The built CLI (npm run build), run as a user would; never throws, returns the exit code and output. */
export async function runClinical(
  args: string[],
  options: {env?: NodeJS.ProcessEnv; timeoutMs?: number} = {},
): Promise<{exitCode: number; stdout: string; stderr: string}> {
  const bin = join(import.meta.dirname, '..', '..', 'bin', 'run.js')
  try {
    const {stdout, stderr} = await run(process.execPath, [bin, ...args], {
      env: {...process.env, ...options.env},
      timeout: options.timeoutMs ?? 120_000,
      maxBuffer: 16 * 1024 * 1024,
    })
    return {exitCode: 0, stdout, stderr}
  } catch (error) {
    const failed = error as {code?: number | string; stdout?: string; stderr?: string}
    return {exitCode: typeof failed.code === 'number' ? failed.code : -1, stdout: failed.stdout ?? '', stderr: failed.stderr ?? ''}
  }
}

/** A service on the host network serving /www on 127.0.0.1:<port> with busybox httpd. */
export function httpdCommand(port: number): string[] {
  return ['httpd', '-f', '-p', `127.0.0.1:${port}`, '-h', '/www']
}
