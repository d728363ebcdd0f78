import {createHash} from 'node:crypto'
import {hostname, userInfo} from 'node:os'
import pRetry from 'p-retry'
import {githubRunUrl} from '../ci/ci-run.js'
import type {DockerClient} from '../docker/client.js'
import {DockerConflictError, DockerNotFoundError, isTransientDockerError} from '../docker/errors.js'
import type {SwarmConfig} from '../docker/types.js'
import {LockedError} from '../errors.js'

/**
 * One deploy or rollback per stack at a time (DESIGN.md §7). The lock is a swarm config object, so every manager
 * and every CI runner sees it; creating a config whose name exists is refused (HTTP 409), which makes taking the
 * lock atomic. The config carries `io.clinical.lock.stack`, not the stack namespace label: `docker stack rm` must
 * not remove a held lock.
 */

export interface LockHolder {
  stack: string
  command: string
  user: string
  host: string
  pid: number
  /** ISO 8601. */
  startedAt: string
  ciRunUrl?: string
}

export interface StackLock {
  readonly holder: LockHolder
  /** Remove the lock. Idempotent and never throws: a lock already gone is fine; other failures go to onWarning. */
  release(): Promise<void>
}

export const LOCK_STACK_LABEL = 'io.clinical.lock.stack'
const LABEL_PREFIX = 'io.clinical.lock.'
const NAME_PREFIX = 'clinical-lock-'
/** swarmkit: config names are at most 64 characters of [a-zA-Z0-9-_.], starting and ending alphanumeric. */
const CONFIG_NAME_MAX = 64
const CONFIG_NAME_PATTERN = /^[a-zA-Z0-9]+(?:[a-zA-Z0-9-_.]*[a-zA-Z0-9])?$/
const HASH_CHARS = 16
/** Taking the lock can race with its release: read, then try again, this many times. */
const ACQUIRE_ATTEMPTS = 3
const RELEASE_TIMEOUT_MS = 10_000
const RELEASE_RETRIES = 5
const RELEASE_BUDGET_MS = 30_000

/** The name of the lock config of a stack: `clinical-lock-<stack>`, or a hashed form when that is not a valid name. */
export function lockConfigName(stack: string): string {
  const plain = `${NAME_PREFIX}${stack}`
  if (plain.length <= CONFIG_NAME_MAX && CONFIG_NAME_PATTERN.test(plain)) return plain
  const hash = createHash('sha256').update(stack).digest('hex').slice(0, HASH_CHARS)
  const room = CONFIG_NAME_MAX - NAME_PREFIX.length - HASH_CHARS - 1
  const head = stack.slice(0, room).replace(/[^a-zA-Z0-9-_.]/g, '-').replace(/[^a-zA-Z0-9]+$/, '')
  return `${NAME_PREFIX}${head ? `${head}-` : ''}${hash}`
}

/** The holder this process would be: who, where, since when, and the CI run when in GitHub Actions. */
export function currentHolder(input: {stack: string; command: string; env?: NodeJS.ProcessEnv; now?: Date}): LockHolder {
  const env = input.env ?? process.env
  const holder: LockHolder = {
    stack: input.stack,
    command: input.command,
    user: currentUser(env),
    host: hostname(),
    pid: process.pid,
    startedAt: (input.now ?? new Date()).toISOString(),
  }
  const ciRunUrl = githubRunUrl(env)
  if (ciRunUrl) holder.ciRunUrl = ciRunUrl
  return holder
}

function currentUser(env: NodeJS.ProcessEnv): string {
  try {
    return userInfo().username
  } catch {
    // no passwd entry for this uid (some containers)
    return env.USER || env.LOGNAME || `uid ${process.getuid?.() ?? '?'}`
  }
}

/** The config object that holds a lock: holder in Data (base64 JSON) and, for `docker config inspect`, in labels. */
export function lockConfigSpec(holder: LockHolder): {Name: string; Labels: Record<string, string>; Data: string} {
  const labels: Record<string, string> = {
    [LOCK_STACK_LABEL]: holder.stack,
    [`${LABEL_PREFIX}command`]: holder.command,
    [`${LABEL_PREFIX}user`]: holder.user,
    [`${LABEL_PREFIX}host`]: holder.host,
    [`${LABEL_PREFIX}pid`]: String(holder.pid),
    [`${LABEL_PREFIX}started-at`]: holder.startedAt,
  }
  if (holder.ciRunUrl) labels[`${LABEL_PREFIX}ci-run-url`] = holder.ciRunUrl
  return {
    Name: lockConfigName(holder.stack),
    Labels: labels,
    Data: Buffer.from(JSON.stringify(holder)).toString('base64'),
  }
}

