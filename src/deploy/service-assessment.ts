import {isDeepStrictEqual} from 'node:util'
import {type Service, type Task, TASK_STATES, type TaskState, type TaskTemplate, type UpdateState} from '../docker/types.js'

/**
 * Where one service stands in a rollout, judged from one listing of the service and its tasks. Pure: no Docker,
 * no clock (tested on hand-built objects in test/unit/deploy/converge-assessment.test.ts).
 */

export interface ServiceProgress {
  name: string
  desired: number
  runningNew: number
  updateState: UpdateState | null
  state: 'converged' | 'progressing' | 'failed'
}

export interface ServiceFailure {
  service: string
  taskId?: string
  slot?: number
  state?: TaskState
  error: string
  /** Status.Timestamp of the failed task (ISO), or UpdateStatus.StartedAt for an update failure. */
  at?: string
}

export type FailureReason = 'task-failed' | 'update-paused' | 'update-rolled-back'

export interface ServiceAssessment {
  progress: ServiceProgress
  /** Set when state is 'failed'. */
  reason?: FailureReason
  failures: ServiceFailure[]
  /** Status.Timestamp (epoch ms) of the earliest failed task of the current spec, when one failed. */
  firstFailureAtMs?: number
  /** Status.Timestamp (epoch ms) of the newest running task of the current spec. */
  lastRunningAtMs?: number
  /** Swarm's updater is still in its monitor period (tasks are all new and running; see assessService). */
  updating: boolean
  /** One line on what is still awaited (for progress and the timeout message); empty when converged. */
  waitingFor: string
}

export interface AssessOptions {
  /**
   * Failed tasks older than this (epoch ms) are history, not failures of this rollout. The floor is always at
   * least the start of the service's current spec (see failureFloorMs).
   */
  sinceMs?: number
  /**
   * Failed tasks of the current spec tolerated in one slot (or node) before the service counts as failed; Swarm
   * restarts them meanwhile. Default 0: a deploy fails fast on the first failed task of its new spec. A rollback
   * puts back specs that ran before, whose first task may fail for a passing reason (the task being replaced still
   * holds a host port in its stop grace period), so it tolerates a few.
   */
  toleratedTaskFailures?: number
}

/** Task states in lifecycle order (TASK_STATES follows swarmkit's enum). */
const STATE_ORDER: ReadonlyMap<TaskState, number> = new Map(TASK_STATES.map((state, index) => [state, index]))
const RUNNING_ORDER = STATE_ORDER.get('running')!

/**
 * A task Swarm still wants to run: DesiredState up to `running`. During a stop-first update the new task waits
 * with DesiredState `ready` until the old one has stopped (observed on Engine 20.10), so `running` alone is not
 * enough: it would make a global service look converged in that gap.
 */
export function isWanted(task: Task): boolean {
  return (STATE_ORDER.get(task.DesiredState) ?? Number.POSITIVE_INFINITY) <= RUNNING_ORDER
}

/** A task that runs now and is meant to. */
export function isRunning(task: Task): boolean {
  return task.Status.State === 'running' && task.DesiredState === 'running'
}

/**
 * The comparable form of a task spec: drop `Runtime` (the Engine API adds it to a service's TaskTemplate but
 * never to a task's Spec, see moby daemon/cluster/convert) and every null, empty object and empty array (Go's
 * omitempty and nil-vs-empty make them come and go between the two conversions).
 */
export function normaliseTaskSpec(spec: TaskTemplate | undefined): unknown {
  if (!spec) return {}
  const {Runtime: _runtime, ...rest} = spec
  return prune(rest) ?? {}
}

function prune(value: unknown): unknown {
  if (value === null || value === undefined) return undefined
  if (Array.isArray(value)) {
    const items = value.map((item) => prune(item) ?? null)
    return items.length === 0 ? undefined : items
  }
  if (typeof value === 'object') {
    const out: Record<string, unknown> = {}
    for (const key of Object.keys(value).sort()) {
      const pruned = prune((value as Record<string, unknown>)[key])
      if (pruned !== undefined) out[key] = pruned
    }
    return Object.keys(out).length === 0 ? undefined : out
  }
  return value
}

