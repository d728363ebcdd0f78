import {MockAgent} from 'undici'
import {afterEach, describe, expect, it} from 'vitest'
import {scaleService, specWithReplicas} from '../../../src/backup/scale-services.js'
import {DockerClient} from '../../../src/docker/client.js'
import type {Service, ServiceSpec} from '../../../src/docker/types.js'

const ORIGIN = 'http://docker.test'
const ENDPOINT = {kind: 'tcp', origin: ORIGIN, display: 'tcp://docker.test:2375'} as const

const spec: ServiceSpec = {Name: 'shop_web', TaskTemplate: {ContainerSpec: {Image: 'i'}, ForceUpdate: 3}, Mode: {Replicated: {Replicas: 2}}, Labels: {a: 'b'}}

describe('specWithReplicas', () => {
  it('changes the replica count and nothing else', () => {
    expect(specWithReplicas(spec, 0)).toEqual({...spec, Mode: {Replicated: {Replicas: 0}}})
    expect(spec.Mode?.Replicated?.Replicas).toBe(2)
    expect(() => specWithReplicas({...spec, Mode: {Global: {}}}, 0)).toThrow(/not a replicated service/)
  })
})

let agent: MockAgent | undefined
afterEach(async () => {
  await agent?.close()
  agent = undefined
})

describe('scaleService (fault injection: "update out of sequence" cannot be produced on demand on the real swarm)', () => {
  it('re-reads the service and sends its current version again after HTTP 500 "update out of sequence"', async () => {
    agent = new MockAgent({connections: 1})
    agent.disableNetConnect()
    const engine = agent.get(ORIGIN)
    engine.intercept({path: '/_ping', method: 'GET'}).reply(200, 'OK', {headers: {'api-version': '1.41'}})
    let version = 10
    const updates: Array<{version: string | null; replicas: number | undefined}> = []
    engine
      .intercept({path: (path) => path.startsWith('/v1.41/services/'), method: () => true})
      .reply((request) => {
        const url = new URL(request.path, ORIGIN)
        if (request.method === 'GET') {
          const service: Service = {ID: 'sid', Version: {Index: version}, CreatedAt: '', UpdatedAt: '', Spec: spec}
          return {statusCode: 200, data: JSON.stringify(service)}
        }
        const body = JSON.parse(String(request.body)) as ServiceSpec
        updates.push({version: url.searchParams.get('version'), replicas: body.Mode?.Replicated?.Replicas})
        if (updates.length === 1) {
          version++ // someone else updated it meanwhile
          return {statusCode: 500, data: JSON.stringify({message: 'rpc error: code = Unknown desc = update out of sequence'})}
        }
        return {statusCode: 200, data: JSON.stringify({Warnings: null})}
      })
      .persist()
    const docker = new DockerClient({endpoint: ENDPOINT, dispatcher: agent})
    await scaleService(docker, 'sid', 0)
    expect(updates).toEqual([
      {version: '10', replicas: 0},
      {version: '11', replicas: 0},
    ])
  })
})