/** The holder recorded in a lock config (Data first, labels as a fallback); never throws. */
export function holderFromConfig(config: SwarmConfig, stack: string): LockHolder {
  const labels = config.Spec.Labels ?? {}
  let data: Partial<LockHolder> = {}
  try {
    const parsed: unknown = JSON.parse(Buffer.from(config.Spec.Data ?? '', 'base64').toString('utf8'))
    if (parsed && typeof parsed === 'object') data = parsed as Partial<LockHolder>
  } catch {
    // not ours or damaged: the labels still say who
  }
  const text = (value: unknown, fallback: string | undefined): string =>
    typeof value === 'string' && value ? value : (fallback ?? 'unknown')
  const pid = Number(data.pid ?? labels[`${LABEL_PREFIX}pid`])
  const holder: LockHolder = {
    stack: text(data.stack, labels[LOCK_STACK_LABEL] ?? stack),
    command: text(data.command, labels[`${LABEL_PREFIX}command`]),
    user: text(data.user, labels[`${LABEL_PREFIX}user`]),
    host: text(data.host, labels[`${LABEL_PREFIX}host`]),
    pid: Number.isInteger(pid) ? pid : 0,
    startedAt: text(data.startedAt, labels[`${LABEL_PREFIX}started-at`] ?? config.CreatedAt),
  }
  const ciRunUrl = data.ciRunUrl ?? labels[`${LABEL_PREFIX}ci-run-url`]
  if (typeof ciRunUrl === 'string' && ciRunUrl) holder.ciRunUrl = ciRunUrl
  return holder
}

/** "clinical deploy by alice@mgr-1 (pid 4242) since 2026-11-22T06:01:02Z (3m ago)", plus the CI run when known. */
export function describeHolder(holder: LockHolder, now: Date = new Date()): string {
  const startedMs = Date.parse(holder.startedAt)
  const since = Number.isNaN(startedMs)
    ? holder.startedAt
    : `${new Date(startedMs).toISOString().replace(/\.\d{3}Z$/, 'Z')} (${formatAge(now.getTime() - startedMs)} ago)`
  const ci = holder.ciRunUrl ? `, CI run ${holder.ciRunUrl}` : ''
  return `${holder.command} by ${holder.user}@${holder.host} (pid ${holder.pid}) since ${since}${ci}`
}

/** 42s, 3m, 2h 5m, 3d 4h. */
export function formatAge(ageMs: number): string {
  const seconds = Math.max(0, Math.floor(ageMs / 1000))
  if (seconds < 60) return `${seconds}s`
  const minutes = Math.floor(seconds / 60)
  if (minutes < 60) return `${minutes}m`
  const hours = Math.floor(minutes / 60)
  if (hours < 24) return minutes % 60 ? `${hours}h ${minutes % 60}m` : `${hours}h`
  const days = Math.floor(hours / 24)
  return hours % 24 ? `${days}d ${hours % 24}h` : `${days}d`
}

/**
 * Whether the holder's process still runs: true/false when it ran on this host, undefined when that cannot be
 * known (another host, or no pid).
 */
export function holderRunning(holder: LockHolder, thisHost: string = hostname()): boolean | undefined {
  if (holder.host !== thisHost || !Number.isInteger(holder.pid) || holder.pid <= 0) return undefined
  try {
    process.kill(holder.pid, 0)
    return true
  } catch (error) {
    // EPERM: it runs, as another user
    return (error as NodeJS.ErrnoException).code === 'EPERM'
  }
}

/** The one-line message of a held lock (exit 3); says so when the holder is a dead process on this host. */
export function lockedMessage(holder: LockHolder, options: {running?: boolean; now?: Date} = {}): string {
  const who = describeHolder(holder, options.now)
  const unlock = `clinical unlock --stack ${holder.stack}`
  if (options.running === false) {
    return `stack ${holder.stack} is locked by ${who}, but that process no longer runs on this host (stale lock): run: ${unlock}`
  }
  return `stack ${holder.stack} is locked by ${who}. If that run is gone (e.g. host rebooted), run: ${unlock}`
}

/**
 * Take the stack's lock or throw LockedError (exit 3) at once, naming the holder. The create itself is not
 * aborted half-way (a lock created but not known would be left behind): the signal is checked before and after.
 */