function withoutConstraints(spec: unknown): unknown {
  const copy = structuredClone(spec) as {Placement?: {Constraints?: unknown}}
  if (copy.Placement) delete copy.Placement.Constraints
  return prune(copy) ?? {}
}

/**
 * Is this task of the service's current spec?
 *
 * The Engine API's Task carries no SpecVersion, so the criterion is the one swarmkit's own orchestrator uses
 * (`orchestrator.IsTaskDirty`): the task's Spec deep-equals the service's Spec.TaskTemplate, after
 * normaliseTaskSpec. Established on the real swarm (Engine 20.10, API 1.41; pinned by
 * test/integration/converge.test.ts): after an image update the old task's Spec still names the old image and
 * does not match; after a `docker stack deploy` that changes nothing, the running task still matches although the
 * service's UpdatedAt moved (so "task CreatedAt after service UpdatedAt" would be wrong: it would never count a
 * task kept by an unchanged deploy).
 *
 * One exception mirrors swarmkit: a change of placement constraints alone does not replace a task whose node
 * still satisfies them, so a running, still-wanted task that differs only in Placement.Constraints counts as
 * current (when its node does not satisfy them, Swarm shuts it down and it stops counting).
 */
export function isTaskOfSpec(task: Task, template: TaskTemplate | undefined): boolean {
  const want = normaliseTaskSpec(template)
  const have = normaliseTaskSpec(task.Spec)
  if (isDeepStrictEqual(have, want)) return true
  return isRunning(task) && isDeepStrictEqual(withoutConstraints(have), withoutConstraints(want))
}

export function isJob(service: Service): boolean {
  const mode = service.Spec.Mode
  return Boolean(mode?.ReplicatedJob || mode?.GlobalJob)
}

export function isGlobal(service: Service): boolean {
  return Boolean(service.Spec.Mode?.Global)
}

function timeMs(iso: string | undefined): number | undefined {
  if (!iso) return undefined
  const ms = Date.parse(iso)
  return Number.isNaN(ms) || ms <= 0 ? undefined : ms
}

/**
 * Failed tasks before this time (epoch ms) are history. A service's UpdatedAt moves on every spec update (also
 * one that changes nothing: every `docker stack deploy` sends one) but also when Swarm's updater records its
 * progress (paused, completed), so the start of the current update, UpdateStatus.StartedAt, is preferred when
 * Swarm set one (it is cleared by the next spec update, so it always belongs to the current spec).
 */
export function failureFloorMs(service: Service, sinceMs?: number): number {
  const updatedAt = timeMs(service.UpdatedAt) ?? 0
  const startedAt = timeMs(service.UpdateStatus?.StartedAt)
  const floor = startedAt === undefined ? updatedAt : Math.min(startedAt, updatedAt)
  return sinceMs === undefined ? floor : Math.max(floor, sinceMs)
}

function shortId(id: string): string {
  return id.slice(0, 12)
}

/** What went wrong with a task that stopped, in one line. */
export function taskError(task: Task): string {
  const status = task.Status
  if (status.State === 'complete') {
    const code = status.ContainerStatus?.ExitCode ?? 0
    return `the task exited with code ${code} (complete), but a service's task must keep running`
  }
  return status.Err?.trim() || status.Message?.trim() || `task ${status.State}`
}

/** A task of the current spec that failed during this rollout (for a job, `complete` is success). */
function isFailedTask(task: Task, job: boolean): boolean {
  const state = task.Status.State
  return state === 'failed' || state === 'rejected' || (!job && state === 'complete')
}

