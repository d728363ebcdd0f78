import {MockAgent} from 'undici'
import {afterEach, describe, expect, it} from 'vitest'
import type {ServiceSnapshot} from '../../../src/backup/types.js'
import {MAX_UPDATE_ATTEMPTS, type RestoreProgressEvent, restoreServices} from '../../../src/deploy/restore.js'
import {DockerClient} from '../../../src/docker/client.js'
import {STACK_IMAGE_LABEL, STACK_NAMESPACE_LABEL} from '../../../src/docker/stack.js'
import type {Service, ServiceSpec} from '../../../src/docker/types.js'

const ORIGIN = 'http://docker.test'
const ENDPOINT = {kind: 'tcp', origin: ORIGIN, display: 'tcp://docker.test:2375'} as const
const OUT_OF_SEQUENCE = {message: 'rpc error: code = Unknown desc = update out of sequence'}

let agent: MockAgent | undefined

afterEach(async () => {
  await agent?.close()
  agent = undefined
})

interface Call {
  method: string
  path: string
  query: URLSearchParams
  body?: unknown
}

function spec(name: string, image: string): ServiceSpec {
  return {
    Name: name,
    Labels: {[STACK_NAMESPACE_LABEL]: 's', [STACK_IMAGE_LABEL]: image},
    TaskTemplate: {ContainerSpec: {Image: image}, ForceUpdate: 0, Networks: [{Target: 'hostid'}]},
    Mode: {Replicated: {Replicas: 1}},
  }
}

function snapshotOf(service: Service): ServiceSnapshot {
  return {id: service.ID, name: service.Spec.Name, version: service.Version.Index, createdAt: 'c', updatedAt: 'u', spec: structuredClone(service.Spec)}
}

/**
 * A MockAgent engine (fault injection: the real swarm cannot be made to answer "update out of sequence" on demand)
 * that keeps services in memory. The first `outOfSequence` updates of each service answer HTTP 500 "update out of
 * sequence" and bump the version, as when another client updated the service in between.
 */
function fakeEngine(
  initial: Service[],
  options: {
    outOfSequence?: Record<string, number>
    /** The first N updates of a service, and the first N listings, answer 503 (a leader election). */
    unavailable?: Record<string, number>
    listUnavailable?: number
    secrets?: Array<{ID: string; Spec: {Name: string}}>
  } = {},
) {
  const mock = new MockAgent({connections: 1})
  mock.disableNetConnect()
  agent = mock
  const engine = mock.get(ORIGIN)
  engine.intercept({path: '/_ping', method: 'GET'}).reply(200, 'OK', {headers: {'api-version': '1.41'}})
  const services = new Map(initial.map((service) => [service.ID, structuredClone(service)]))
  const outOfSequence = {...options.outOfSequence}
  const unavailable = {...options.unavailable}
  let listUnavailable = options.listUnavailable ?? 0
  const UNAVAILABLE = {message: 'rpc error: code = Unavailable desc = the swarm does not have a leader'}
  const calls: Call[] = []
  const json = (statusCode: number, data: unknown) => ({statusCode, data: JSON.stringify(data)})
  engine
    .intercept({path: (path) => path.startsWith('/v1.41/'), method: () => true})
    .reply((request) => {
      const url = new URL(request.path, ORIGIN)
      const path = url.pathname.replace('/v1.41', '')
      const body = typeof request.body === 'string' ? (JSON.parse(request.body) as unknown) : undefined
      calls.push({method: request.method, path, query: url.searchParams, body})
      const byIdOrName = (key: string) => [...services.values()].find((service) => service.ID === key || service.Spec.Name === key)
      let match: RegExpMatchArray | null
      if (request.method === 'GET' && path === '/services') {
        if (listUnavailable-- > 0) return json(503, UNAVAILABLE)
        return json(200, [...services.values()])
      }
      if (request.method === 'GET' && path === '/secrets') return json(200, options.secrets ?? [])
      if (request.method === 'GET' && path === '/configs') return json(200, [])
      if (request.method === 'GET' && (match = path.match(/^\/services\/([^/]+)$/))) {
        const service = byIdOrName(decodeURIComponent(match[1]!))
        return service ? json(200, service) : json(404, {message: 'service not found'})
      }
      if (request.method === 'POST' && (match = path.match(/^\/services\/([^/]+)\/update$/))) {
        const service = byIdOrName(decodeURIComponent(match[1]!))
        if (!service) return json(404, {message: 'service not found'})
        if ((unavailable[service.ID] ?? 0) > 0) {
          unavailable[service.ID]! -= 1
          return json(503, UNAVAILABLE)
        }
        if ((outOfSequence[service.ID] ?? 0) > 0) {
          outOfSequence[service.ID]! -= 1
          service.Version.Index += 1 // another client's update landed meanwhile
          return json(500, OUT_OF_SEQUENCE)
        }
        if (Number(url.searchParams.get('version')) !== service.Version.Index) return json(500, OUT_OF_SEQUENCE)
        service.PreviousSpec = service.Spec
        service.Spec = body as ServiceSpec
        service.Version.Index += 1
        delete service.UpdateStatus // every update clears it (DESIGN.md §4)
        return json(200, {})
      }
      if (request.method === 'POST' && path === '/services/create') {
        const created = body as ServiceSpec
        const id = `new-${created.Name}`
        services.set(id, {ID: id, Version: {Index: 1}, CreatedAt: 'c', UpdatedAt: 'u', Spec: created})
        return json(201, {ID: id})
      }
      if (request.method === 'DELETE' && (match = path.match(/^\/services\/([^/]+)$/))) {
        const service = byIdOrName(decodeURIComponent(match[1]!))
        if (!service) return json(404, {message: 'service not found'})
        services.delete(service.ID)
        return {statusCode: 200, data: ''}
      }
      return json(500, {message: `unexpected ${request.method} ${path}`})
    })
    .persist()
  return {client: new DockerClient({dispatcher: mock, endpoint: ENDPOINT}), calls, services}
}

