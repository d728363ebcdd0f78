import {MockAgent} from 'undici'
import {afterEach, describe, expect, it} from 'vitest'
import {describeFailure, isStackServiceEvent, waitForConvergence} from '../../../src/deploy/converge.js'
import {reconnectDelayMs, watchEvents} from '../../../src/deploy/event-watch.js'
import {assessService} from '../../../src/deploy/service-assessment.js'
import {DockerClient} from '../../../src/docker/client.js'
import type {DockerEvent, Service, Task} from '../../../src/docker/types.js'
import {service, task} from './converge-fixtures.js'

const ORIGIN = 'http://docker.test'
const ENDPOINT = {kind: 'tcp', origin: ORIGIN, display: 'tcp://docker.test:2375'} as const

function serviceEvent(name: string, id = 'svc1', time = 1_700_000_000): DockerEvent {
  return {Type: 'service', Action: 'update', Actor: {ID: id, Attributes: {name}}, scope: 'swarm', time, timeNano: time * 1e9}
}

describe('converge helpers (pure)', () => {
  it('describes a task failure in one line naming service, task, slot and error', () => {
    const assessment = assessService(service({image: 'img:v3'}), [
      task({id: 'tp7y51vece4nvfgjzfyd5kc1y', image: 'img:v3', state: 'failed', desired: 'shutdown', err: 'task: non-zero exit (3)'}),
    ])
    expect(describeFailure(assessment)).toBe('st_web: task tp7y51vece4n (slot 1) of the new spec failed: task: non-zero exit (3)')
  })

  it('describes an update failure by its message, and the task that caused it', () => {
    const paused = assessService(service({updateState: 'paused', updateMessage: 'update paused due to failure'}), [])
    expect(describeFailure(paused)).toBe('st_web: Swarm paused the update: update paused due to failure')
    const rolledBack = assessService(
      service({image: 'img:v1', updateState: 'rollback_started', updateStartedAtMs: 0, updateMessage: 'update rolled back due to failure'}),
      [
        task({id: 'dv69bmkdnym7gq93esix7mebm', image: 'img:v2', state: 'failed', desired: 'shutdown', atMs: 1000, err: 'task: non-zero exit (3)'}),
        task({id: 'second', slot: 2, image: 'img:v2', state: 'failed', desired: 'shutdown', atMs: 1200, err: 'task: non-zero exit (3)'}),
      ],
    )
    expect(describeFailure(rolledBack)).toBe(
      'st_web: Swarm rolled the update back (rollback_started): update rolled back due to failure; ' +
        'task dv69bmkdnym7 (slot 1) failed: task: non-zero exit (3) (+1 more failed task(s))',
    )
  })

  it('selects the events of the stack\'s services: by ID, or by name for a service created since the listing', () => {
    const ids = new Set(['svc1'])
    expect(isStackServiceEvent(serviceEvent('st_web', 'svc1'), 'st', ids)).toBe(true)
    expect(isStackServiceEvent(serviceEvent('st_new', 'svc9'), 'st', ids)).toBe(true)
    expect(isStackServiceEvent(serviceEvent('other_web', 'svc8'), 'st', ids)).toBe(false)
    expect(isStackServiceEvent({...serviceEvent('st_web'), Type: 'container'}, 'st', ids)).toBe(false)
  })
})

