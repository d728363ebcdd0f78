import {MockAgent} from 'undici'
import {afterEach, describe, expect, it} from 'vitest'
import {DockerClient} from '../../../src/docker/client.js'
import type {Service, ServiceSpec, Task, TaskState} from '../../../src/docker/types.js'
import {RefusedError} from '../../../src/errors.js'
import {newestTaskError, readStackStatus, serviceMode, serviceStatus} from '../../../src/status/stack-status.js'

function service(
  name: string,
  overrides: Partial<Service> & {mode?: ServiceSpec['Mode']; image?: string; stack?: string} = {},
): Service {
  const {mode, image, stack, ...rest} = overrides
  return {
    ID: `id-${name}`,
    Version: {Index: 10},
    CreatedAt: '2024-05-01T10:00:00Z',
    UpdatedAt: '2024-05-01T10:00:00Z',
    Spec: {
      Name: name,
      Labels: {'com.docker.stack.namespace': stack ?? 's1'},
      TaskTemplate: {ContainerSpec: {Image: image ?? 'clinical-test/busybox:v1'}},
      Mode: mode ?? {Replicated: {Replicas: 1}},
    },
    ...rest,
  }
}

function task(id: string, state: TaskState, timestamp: string, extra: {err?: string; slot?: number; desired?: TaskState; serviceId?: string} = {}): Task {
  return {
    ID: id,
    Version: {Index: 1},
    CreatedAt: timestamp,
    UpdatedAt: timestamp,
    ServiceID: extra.serviceId ?? 'id-web',
    ...(extra.slot === undefined ? {} : {Slot: extra.slot}),
    Spec: {},
    Status: {Timestamp: timestamp, State: state, ...(extra.err ? {Err: extra.err} : {})},
    DesiredState: extra.desired ?? 'running',
  }
}

describe('serviceMode', () => {
  it('names each of the four modes, replicated when the spec says nothing', () => {
    expect(serviceMode(service('a', {mode: {Replicated: {Replicas: 3}}}))).toBe('replicated')
    expect(serviceMode(service('a', {mode: {Global: {}}}))).toBe('global')
    expect(serviceMode(service('a', {mode: {ReplicatedJob: {MaxConcurrent: 1}}}))).toBe('replicated-job')
    expect(serviceMode(service('a', {mode: {GlobalJob: {}}}))).toBe('global-job')
    const bare = service('a')
    delete bare.Spec.Mode
    expect(serviceMode(bare)).toBe('replicated')
  })
})

describe('newestTaskError', () => {
  it('is null when no task has an error', () => {
    expect(newestTaskError([])).toBeNull()
    expect(newestTaskError([task('t1', 'running', '2024-05-01T10:00:00Z'), task('t0', 'shutdown', '2024-05-01T09:00:00Z')])).toBeNull()
  })

  it('picks the task error with the newest status timestamp, whatever the list order', () => {
    const tasks = [
      task('old', 'failed', '2024-05-01T10:00:05.100Z', {err: 'task: non-zero exit (1)', slot: 1}),
      task('ok', 'running', '2024-05-01T10:00:30Z', {slot: 1}),
      task('newest', 'rejected', '2024-05-01T10:00:20.5Z', {err: 'No such image: clinical-test/busybox:v9', slot: 2}),
      task('middle', 'failed', '2024-05-01T10:00:10Z', {err: 'task: non-zero exit (3)', slot: 1}),
    ]
    expect(newestTaskError(tasks)).toEqual({
      taskId: 'newest',
      slot: 2,
      state: 'rejected',
      error: 'No such image: clinical-test/busybox:v9',
      at: '2024-05-01T10:00:20.5Z',
    })
    expect(newestTaskError([...tasks].reverse())?.taskId).toBe('newest')
  })

  it('has slot null for a task without a slot (global services)', () => {
    expect(newestTaskError([task('g', 'failed', '2024-05-01T10:00:00Z', {err: 'task: non-zero exit (3)'})])?.slot).toBeNull()
  })
})

describe('serviceStatus', () => {
  it('takes replicas from ServiceStatus and the update state from UpdateStatus', () => {
    const web = service('s1_web', {
      image: 'clinical-test/busybox:v2@sha256:0123',
      ServiceStatus: {RunningTasks: 1, DesiredTasks: 2, CompletedTasks: 0},
      UpdateStatus: {State: 'paused', Message: 'update paused due to failure or early termination of task t9'},
    })
    const tasks = [task('t9', 'failed', '2024-05-01T10:00:00Z', {err: 'task: non-zero exit (3)', slot: 2})]
    expect(serviceStatus(web, tasks)).toEqual({
      name: 's1_web',
      id: 'id-s1_web',
      image: 'clinical-test/busybox:v2@sha256:0123',
      mode: 'replicated',
      desired: 2,
      running: 1,
      updateState: 'paused',
      updateMessage: 'update paused due to failure or early termination of task t9',
      lastTaskError: {taskId: 't9', slot: 2, state: 'failed', error: 'task: non-zero exit (3)', at: '2024-05-01T10:00:00Z'},
    })
  })

  it('counts tasks when the daemon gave no ServiceStatus, and reports no update as null', () => {
    const tasks = [
      task('a', 'running', '2024-05-01T10:00:00Z', {slot: 1}),
      task('b', 'starting', '2024-05-01T10:00:00Z', {slot: 2}),
      task('c', 'shutdown', '2024-05-01T09:00:00Z', {slot: 1, desired: 'shutdown'}),
    ]
    const status = serviceStatus(service('s1_web'), tasks)
    expect(status).toMatchObject({desired: 2, running: 1, updateState: null, updateMessage: null, lastTaskError: null})
  })

  it('reports 0/0 for a service scaled to zero', () => {
    const zero = service('s1_zero', {mode: {Replicated: {Replicas: 0}}, ServiceStatus: {RunningTasks: 0, DesiredTasks: 0, CompletedTasks: 0}})
    expect(serviceStatus(zero, [])).toMatchObject({desired: 0, running: 0, mode: 'replicated', lastTaskError: null})
  })
})

