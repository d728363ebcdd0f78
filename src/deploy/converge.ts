import type {DockerClient} from '../docker/client.js'
import {isTransientDockerError} from '../docker/errors.js'
import {stackFilter} from '../docker/stack.js'
import type {DockerEvent, Service, Task} from '../docker/types.js'
import {watchEvents} from './event-watch.js'
import {
  assessService,
  defaultStabilityWindowMs,
  type FailureReason,
  type ServiceAssessment,
  type ServiceFailure,
  type ServiceProgress,
} from './service-assessment.js'

export type {ServiceFailure, ServiceProgress} from './service-assessment.js'
export {assessService, isTaskOfSpec} from './service-assessment.js'

/**
 * The converge phase: wait until every service of a stack runs its current spec, and fail fast when it cannot
 * (DESIGN.md §1, §4, §6). `running == desired` is not enough: it counts the old task during an update. See
 * service-assessment.ts for what "of the new spec" and "converged" mean.
 *
 * How it waits: list the stack's services and their tasks (2 requests), judge each service, then sleep until the
 * next poll (`pollIntervalMs`, the safety net: there are no task events), or until an event of one of the stack's
 * services arrives (update state, replicas, create/remove: re-assess at once, at most one assessment per
 * MIN_ASSESS_GAP_MS, so at most ~5 requests/s). Once every service has converged, keep watching for the
 * stability window; a failure inside it fails the wait, a service falling back to progressing starts it over.
 */
export interface ConvergeOptions {
  stack: string
  /** Give up at this time (epoch ms): the deploy's overall deadline. */
  deadlineMs: number
  /** After every service has converged, keep watching this long; a failure inside it fails the deploy.
   *  Default: max(largest UpdateConfig.Monitor of the stack's services, 10 s). Tests may pass a small value. */
  stabilityWindowMs?: number
  /**
   * Safety-net poll of services + tasks while some service has not converged (default 500 ms: a task reaching
   * `running` raises no event, so this poll bounds how late convergence is noticed). During the stability window
   * it is at least 1 s. Two requests per poll: at most ~5 Engine API requests/s in total.
   */
  pollIntervalMs?: number
  /**
   * Failed tasks that stopped before this time (epoch ms) are history, not failures of this rollout (e.g. the
   * time the stack deploy started). Without it, the start of each service's current spec is the floor.
   */
  sinceMs?: number
  /** See AssessOptions.toleratedTaskFailures (default 0: fail fast). */
  toleratedTaskFailures?: number
  signal?: AbortSignal
  onProgress?: (progress: ConvergeProgress) => void
  /** The event stream ended or failed and is being reopened (for verbose output; the poll covers the gap). */
  onEventStreamReconnect?: (info: {attempt: number; error?: unknown}) => void
}

export interface ConvergeProgress {
  phase: 'converging' | 'stabilising'
  services: ServiceProgress[]
}

export type ConvergeResult =
  | {ok: true; convergedAtMs: number; lastTaskRunningAtMs?: number; services: ServiceProgress[]}
  | {
      ok: false
      reason: 'task-failed' | 'update-paused' | 'update-rolled-back' | 'timeout' | 'aborted' | 'no-services'
      message: string
      failures: ServiceFailure[]
      /** Status.Timestamp (epoch ms) of the first failed task of the new spec, when one failed. */
      firstFailureAtMs?: number
      detectedAtMs: number
    }

type Failed = Extract<ConvergeResult, {ok: false}>

const DEFAULT_POLL_INTERVAL_MS = 500
/** The slower poll of the stability window: failures then also surface through service events (update state). */
const STABILISING_POLL_INTERVAL_MS = 1000
/** Two requests per assessment: at most 2.5 assessments/s keeps the wait at ~5 requests/s. */
export const MIN_ASSESS_GAP_MS = 400
/** Bound on one listing request (and never past the deadline). */
const REQUEST_TIMEOUT_MS = 10_000
const FAILURE_PRIORITY: readonly FailureReason[] = ['task-failed', 'update-rolled-back', 'update-paused']