export async function acquireStackLock(
  docker: DockerClient,
  options: {stack: string; command: string; signal?: AbortSignal; onWarning?: (message: string) => void; env?: NodeJS.ProcessEnv},
): Promise<StackLock> {
  const {stack, signal} = options
  for (let attempt = 1; attempt <= ACQUIRE_ATTEMPTS; attempt++) {
    signal?.throwIfAborted()
    const holder = currentHolder({stack, command: options.command, env: options.env})
    try {
      const {ID} = await docker.createConfig(lockConfigSpec(holder))
      const lock = heldLock(docker, ID, holder, options.onWarning)
      if (signal?.aborted) {
        await lock.release()
        signal.throwIfAborted()
      }
      return lock
    } catch (error) {
      if (error instanceof DockerConflictError) {
        // held by someone else (or released meanwhile): read it below
      } else {
        // The answer was lost (timeout, connection cut): the create may have landed, and a lock nobody knows would
        // stop every later run. Remove it if it is ours.
        if (isTransientDockerError(error)) await removeIfOurs(docker, holder).catch(() => undefined)
        throw error
      }
    }
    const other = await readStackLock(docker, stack, signal)
    if (other) throw new LockedError(lockedMessage(other, {running: holderRunning(other)}))
    // released between our create and our read: try again
  }
  throw new LockedError(
    `stack ${stack} is locked by another run (the lock changed hands ${ACQUIRE_ATTEMPTS} times while clinical tried to take it); try again`,
  )
}

function heldLock(docker: DockerClient, configId: string, holder: LockHolder, onWarning?: (message: string) => void): StackLock {
  let released: Promise<void> | undefined
  const release = async (): Promise<void> => {
    // By ID, not name: after `clinical unlock` someone else may hold a lock of the same name.
    // Not tied to the run's signal: an interrupted run must still release its lock; a daemon restarting meanwhile
    // is waited out (RELEASE_RETRIES with backoff, at most RELEASE_BUDGET_MS).
    try {
      await pRetry(
        async () => {
          try {
            await docker.removeConfig(configId, AbortSignal.timeout(RELEASE_TIMEOUT_MS))
          } catch (error) {
            if (!(error instanceof DockerNotFoundError)) throw error
          }
        },
        {retries: RELEASE_RETRIES, minTimeout: 500, factor: 2, randomize: true, maxRetryTime: RELEASE_BUDGET_MS},
      )
    } catch (error) {
      try {
        onWarning?.(
          `could not release the lock of stack ${holder.stack} (config ${lockConfigName(holder.stack)}): ${(error as Error).message}. Run: clinical unlock --stack ${holder.stack}`,
        )
      } catch {
        // a reporter that throws must not make release throw
      }
    }
  }
  return {
    holder,
    release: () => (released ??= release()),
  }
}

/** Remove the stack's lock when it records exactly this holder (same host, pid and start). */
async function removeIfOurs(docker: DockerClient, holder: LockHolder): Promise<void> {
  const config = await inspectLock(docker, holder.stack, AbortSignal.timeout(RELEASE_TIMEOUT_MS))
  if (!config) return
  const recorded = holderFromConfig(config, holder.stack)
  if (recorded.host === holder.host && recorded.pid === holder.pid && recorded.startedAt === holder.startedAt) {
    await docker.removeConfig(config.ID, AbortSignal.timeout(RELEASE_TIMEOUT_MS))
  }
}

/** Who holds the stack's lock, or undefined when nobody does. */
export async function readStackLock(docker: DockerClient, stack: string, signal?: AbortSignal): Promise<LockHolder | undefined> {
  const config = await inspectLock(docker, stack, signal)
  return config ? holderFromConfig(config, stack) : undefined
}

/** Remove the stack's lock whoever holds it (`clinical unlock`); returns who held it, or undefined when nobody did. */
export async function removeStackLock(docker: DockerClient, stack: string, signal?: AbortSignal): Promise<LockHolder | undefined> {
  const config = await inspectLock(docker, stack, signal)
  if (!config) return undefined
  try {
    await docker.removeConfig(config.ID, signal)
  } catch (error) {
    if (!(error instanceof DockerNotFoundError)) throw error
  }
  return holderFromConfig(config, stack)
}

async function inspectLock(docker: DockerClient, stack: string, signal?: AbortSignal): Promise<SwarmConfig | undefined> {
  try {
    return await docker.inspectConfig(lockConfigName(stack), signal)
  } catch (error) {
    if (error instanceof DockerNotFoundError) return undefined
    throw error
  }
}
