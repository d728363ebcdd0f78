/**
 * The benchmark's stacks (host network, 127.0.0.1 only, images from scripts/local-swarm.sh) and what it reads from
 * the swarm to time them: Status.Timestamp of tasks, by image tag, independent of clinical's own judgement.
 */
import {execFile} from 'node:child_process'
import {randomBytes} from 'node:crypto'
import {writeFile} from 'node:fs/promises'
import {join} from 'node:path'
import {promisify} from 'node:util'
import type {DockerClient} from '../../src/docker/client.js'
import {stackFilter} from '../../src/docker/stack.js'
import type {Service, Task} from '../../src/docker/types.js'
import {releaseCompose} from '../../test/helpers/release-compose.js'
import {sleep} from '../demo/support.js'

export {webScript} from '../../test/helpers/release-compose.js'

const run = promisify(execFile)

export const IMAGE = (tag: string): string => `clinical-test/busybox:${tag}`

/** `web` (busybox httpd, its behaviour from WEB_SCRIPT) and `worker`: the stack of the integration tests. */
export const WEB_WORKER_COMPOSE = releaseCompose()

/** `count` services `s01`… running `sleep` (image tag from ${TAG}); Monitor 1 s so Swarm's updater settles fast. */
export function sleepServicesCompose(count: number): string {
  const services = Array.from({length: count}, (_, index) => {
    const name = `s${String(index + 1).padStart(2, '0')}`
    return `  ${name}:
    image: clinical-test/busybox:\${TAG}
    command: ["sleep", "86400"]
    networks: [hostnet]
    stop_grace_period: 1s
    deploy:
      update_config: {monitor: 1s}
`
  })
  return `version: "3.8"\nservices:\n${services.join('')}networks:\n  hostnet: {external: true, name: host}\n`
}

export function benchStackName(purpose: string): string {
  return `cb${randomBytes(3).toString('hex')}-${purpose}`
}

export async function writeCompose(dir: string, name: string, yaml: string): Promise<string> {
  const file = join(dir, name)
  await writeFile(file, yaml)
  return file
}

/** `docker stack deploy` as the seed runs it (no registry here: --resolve-image never instead of --with-registry-auth). */
export async function stackDeploy(composeFile: string, stack: string, env: Record<string, string>): Promise<void> {
  try {
    await run('docker', ['stack', 'deploy', '--resolve-image', 'never', '--compose-file', composeFile, stack], {
      env: {...process.env, ...env},
      timeout: 60_000,
    })
  } catch (error) {
    const failed = error as {stderr?: string; message: string}
    throw new Error(`docker stack deploy ${stack} failed: ${(failed.stderr || failed.message).trim()}`)
  }
}

export async function stackListing(docker: DockerClient, stack: string): Promise<{services: Service[]; tasks: Task[]}> {
  const services = await docker.listServices({filters: stackFilter(stack)})
  const tasks = services.length === 0 ? [] : await docker.listTasks({filters: {service: services.map((service) => service.ID)}})
  return {services, tasks}
}

export const timestampMs = (task: Task): number => Date.parse(task.Status.Timestamp)
const imageOf = (task: Task): string | undefined => task.Spec.ContainerSpec?.Image?.split('@')[0]

/**
 * Status.Timestamp (epoch ms) of the newest task that runs the given image and is meant to: the moment the last
 * task of a rollout reached `running`. Undefined unless every service has such a task.
 */
export function lastRunningAtMs(listing: {services: Service[]; tasks: Task[]}, image: string): number | undefined {
  let last = 0
  for (const service of listing.services) {
    const running = listing.tasks.filter(
      (task) => task.ServiceID === service.ID && imageOf(task) === image && task.DesiredState === 'running' && task.Status.State === 'running',
    )
    if (running.length === 0) return undefined
    last = Math.max(last, ...running.map(timestampMs))
  }
  return last
}

/** Status.Timestamp (epoch ms) of the first failed task of the given image at or after `sinceMs`. */
export function firstFailedAtMs(tasks: readonly Task[], image: string, sinceMs: number): number | undefined {
  const failed = tasks
    .filter((task) => imageOf(task) === image && (task.Status.State === 'failed' || task.Status.State === 'rejected'))
    .map(timestampMs)
    .filter((atMs) => atMs >= sinceMs)
  return failed.length > 0 ? Math.min(...failed) : undefined
}

/** Poll (every 250 ms, bounded) until `done` holds for the stack's listing; throws with `what` on timeout. */
export async function waitForListing<T>(
  docker: DockerClient,
  stack: string,
  what: string,
  timeoutMs: number,
  done: (listing: {services: Service[]; tasks: Task[]}) => T | undefined,
): Promise<T> {
  const deadlineMs = Date.now() + timeoutMs
  while (Date.now() < deadlineMs) {
    const value = done(await stackListing(docker, stack))
    if (value !== undefined) return value
    await sleep(250)
  }
  throw new Error(`timed out after ${timeoutMs / 1000}s waiting for ${what} (stack ${stack})`)
}

/** Wait until every service of the stack runs `image` (one running task per replica, none of another image). */
export function waitForImage(docker: DockerClient, stack: string, image: string, expectedServices: number, timeoutMs = 120_000): Promise<number> {
  return waitForListing(docker, stack, `${expectedServices} service(s) running ${image}`, timeoutMs, (listing) => {
    if (listing.services.length !== expectedServices) return undefined
    const running = listing.tasks.filter((task) => task.DesiredState === 'running' && task.Status.State === 'running')
    const allNew = listing.services.every((service) => {
      const own = running.filter((task) => task.ServiceID === service.ID)
      return own.length === (service.Spec.Mode?.Replicated?.Replicas ?? 1) && own.every((task) => imageOf(task) === image)
    })
    return allNew ? lastRunningAtMs(listing, image) : undefined
  })
}

export function median(values: readonly number[]): number {
  const sorted = [...values].sort((a, b) => a - b)
  const middle = Math.floor(sorted.length / 2)
  return sorted.length % 2 === 1 ? sorted[middle]! : (sorted[middle - 1]! + sorted[middle]!) / 2
}
