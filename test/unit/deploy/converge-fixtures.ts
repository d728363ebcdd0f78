import type {Service, ServiceMode, Task, TaskState, TaskTemplate, UpdateState} from '../../../src/docker/types.js'

/** Hand-built Services and Tasks shaped like what Engine 20.10 answers (see test/integration/converge.test.ts). */

export const T0 = Date.parse('2026-01-01T10:00:00Z')
export const iso = (offsetMs: number): string => new Date(T0 + offsetMs).toISOString()

export function template(image: string, extra: Partial<TaskTemplate> = {}): TaskTemplate {
  return {
    ContainerSpec: {
      Image: image,
      Labels: {'com.docker.stack.namespace': 'st'},
      Args: ['httpd', '-f', '-p', '127.0.0.1:8080', '-h', '/www'],
      Privileges: {CredentialSpec: null, SELinuxContext: null},
      Isolation: 'default',
    },
    Resources: {},
    Placement: {},
    Networks: [{Target: 'hostnetid'}],
    ForceUpdate: 0,
    ...extra,
  }
}

/** A service's TaskTemplate as the API shows it: with `Runtime`, which task specs never carry. */
function serviceTemplate(spec: TaskTemplate): TaskTemplate {
  return {...structuredClone(spec), Runtime: 'container'}
}

export interface ServiceInput {
  id?: string
  name?: string
  image?: string
  spec?: TaskTemplate
  mode?: ServiceMode
  replicas?: number
  updateState?: UpdateState
  updateMessage?: string
  updateStartedAtMs?: number
  updatedAtMs?: number
  monitorNs?: number
}

export function service(input: ServiceInput = {}): Service {
  const name = input.name ?? 'st_web'
  const spec = input.spec ?? template(input.image ?? 'img:v2')
  return {
    ID: input.id ?? 'svc1',
    Version: {Index: 10},
    CreatedAt: iso(-3_600_000),
    UpdatedAt: iso(input.updatedAtMs ?? 0),
    Spec: {
      Name: name,
      Labels: {'com.docker.stack.namespace': 'st'},
      TaskTemplate: serviceTemplate(spec),
      Mode: input.mode ?? {Replicated: {Replicas: input.replicas ?? 1}},
      UpdateConfig: input.monitorNs === undefined ? {Parallelism: 1} : {Parallelism: 1, Monitor: input.monitorNs},
    },
    UpdateStatus: input.updateState
      ? {State: input.updateState, StartedAt: iso(input.updateStartedAtMs ?? 0), Message: input.updateMessage}
      : undefined,
  }
}

export interface TaskInput {
  id: string
  serviceId?: string
  image?: string
  spec?: TaskTemplate
  slot?: number | null
  nodeId?: string
  state: TaskState
  desired: TaskState
  atMs?: number
  err?: string
  message?: string
  exitCode?: number
}

export function task(input: TaskInput): Task {
  return {
    ID: input.id,
    Version: {Index: 20},
    CreatedAt: iso((input.atMs ?? 1000) - 500),
    UpdatedAt: iso(input.atMs ?? 1000),
    ServiceID: input.serviceId ?? 'svc1',
    Slot: input.slot === null ? undefined : (input.slot ?? 1),
    NodeID: input.nodeId ?? 'node1',
    // task specs come without Runtime, and Go drops some empty fields on one side only
    Spec: input.spec ?? template(input.image ?? 'img:v2'),
    Status: {
      Timestamp: iso(input.atMs ?? 1000),
      State: input.state,
      Message: input.message ?? (input.state === 'running' ? 'started' : input.state),
      Err: input.err,
      ContainerStatus: input.exitCode === undefined ? undefined : {ExitCode: input.exitCode},
    },
    DesiredState: input.desired,
  }
}
