import type {DockerClient} from '../docker/client.js'
import {STACK_NAMESPACE_LABEL, stackFilter} from '../docker/stack.js'
import type {Service, Task, TaskState, UpdateState} from '../docker/types.js'
import {RefusedError} from '../errors.js'

export type ServiceMode = 'replicated' | 'global' | 'replicated-job' | 'global-job'

/** The newest task of a service that reported an error. */
export interface TaskError {
  taskId: string
  slot: number | null
  state: TaskState
  error: string
  at: string
}

/** One service as `clinical status --json` prints it. The shape is a contract for scripts. */
export interface ServiceStatus {
  name: string
  id: string
  image: string
  mode: ServiceMode
  desired: number
  running: number
  updateState: UpdateState | null
  updateMessage: string | null
  lastTaskError: TaskError | null
}

export interface StackStatus {
  stack: string
  services: ServiceStatus[]
}

/**
 * Read the state of every service of a stack: two Engine API requests whatever the stack's size
 * (services with their task counts, then the tasks of all of them).
 */
export async function readStackStatus(docker: DockerClient, stack: string, signal?: AbortSignal): Promise<StackStatus> {
  const services = await docker.listServices({filters: stackFilter(stack), status: true, signal})
  if (services.length === 0) {
    throw new RefusedError(`no services in stack '${stack}'. ${await describeStacks(docker, signal)}`)
  }
  const tasks = await docker.listTasks({filters: {service: services.map((service) => service.ID)}, signal})
  const tasksByService = new Map<string, Task[]>()
  for (const task of tasks) tasksByService.set(task.ServiceID, [...(tasksByService.get(task.ServiceID) ?? []), task])
  return {
    stack,
    services: services
      .map((service) => serviceStatus(service, tasksByService.get(service.ID) ?? []))
      .sort((a, b) => a.name.localeCompare(b.name)),
  }
}

/** The status row of one service (pure). */
export function serviceStatus(service: Service, tasks: readonly Task[]): ServiceStatus {
  return {
    name: service.Spec.Name,
    id: service.ID,
    image: service.Spec.TaskTemplate.ContainerSpec?.Image ?? '',
    mode: serviceMode(service),
    desired: service.ServiceStatus?.DesiredTasks ?? countTasks(tasks, (task) => task.DesiredState === 'running'),
    running: service.ServiceStatus?.RunningTasks ?? countTasks(tasks, (task) => task.Status.State === 'running'),
    updateState: service.UpdateStatus?.State ?? null,
    updateMessage: service.UpdateStatus?.Message ?? null,
    lastTaskError: newestTaskError(tasks),
  }
}

export function serviceMode(service: Service): ServiceMode {
  const mode = service.Spec.Mode ?? {}
  if (mode.Global) return 'global'
  if (mode.ReplicatedJob) return 'replicated-job'
  if (mode.GlobalJob) return 'global-job'
  return 'replicated'
}

export function newestTaskError(tasks: readonly Task[]): TaskError | null {
  let newest: Task | undefined
  for (const task of tasks) {
    if (!task.Status.Err) continue
    if (!newest || Date.parse(task.Status.Timestamp) > Date.parse(newest.Status.Timestamp)) newest = task
  }
  if (!newest) return null
  return {
    taskId: newest.ID,
    slot: newest.Slot ?? null,
    state: newest.Status.State,
    error: newest.Status.Err ?? '',
    at: newest.Status.Timestamp,
  }
}

function countTasks(tasks: readonly Task[], predicate: (task: Task) => boolean): number {
  return tasks.filter(predicate).length
}

async function describeStacks(docker: DockerClient, signal?: AbortSignal): Promise<string> {
  const all = await docker.listServices({filters: {label: [STACK_NAMESPACE_LABEL]}, signal})
  const stacks = [...new Set(all.map((service) => service.Spec.Labels?.[STACK_NAMESPACE_LABEL]).filter(Boolean))].sort()
  return stacks.length > 0
    ? `Stacks on this swarm: ${stacks.join(', ')}. Pass one with --stack.`
    : 'This swarm has no stacks yet; deploy one with clinical deploy.'
}