describe('watchEvents', () => {
  it('backs off 250 ms, doubling, capped at 5 s', () => {
    expect([1, 2, 3, 4, 5, 6, 10].map((attempt) => reconnectDelayMs(attempt))).toEqual([250, 500, 1000, 2000, 4000, 5000, 5000])
  })

  it('fault injection: a stream that fails is reopened since the last event seen, and the caller is told', async () => {
    const controller = new AbortController()
    const sinces: Array<number | undefined> = []
    const seen: string[] = []
    const reconnects: Array<{attempt: number; error?: unknown}> = []
    const stats = await watchEvents({
      sinceS: 100,
      initialBackoffMs: 5,
      signal: controller.signal,
      connect: ({since}) => {
        sinces.push(since)
        const call = sinces.length
        return (async function* () {
          if (call === 1) {
            yield serviceEvent('st_web', 'svc1', 120)
            throw new Error('fault injection: stream cut')
          }
          if (call === 2) return // ended by the daemon, nothing new
          yield serviceEvent('st_db', 'svc2', 130)
          controller.abort()
        })()
      },
      onEvent: (event) => seen.push(event.Actor.Attributes?.name ?? ''),
      onReconnect: (info) => reconnects.push(info),
    })
    expect(sinces).toEqual([100, 120, 120])
    expect(seen).toEqual(['st_web', 'st_db'])
    expect(reconnects.map((info) => info.attempt)).toEqual([1, 2])
    expect((reconnects[0]?.error as Error).message).toBe('fault injection: stream cut')
    expect(stats).toMatchObject({connects: 3, events: 2})
  })

  it('stops at once when aborted during the backoff', async () => {
    const controller = new AbortController()
    let connects = 0
    const watching = watchEvents({
      initialBackoffMs: 60_000,
      signal: controller.signal,
      connect: () => {
        connects += 1
        return (async function* () {
          throw new Error('fault injection: refused')
        })()
      },
      onEvent: () => undefined,
    })
    setTimeout(() => controller.abort(), 20)
    await watching
    expect(connects).toBe(1)
  })
})