/** The earliest failure per slot (or node, for a global service): one line per place, not one per restart. */
function failuresOf(
  service: Service,
  tasks: Task[],
  floorMs: number,
  job: boolean,
): {failures: ServiceFailure[]; firstMs?: number; mostInOnePlace: number} {
  const earliest = new Map<string, Task>()
  const counts = new Map<string, number>()
  for (const task of tasks) {
    if (!isFailedTask(task, job)) continue
    const at = timeMs(task.Status.Timestamp)
    if (at === undefined || at < floorMs) continue
    const place = task.Slot === undefined ? `node:${task.NodeID ?? ''}` : `slot:${task.Slot}`
    counts.set(place, (counts.get(place) ?? 0) + 1)
    const seen = earliest.get(place)
    if (!seen || Date.parse(seen.Status.Timestamp) > at) earliest.set(place, task)
  }
  const sorted = [...earliest.values()].sort((a, b) => Date.parse(a.Status.Timestamp) - Date.parse(b.Status.Timestamp))
  const failures = sorted.map((task) => ({
    service: service.Spec.Name,
    taskId: task.ID,
    slot: task.Slot,
    state: task.Status.State,
    error: taskError(task),
    at: task.Status.Timestamp,
  }))
  return {failures, firstMs: sorted[0] ? timeMs(sorted[0].Status.Timestamp) : undefined, mostInOnePlace: Math.max(0, ...counts.values())}
}

/** Why a task of the current spec is not running yet, e.g. "task 4f2a… pending: no suitable node (…)". */
function notRunningDetail(tasks: Task[]): string | undefined {
  const task = tasks.find((candidate) => !isRunning(candidate))
  if (!task) return undefined
  const why = task.Status.Err?.trim() || task.Status.Message?.trim()
  return `task ${shortId(task.ID)} ${task.Status.State}${why ? `: ${why}` : ''}`
}

/**
 * Judge one service from one listing of it and all its tasks (any desired state: failed tasks are history
 * tasks, DesiredState shutdown).
 *
 * - Jobs (replicated-job, global-job) are converged at once: a job runs to completion, it does not serve, and a
 *   deploy does not wait for it.
 * - Failed first: UpdateStatus rollback_* → 'update-rolled-back' (Swarm already undid the change; every task
 *   that failed since the update began is reported with Swarm's message); a task of the current spec in
 *   failed/rejected (or complete, for a service that must keep running) since failureFloorMs → 'task-failed'
 *   (more than `toleratedTaskFailures` in one slot, when given);
 *   UpdateStatus paused → 'update-paused'.
 * - Replicated: running tasks of the current spec == Replicas and no task of another spec still wanted.
 *   Replicas 0: nothing wanted and nothing running.
 * - Global: every wanted task is of the current spec and running (desired = the wanted tasks).
 * - UpdateStatus `updating` does not hold back a service whose tasks are all current and running: it then only
 *   means Swarm's monitor period for the last task (Monitor, 5 s by default). `updating` is reported so the
 *   caller can wait it out in its stability window rather than here (convergence is reported within a poll of
 *   the last task reaching running, not Monitor later). It is never required to be `completed`: it stays absent
 *   when the update changed no task.
 */