export async function waitForConvergence(docker: DockerClient, options: ConvergeOptions): Promise<ConvergeResult> {
  const {stack, deadlineMs} = options
  const startedAtMs = Date.now()
  const pollIntervalMs = Math.max(MIN_ASSESS_GAP_MS, options.pollIntervalMs ?? DEFAULT_POLL_INTERVAL_MS)
  // One controller for everything this wait starts (listings, the event stream): aborted on every exit path.
  const controller = new AbortController()
  const signal = controller.signal
  const forwardAbort = (): void => controller.abort(options.signal?.reason)
  options.signal?.addEventListener('abort', forwardAbort, {once: true})
  const wakeup = new Wakeup(signal)
  const serviceIds = new Set<string>()
  let watch: Promise<unknown> | undefined

  const aborted = (): Failed => ({
    ok: false,
    reason: 'aborted',
    message: `stopped waiting for the services of stack ${stack} to converge: interrupted`,
    failures: [],
    detectedAtMs: Date.now(),
  })

  try {
    if (options.signal?.aborted) return aborted()
    let phase: ConvergeProgress['phase'] = 'converging'
    let stableUntilMs: number | undefined
    let convergedAtMs: number | undefined
    let lastTaskRunningAtMs: number | undefined
    let windowMs = options.stabilityWindowMs
    let latest: ServiceAssessment[] | undefined
    let lastError: unknown
    let lastProgressKey = ''

    for (;;) {
      if (signal.aborted) return aborted()
      if (Date.now() >= deadlineMs) return timedOut(stack, latest, phase, lastError, windowMs)
      const assessStartMs = Date.now()
      let listing: {services: Service[]; tasks: Task[]} | undefined
      try {
        listing = await listStack(docker, stack, requestSignal(signal, deadlineMs))
        lastError = undefined
      } catch (error) {
        if (signal.aborted) return aborted()
        // Docker restarting, a network blip, a 5xx: retried at the next poll until the deadline.
        if (!isTransientDockerError(error)) throw error
        lastError = error
      }

      if (listing) {
        if (listing.services.length === 0) {
          return {
            ok: false,
            reason: 'no-services',
            message: `stack ${stack} has no services (none carries the label com.docker.stack.namespace=${stack}); check the stack name`,
            failures: [],
            detectedAtMs: Date.now(),
          }
        }
        serviceIds.clear()
        for (const service of listing.services) serviceIds.add(service.ID)
        // List first, then watch: `since` just before the first listing, so no event in between is lost.
        watch ??= startWatch(docker, stack, serviceIds, Math.floor(startedAtMs / 1000) - 1, signal, wakeup, options)
        windowMs ??= defaultStabilityWindowMs(listing.services)

        const {tasks} = listing
        latest = listing.services
          .map((service) => assessService(service, tasks, {sinceMs: options.sinceMs, toleratedTaskFailures: options.toleratedTaskFailures}))
          .sort((a, b) => a.progress.name.localeCompare(b.progress.name))
        const failed = latest.filter((assessment) => assessment.progress.state === 'failed')
        if (failed.length > 0) return failureResult(failed)

        const nowMs = Date.now()
        if (!latest.every((assessment) => assessment.progress.state === 'converged')) {
          phase = 'converging'
          stableUntilMs = undefined
          convergedAtMs = undefined
        } else if (phase === 'converging') {
          phase = 'stabilising'
          convergedAtMs = nowMs
          lastTaskRunningAtMs = maxOf(latest.map((assessment) => assessment.lastRunningAtMs))
          stableUntilMs = nowMs + windowMs
        } else if (stableUntilMs !== undefined && nowMs >= stableUntilMs && !latest.some((assessment) => assessment.updating)) {
          // Window over, and Swarm's updater is out of its monitor period for every service.
          return {ok: true, convergedAtMs: convergedAtMs ?? nowMs, lastTaskRunningAtMs, services: latest.map((a) => a.progress)}
        }

        const progress: ConvergeProgress = {phase, services: latest.map((assessment) => assessment.progress)}
        const key = JSON.stringify(progress)
        if (key !== lastProgressKey) {
          lastProgressKey = key
          options.onProgress?.(progress)
        }
      }

      const intervalMs = phase === 'stabilising' ? Math.max(pollIntervalMs, STABILISING_POLL_INTERVAL_MS) : pollIntervalMs
      const nextPollMs = (listing ? assessStartMs : Date.now()) + intervalMs
      const notBeforeMs = assessStartMs + MIN_ASSESS_GAP_MS
      // The end of the window wakes us once; after it (Swarm still `updating`) the poll and the events do.
      const windowEndMs = stableUntilMs !== undefined && stableUntilMs > Date.now() ? stableUntilMs : Number.POSITIVE_INFINITY
      const untilMs = Math.min(nextPollMs, windowEndMs, deadlineMs)
      await wakeup.wait(Math.max(notBeforeMs, untilMs), notBeforeMs)
    }
  } finally {
    controller.abort()
    options.signal?.removeEventListener('abort', forwardAbort)
    wakeup.dispose()
    // The watch ends as soon as its request is aborted; do not let a stuck stream hold the caller.
    if (watch) await Promise.race([watch.catch(() => undefined), delay(1000)])
  }
}