describe('waitForConvergence against a faked Engine (fault injection only)', () => {
  let agent: MockAgent | undefined
  afterEach(async () => {
    await agent?.close()
    agent = undefined
  })

  function engine(): {client: DockerClient; pool: ReturnType<MockAgent['get']>; counts: Record<string, number>} {
    const mock = new MockAgent()
    mock.disableNetConnect()
    agent = mock
    const pool = mock.get(ORIGIN)
    pool.intercept({path: '/_ping', method: 'GET'}).reply(200, 'OK', {headers: {'api-version': '1.41'}}).persist()
    const counts: Record<string, number> = {services: 0, tasks: 0, events: 0}
    return {client: new DockerClient({dispatcher: mock, endpoint: ENDPOINT}), pool, counts}
  }

  function answer(pool: ReturnType<MockAgent['get']>, counts: Record<string, number>, what: string, body: () => unknown): void {
    pool
      .intercept({path: (path) => path.startsWith(`/v1.41/${what}`), method: 'GET'})
      .reply(200, () => {
        counts[what] = (counts[what] ?? 0) + 1
        const value = body()
        return typeof value === 'string' ? value : JSON.stringify(value)
      })
      .persist()
  }

  const converged: {services: Service[]; tasks: Task[]} = {
    services: [service({image: 'img:v2'})],
    tasks: [task({id: 'new', image: 'img:v2', state: 'running', desired: 'running'})],
  }

  it('fault injection: an HTTP 500 from the Engine during the wait is retried, not fatal', async () => {
    const {client, pool, counts} = engine()
    pool.intercept({path: (path) => path.startsWith('/v1.41/services'), method: 'GET'}).reply(500, {message: 'rpc error: code = Unavailable desc = leader changed'})
    answer(pool, counts, 'services', () => converged.services)
    answer(pool, counts, 'tasks', () => converged.tasks)
    answer(pool, counts, 'events', () => '')
    const result = await waitForConvergence(client, {stack: 'st', deadlineMs: Date.now() + 10_000, stabilityWindowMs: 0, pollIntervalMs: 100})
    expect(result).toMatchObject({ok: true, services: [{name: 'st_web', state: 'converged', runningNew: 1, desired: 1}]})
    expect(counts.services).toBeGreaterThanOrEqual(2)
  })

  it('fault injection: a daemon that stays unreachable ends in a timeout naming the Docker error', async () => {
    const {client, pool} = engine()
    pool
      .intercept({path: (path) => path.startsWith('/v1.41/'), method: 'GET'})
      .replyWithError(Object.assign(new Error('connect ECONNREFUSED'), {code: 'ECONNREFUSED'}))
      .persist()
    const result = await waitForConvergence(client, {stack: 'st', deadlineMs: Date.now() + 1200, pollIntervalMs: 200})
    expect(result.ok).toBe(false)
    if (result.ok) return
    expect(result.reason).toBe('timeout')
    expect(result.message).toContain('could be listed')
    expect(result.message).toContain('connection refused (ECONNREFUSED)')
  })

  it('fault injection: a flood of service events does not exceed ~5 requests/s (one assessment per 400 ms)', async () => {
    const {client, pool, counts} = engine()
    answer(pool, counts, 'services', () => [service({image: 'img:v2', updateState: 'updating'})])
    answer(pool, counts, 'tasks', () => [task({id: 'old', image: 'img:v1', state: 'running', desired: 'running'})])
    const flood = Array.from({length: 200}, () => JSON.stringify(serviceEvent('st_web', 'svc1', Math.floor(Date.now() / 1000)))).join('\n') + '\n'
    answer(pool, counts, 'events', () => flood)
    const startedAtMs = Date.now()
    const result = await waitForConvergence(client, {stack: 'st', deadlineMs: startedAtMs + 2000, pollIntervalMs: 1000})
    const elapsedS = (Date.now() - startedAtMs) / 1000
    expect(result).toMatchObject({ok: false, reason: 'timeout'})
    expect(counts.events).toBeGreaterThanOrEqual(2)
    // 2 requests per assessment; one assessment per 400 ms at most, +1 for the first
    expect((counts.services ?? 0) + (counts.tasks ?? 0)).toBeLessThanOrEqual(2 * (Math.floor((elapsedS * 1000) / 400) + 1))
  })

  it('fails fast with the task\'s error and the time of the first failure', async () => {
    const {client, pool, counts} = engine()
    answer(pool, counts, 'services', () => [service({image: 'img:v3', updatedAtMs: 0})])
    answer(pool, counts, 'tasks', () => [
      task({id: 'crash', image: 'img:v3', state: 'failed', desired: 'shutdown', atMs: 1500, err: 'task: non-zero exit (3)'}),
    ])
    answer(pool, counts, 'events', () => '')
    const result = await waitForConvergence(client, {stack: 'st', deadlineMs: Date.now() + 10_000})
    expect(result).toMatchObject({ok: false, reason: 'task-failed', failures: [{service: 'st_web', taskId: 'crash', error: 'task: non-zero exit (3)'}]})
    if (result.ok) return
    expect(result.message).toContain('non-zero exit (3)')
    expect(result.firstFailureAtMs).toBe(Date.parse(task({id: 'x', state: 'failed', desired: 'shutdown', atMs: 1500}).Status.Timestamp))
  })

  it('ends with aborted soon after the signal', async () => {
    const {client, pool, counts} = engine()
    answer(pool, counts, 'services', () => [service({image: 'img:v2'})])
    answer(pool, counts, 'tasks', () => [])
    answer(pool, counts, 'events', () => '')
    const controller = new AbortController()
    setTimeout(() => controller.abort(), 150)
    const startedAtMs = Date.now()
    const result = await waitForConvergence(client, {stack: 'st', deadlineMs: Date.now() + 30_000, signal: controller.signal})
    expect(result).toMatchObject({ok: false, reason: 'aborted'})
    expect(Date.now() - startedAtMs).toBeLessThan(5000)
  })

  it('ends with no-services for a stack without services', async () => {
    const {client, pool, counts} = engine()
    answer(pool, counts, 'services', () => [])
    const result = await waitForConvergence(client, {stack: 'nope', deadlineMs: Date.now() + 30_000})
    expect(result).toMatchObject({ok: false, reason: 'no-services'})
    expect(counts.tasks).toBe(0)
  })
})