describe('readStackStatus (MockAgent engine)', () => {
  let agent: MockAgent | undefined
  afterEach(async () => {
    await agent?.close()
    agent = undefined
  })

  function engine(): {client: DockerClient; pool: ReturnType<MockAgent['get']>} {
    const mock = new MockAgent({connections: 1})
    mock.disableNetConnect()
    agent = mock
    const pool = mock.get('http://docker.test')
    pool.intercept({path: '/_ping', method: 'GET'}).reply(200, 'OK', {headers: {'api-version': '1.41'}})
    const client = new DockerClient({dispatcher: mock, endpoint: {kind: 'tcp', origin: 'http://docker.test', display: 'tcp://docker.test:2375'}})
    return {client, pool}
  }

  it('reads a stack in two requests (services with status, then their tasks) and sorts services by name', async () => {
    const {client, pool} = engine()
    const services = [
      service('s1_web', {ServiceStatus: {RunningTasks: 1, DesiredTasks: 1, CompletedTasks: 0}}),
      service('s1_agent', {mode: {Global: {}}, ServiceStatus: {RunningTasks: 1, DesiredTasks: 1, CompletedTasks: 0}}),
    ]
    const paths: string[] = []
    pool
      .intercept({path: (path) => path.startsWith('/v1.41/services?'), method: 'GET'})
      .reply((options) => {
        paths.push(options.path)
        return {statusCode: 200, data: JSON.stringify(services)}
      })
    pool
      .intercept({path: (path) => path.startsWith('/v1.41/tasks?'), method: 'GET'})
      .reply((options) => {
        paths.push(options.path)
        return {
          statusCode: 200,
          data: JSON.stringify([
            task('t1', 'running', '2024-05-01T10:00:00Z', {serviceId: 'id-s1_web', slot: 1}),
            task('t2', 'failed', '2024-05-01T09:59:00Z', {serviceId: 'id-s1_agent', err: 'task: non-zero exit (3)'}),
          ]),
        }
      })
    const status = await readStackStatus(client, 's1')
    expect(status.stack).toBe('s1')
    expect(status.services.map((row) => row.name)).toEqual(['s1_agent', 's1_web'])
    expect(status.services[0]).toMatchObject({mode: 'global', lastTaskError: {taskId: 't2', slot: null}})
    expect(status.services[1]).toMatchObject({mode: 'replicated', lastTaskError: null})
    const [servicesPath, tasksPath] = paths.map((path) => new URL(path, 'http://docker.test').searchParams)
    expect(JSON.parse(servicesPath!.get('filters')!)).toEqual({label: ['com.docker.stack.namespace=s1']})
    expect(servicesPath!.get('status')).toBe('true')
    expect(JSON.parse(tasksPath!.get('filters')!)).toEqual({service: ['id-s1_web', 'id-s1_agent']})
    agent?.assertNoPendingInterceptors()
  })

  it('refuses an unknown stack (exit 2) and names the stacks that exist', async () => {
    const {client, pool} = engine()
    pool.intercept({path: (path) => path.startsWith('/v1.41/services?') && path.includes('s9'), method: 'GET'}).reply(200, '[]')
    const others = [service('b_api', {stack: 'beta'}), service('a_web', {stack: 'alpha'}), service('a_db', {stack: 'alpha'})]
    pool.intercept({path: (path) => path.startsWith('/v1.41/services?'), method: 'GET'}).reply(200, JSON.stringify(others))
    const failure = await readStackStatus(client, 's9').catch((error: unknown) => error)
    expect(failure).toBeInstanceOf(RefusedError)
    expect((failure as RefusedError).exitCode).toBe(2)
    expect((failure as Error).message).toBe("no services in stack 's9'. Stacks on this swarm: alpha, beta. Pass one with --stack.")
  })

  it('says so when the swarm has no stacks at all', async () => {
    const {client, pool} = engine()
    pool.intercept({path: (path) => path.startsWith('/v1.41/services'), method: 'GET'}).reply(200, '[]').times(2)
    await expect(readStackStatus(client, 's9')).rejects.toThrow(
      "no services in stack 's9'. This swarm has no stacks yet; deploy one with clinical deploy.",
    )
  })
})