async function listStack(docker: DockerClient, stack: string, signal: AbortSignal): Promise<{services: Service[]; tasks: Task[]}> {
  const services = await docker.listServices({filters: stackFilter(stack), signal})
  if (services.length === 0) return {services, tasks: []}
  // All tasks of the stack's services in one request, history included (failed tasks are desired shutdown).
  const tasks = await docker.listTasks({filters: {service: services.map((service) => service.ID)}, signal})
  return {services, tasks}
}

function requestSignal(signal: AbortSignal, deadlineMs: number): AbortSignal {
  const timeoutMs = Math.max(1000, Math.min(REQUEST_TIMEOUT_MS, deadlineMs - Date.now()))
  return AbortSignal.any([signal, AbortSignal.timeout(timeoutMs)])
}

/** Does this event concern one of the stack's services (by ID, or by name for one created since the listing)? */
export function isStackServiceEvent(event: DockerEvent, stack: string, serviceIds: ReadonlySet<string>): boolean {
  if (event.Type !== 'service') return false
  return serviceIds.has(event.Actor.ID) || (event.Actor.Attributes?.name ?? '').startsWith(`${stack}_`)
}

function startWatch(
  docker: DockerClient,
  stack: string,
  serviceIds: ReadonlySet<string>,
  sinceS: number,
  signal: AbortSignal,
  wakeup: Wakeup,
  options: ConvergeOptions,
): Promise<unknown> {
  return watchEvents({
    connect: ({since, signal: streamSignal}) =>
      docker.events({filters: {type: ['service'], scope: ['swarm']}, since, signal: streamSignal}),
    signal,
    sinceS,
    onEvent: (event) => {
      if (isStackServiceEvent(event, stack, serviceIds)) wakeup.trigger()
    },
    onReconnect: (info) => {
      // Changes may have gone unannounced while the stream was down: list again.
      wakeup.trigger()
      try {
        options.onEventStreamReconnect?.(info)
      } catch {
        // a reporting callback must not end the watch
      }
    },
  }).catch(() => undefined)
}

function failureResult(failed: ServiceAssessment[]): Failed {
  const reason = FAILURE_PRIORITY.find((candidate) => failed.some((assessment) => assessment.reason === candidate)) ?? 'task-failed'
  const failures = failed.flatMap((assessment) => assessment.failures)
  const firstFailureAtMs = minOf(failed.map((assessment) => assessment.firstFailureAtMs))
  return {
    ok: false,
    reason,
    message: failed.map(describeFailure).join('; '),
    failures,
    firstFailureAtMs,
    detectedAtMs: Date.now(),
  }
}

/**
 * One line per failed service, e.g. "web: task x1y2z3 (slot 1) of the new spec failed: task: non-zero exit (3)", or
 * "web: Swarm rolled the update back (rollback_started): …; task x1y2z3 (slot 1) failed: task: non-zero exit (3)".
 */
export function describeFailure(assessment: ServiceAssessment): string {
  const name = assessment.progress.name
  const update = assessment.failures.find((failure) => !failure.taskId)
  const tasks = assessment.failures.filter((failure) => failure.taskId)
  const parts: string[] = []
  if (update) parts.push(update.error)
  const [first] = tasks
  if (first) {
    const where = first.slot === undefined ? '' : ` (slot ${first.slot})`
    const which = assessment.reason === 'task-failed' ? ' of the new spec' : ''
    parts.push(`task ${first.taskId!.slice(0, 12)}${where}${which} ${first.state ?? 'failed'}: ${first.error}`)
  }
  const more = tasks.length > 1 ? ` (+${tasks.length - 1} more failed task(s))` : ''
  return `${name}: ${parts.join('; ') || 'failed'}${more}`
}