export function assessService(service: Service, tasks: Task[], options: AssessOptions = {}): ServiceAssessment {
  const name = service.Spec.Name
  const template = service.Spec.TaskTemplate
  const own = tasks.filter((task) => task.ServiceID === service.ID)
  const job = isJob(service)
  const updateState = service.UpdateStatus?.State ?? null
  const current = own.filter((task) => isTaskOfSpec(task, template))
  const runningNew = current.filter(isRunning)
  const lastRunningAtMs = maxOf(runningNew.map((task) => timeMs(task.Status.Timestamp)))
  const wanted = own.filter(isWanted)
  const global = isGlobal(service)
  const desired = job ? 0 : global ? wanted.length : (service.Spec.Mode?.Replicated?.Replicas ?? 1)
  const base = {name, desired, runningNew: runningNew.length, updateState}

  if (job) {
    return {progress: {...base, state: 'converged'}, failures: [], lastRunningAtMs, updating: false, waitingFor: ''}
  }

  const floorMs = failureFloorMs(service, options.sinceMs)
  const failedResult = (reason: FailureReason, failures: ServiceFailure[], firstFailureAtMs?: number): ServiceAssessment => ({
    progress: {...base, state: 'failed'},
    reason,
    failures,
    firstFailureAtMs,
    lastRunningAtMs,
    updating: false,
    waitingFor: '',
  })
  const updateMessage = service.UpdateStatus?.Message?.trim()
  if (updateState === 'rollback_started' || updateState === 'rollback_paused' || updateState === 'rollback_completed') {
    // Swarm put the previous spec back and cleared PreviousSpec (observed: automatic rollback on Engine 20.10), so
    // the broken spec is gone from the service: report every task that failed since the update began, whatever
    // its spec (the broken one's, or the restored one's if the rollback failed too).
    const since = failuresOf(service, own, floorMs, job)
    const update: ServiceFailure = {
      service: name,
      error: `Swarm rolled the update back (${updateState}): ${updateMessage || 'no reason given'}`,
      at: service.UpdateStatus?.StartedAt,
    }
    return failedResult('update-rolled-back', [update, ...since.failures], since.firstMs)
  }
  const failed = failuresOf(service, current, floorMs, job)
  if (failed.mostInOnePlace > (options.toleratedTaskFailures ?? 0)) return failedResult('task-failed', failed.failures, failed.firstMs)
  const restarted = failed.failures.length > 0 ? `; ${failed.mostInOnePlace} failed task(s) restarted by Swarm, last: ${failed.failures.at(-1)!.error}` : ''
  // Swarm pauses an update whose task fails within Monitor (failure_action pause); its restart policy still
  // restarts the task. Within the tolerance (a rollback) that is waited out like the failure itself.
  if (updateState === 'paused' && !(restarted && (options.toleratedTaskFailures ?? 0) > 0)) {
    return failedResult('update-paused', [
      {service: name, error: `Swarm paused the update: ${updateMessage || 'no reason given'}`, at: service.UpdateStatus?.StartedAt},
    ])
  }

  const oldWanted = wanted.filter((task) => !isTaskOfSpec(task, template))
  let waitingFor = ''
  if (global) {
    const notRunning = wanted.filter((task) => !current.includes(task) || !isRunning(task))
    if (notRunning.length > 0) {
      const old = notRunning.filter((task) => !current.includes(task)).length
      waitingFor = `${runningNew.length}/${wanted.length} running the new spec${old ? `, ${old} of an old spec` : ''}${detail(current.filter(isWanted))}`
    }
  } else if (desired === 0) {
    const running = own.filter((task) => task.Status.State === 'running').length
    if (wanted.length > 0 || running > 0) waitingFor = `scaled to 0: ${Math.max(wanted.length, running)} task(s) still to stop`
  } else if (runningNew.length !== desired || oldWanted.length > 0) {
    waitingFor = `${runningNew.length}/${desired} running the new spec${oldWanted.length ? `, ${oldWanted.length} of an old spec still wanted` : ''}${detail(current.filter(isWanted))}`
  }
  const converged = waitingFor === ''
  if (!converged) waitingFor += restarted
  return {
    progress: {...base, state: converged ? 'converged' : 'progressing'},
    failures: [],
    lastRunningAtMs,
    updating: converged && updateState === 'updating',
    waitingFor,
  }
}

function detail(tasks: Task[]): string {
  const line = notRunningDetail(tasks)
  return line ? ` (${line})` : ''
}

function maxOf(values: Array<number | undefined>): number | undefined {
  let max: number | undefined
  for (const value of values) if (value !== undefined && (max === undefined || value > max)) max = value
  return max
}

/** Swarm's update monitor of a service in ms (UpdateConfig.Monitor is in ns; swarmkit's default is 5 s). */
export function monitorMs(service: Service): number {
  const monitorNs = service.Spec.UpdateConfig?.Monitor
  return monitorNs && monitorNs > 0 ? Math.round(monitorNs / 1e6) : 5000
}

/** The default stability window: max(largest Monitor of the stack's services, 10 s). */
export function defaultStabilityWindowMs(services: Service[]): number {
  return Math.max(10_000, ...services.filter((service) => !isJob(service)).map(monitorMs))
}