const updatesOf = (calls: Call[], id: string) => calls.filter((call) => call.method === 'POST' && call.path === `/services/${id}/update`)
const inspectsOf = (calls: Call[], id: string) => calls.filter((call) => call.method === 'GET' && call.path === `/services/${id}`)

describe('restoreServices with fault injection (undici MockAgent)', () => {
  it('"update out of sequence" once → re-reads the service and re-applies with the fresh version → updated', async () => {
    const web: Service = {ID: 'w1', Version: {Index: 40}, CreatedAt: 'c', UpdatedAt: 'u', Spec: spec('s_web', 'img:v2')}
    const saved = snapshotOf({...web, Version: {Index: 7}, Spec: spec('s_web', 'img:v1')})
    const {client, calls, services} = fakeEngine([web], {outOfSequence: {w1: 1}})
    const events: RestoreProgressEvent[] = []
    const result = await restoreServices(client, {stack: 's', snapshots: [saved], retryDelayMs: 0, onProgress: (event) => events.push(event)})
    expect(result).toEqual({updated: ['s_web'], created: [], removed: [], unchanged: [], failed: []})
    const updates = updatesOf(calls, 'w1')
    expect(updates.map((call) => call.query.get('version'))).toEqual(['40', '41'])
    expect(inspectsOf(calls, 'w1')).toHaveLength(2)
    expect(updates.every((call) => call.query.get('version') !== '7')).toBe(true)
    // no PreviousSpec (e.g. Swarm rolled the service back by itself): credentials from the current spec
    expect(updates.map((call) => call.query.get('registryAuthFrom'))).toEqual(['spec', 'spec'])
    expect(services.get('w1')!.Spec.TaskTemplate.ContainerSpec?.Image).toBe('img:v1')
    expect(services.get('w1')!.Spec.Labels?.[STACK_IMAGE_LABEL]).toBe('img:v1')
    expect(events).toEqual([
      {service: 's_web', action: 'update', status: 'started'},
      {service: 's_web', action: 'update', status: 'done'},
    ])
  })

  it(`"update out of sequence" ${MAX_UPDATE_ATTEMPTS} times in a row → that service fails with a clear message, the others are restored`, async () => {
    const web: Service = {ID: 'w1', Version: {Index: 40}, CreatedAt: 'c', UpdatedAt: 'u', Spec: spec('s_web', 'img:v2')}
    const api: Service = {ID: 'a1', Version: {Index: 12}, CreatedAt: 'c', UpdatedAt: 'u', Spec: spec('s_api', 'api:v2'), PreviousSpec: spec('s_api', 'api:v1')}
    const extra: Service = {ID: 'x1', Version: {Index: 3}, CreatedAt: 'c', UpdatedAt: 'u', Spec: spec('s_extra', 'x:v2')}
    const snapshots = [snapshotOf({...web, Spec: spec('s_web', 'img:v1')}), snapshotOf({...api, Spec: spec('s_api', 'api:v1')})]
    const {client, calls, services} = fakeEngine([web, api, extra], {outOfSequence: {w1: MAX_UPDATE_ATTEMPTS}})
    const result = await restoreServices(client, {stack: 's', snapshots, retryDelayMs: 0})
    expect(result.updated).toEqual(['s_api'])
    expect(result.removed).toEqual(['s_extra'])
    expect(result.failed).toEqual([
      {
        service: 's_web',
        error: `update out of sequence ${MAX_UPDATE_ATTEMPTS} times in a row (another client keeps updating this service): stop it, then run clinical rollback`,
      },
    ])
    expect(updatesOf(calls, 'w1')).toHaveLength(MAX_UPDATE_ATTEMPTS)
    expect(services.get('w1')!.Spec.TaskTemplate.ContainerSpec?.Image).toBe('img:v2')
    expect(services.get('a1')!.Spec.TaskTemplate.ContainerSpec?.Image).toBe('api:v1')
    expect(updatesOf(calls, 'a1').map((call) => call.query.get('registryAuthFrom'))).toEqual(['previous-spec'])
    expect(services.has('x1')).toBe(false)
  })

  it('sends nothing for a service whose saved spec is its current spec (unchanged: no restart)', async () => {
    const worker: Service = {ID: 'k1', Version: {Index: 9}, CreatedAt: 'c', UpdatedAt: 'u', Spec: {...spec('s_worker', 'img:v1')}}
    worker.Spec.TaskTemplate.ForceUpdate = 2
    const saved = snapshotOf({...worker, Spec: spec('s_worker', 'img:v1')}) // ForceUpdate 0 when saved
    const {client, calls} = fakeEngine([worker])
    const result = await restoreServices(client, {stack: 's', snapshots: [saved], retryDelayMs: 0})
    expect(result).toEqual({updated: [], created: [], removed: [], unchanged: ['s_worker'], failed: []})
    expect(updatesOf(calls, 'k1')).toHaveLength(0)
  })

  it('creates a removed service again, and fails one whose secret is gone with a message naming it', async () => {
    const withSecret = spec('s_db', 'db:1')
    withSecret.TaskTemplate.ContainerSpec!.Secrets = [{SecretID: 'gone', SecretName: 'db_password'}]
    const withRecreatedSecret = spec('s_api', 'api:1')
    withRecreatedSecret.TaskTemplate.ContainerSpec!.Secrets = [{SecretID: 'old-id', SecretName: 'api_token'}]
    const snapshots: ServiceSnapshot[] = [
      {id: 'd0', name: 's_db', version: 5, createdAt: 'c', updatedAt: 'u', spec: withSecret},
      {id: 'p0', name: 's_api', version: 5, createdAt: 'c', updatedAt: 'u', spec: withRecreatedSecret},
    ]
    const {client, calls, services} = fakeEngine([], {secrets: [{ID: 'new-id', Spec: {Name: 'api_token'}}]})
    const result = await restoreServices(client, {stack: 's', snapshots, retryDelayMs: 0})
    expect(result.created).toEqual(['s_api'])
    expect(result.failed).toEqual([
      {
        service: 's_db',
        error: 'the saved spec references secret db_password, which no longer exists: create it again with the same name, then run clinical rollback',
      },
    ])
    expect(calls.filter((call) => call.path === '/services/create')).toHaveLength(1)
    expect(services.get('new-s_api')!.Spec.TaskTemplate.ContainerSpec?.Secrets).toEqual([{SecretID: 'new-id', SecretName: 'api_token'}])
  })

  it('a service Swarm already rolled back to the saved spec is updated anyway: its rollback_completed state is cleared', async () => {
    const web: Service = {
      ID: 'w1',
      Version: {Index: 20},
      CreatedAt: 'c',
      UpdatedAt: 'u',
      Spec: spec('s_web', 'img:v1'),
      UpdateStatus: {State: 'rollback_completed', Message: 'rollback completed'},
    }
    const saved = snapshotOf({...web, Spec: spec('s_web', 'img:v1')})
    const {client, calls, services} = fakeEngine([web])
    const result = await restoreServices(client, {stack: 's', snapshots: [saved], retryDelayMs: 0})
    expect(result).toEqual({updated: ['s_web'], created: [], removed: [], unchanged: [], failed: []})
    expect(updatesOf(calls, 'w1')).toHaveLength(1)
    expect(services.get('w1')!.UpdateStatus).toBeUndefined()
    expect(services.get('w1')!.Spec.TaskTemplate.ContainerSpec?.Image).toBe('img:v1')
  })

  it('a leader election (503) while listing and while updating is waited out, not a failed rollback', async () => {
    const web: Service = {ID: 'w1', Version: {Index: 40}, CreatedAt: 'c', UpdatedAt: 'u', Spec: spec('s_web', 'img:v2')}
    const saved = snapshotOf({...web, Spec: spec('s_web', 'img:v1')})
    const {client, calls, services} = fakeEngine([web], {listUnavailable: 2, unavailable: {w1: 1}})
    const result = await restoreServices(client, {stack: 's', snapshots: [saved], retryDelayMs: 0})
    expect(result).toEqual({updated: ['s_web'], created: [], removed: [], unchanged: [], failed: []})
    expect(calls.filter((call) => call.method === 'GET' && call.path === '/services')).toHaveLength(3)
    expect(updatesOf(calls, 'w1')).toHaveLength(2)
    expect(services.get('w1')!.Spec.TaskTemplate.ContainerSpec?.Image).toBe('img:v1')
  })
})