function timedOut(
  stack: string,
  latest: ServiceAssessment[] | undefined,
  phase: ConvergeProgress['phase'],
  lastError: unknown,
  windowMs: number | undefined,
): Failed {
  const dockerError = lastError ? `; last Docker error: ${(lastError as Error).message ?? String(lastError)}` : ''
  const detectedAtMs = Date.now()
  if (!latest) {
    return {
      ok: false,
      reason: 'timeout',
      message: `timed out before the services of stack ${stack} could be listed${dockerError}`,
      failures: [],
      detectedAtMs,
    }
  }
  const waiting = latest.filter((assessment) => assessment.progress.state !== 'converged')
  if (waiting.length > 0) {
    return {
      ok: false,
      reason: 'timeout',
      message:
        `timed out waiting for ${waiting.length} of ${latest.length} service(s) of stack ${stack} to run the new spec: ` +
        waiting.map((assessment) => `${assessment.progress.name} ${assessment.waitingFor}`).join('; ') +
        dockerError,
      failures: waiting.map((assessment) => ({service: assessment.progress.name, error: `not converged: ${assessment.waitingFor}`})),
      detectedAtMs,
    }
  }
  const updating = latest.filter((assessment) => assessment.updating)
  const why =
    updating.length > 0
      ? `Swarm still reports the update of ${updating.map((assessment) => assessment.progress.name).join(', ')} in progress`
      : phase === 'stabilising'
        ? `the stability window (${Math.round((windowMs ?? 0) / 1000)} s) did not end before the deadline`
        : 'the deadline passed'
  return {
    ok: false,
    reason: 'timeout',
    message: `timed out: every service of stack ${stack} runs the new spec, but ${why}${dockerError}`,
    failures: [],
    detectedAtMs,
  }
}

/**
 * Sleep until a time, or until triggered (an event), but not before `notBeforeMs` (the rate limit). A trigger
 * that arrives while nobody waits is kept for the next wait. Resolves at once when the signal aborts.
 */
class Wakeup {
  private pending = false
  private resolveWait: (() => void) | undefined
  private timer: NodeJS.Timeout | undefined
  private targetMs = Number.POSITIVE_INFINITY
  private notBeforeMs = 0
  private readonly onAbort = (): void => this.fire()

  constructor(private readonly signal: AbortSignal) {
    signal.addEventListener('abort', this.onAbort, {once: true})
  }

  trigger(): void {
    this.pending = true
    if (this.resolveWait) this.schedule(Math.min(this.targetMs, Math.max(this.notBeforeMs, Date.now())))
  }

  wait(untilMs: number, notBeforeMs: number): Promise<void> {
    return new Promise((resolve) => {
      if (this.signal.aborted) return resolve()
      this.resolveWait = resolve
      this.notBeforeMs = notBeforeMs
      this.targetMs = Number.POSITIVE_INFINITY
      this.schedule(this.pending ? Math.min(untilMs, Math.max(notBeforeMs, Date.now())) : untilMs)
    })
  }

  dispose(): void {
    this.signal.removeEventListener('abort', this.onAbort)
    this.fire()
  }

  private schedule(atMs: number): void {
    if (atMs >= this.targetMs) return
    this.targetMs = atMs
    clearTimeout(this.timer)
    this.timer = setTimeout(() => this.fire(), Math.max(0, atMs - Date.now()))
  }

  private fire(): void {
    clearTimeout(this.timer)
    this.timer = undefined
    this.pending = false
    this.targetMs = Number.POSITIVE_INFINITY
    const resolve = this.resolveWait
    this.resolveWait = undefined
    resolve?.()
  }
}

function delay(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms).unref())
}

function maxOf(values: Array<number | undefined>): number | undefined {
  const defined = values.filter((value): value is number => value !== undefined)
  return defined.length > 0 ? Math.max(...defined) : undefined
}

function minOf(values: Array<number | undefined>): number | undefined {
  const defined = values.filter((value): value is number => value !== undefined)
  return defined.length > 0 ? Math.min(...defined) : undefined
}
