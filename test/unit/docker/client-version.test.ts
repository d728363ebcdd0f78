import {MockAgent} from 'undici'
import {afterEach, describe, expect, it} from 'vitest'
import {CLIENT_API_VERSION, compareApiVersions, DockerClient, MIN_API_VERSION} from '../../../src/docker/client.js'
import {DockerUnreachableError} from '../../../src/docker/errors.js'
import {RefusedError} from '../../../src/errors.js'

const ORIGIN = 'http://docker.test'
const ENDPOINT = {kind: 'tcp', origin: ORIGIN, display: 'tcp://docker.test:2375'} as const

let agent: MockAgent | undefined

function mockEngine(): {client: DockerClient; engine: ReturnType<MockAgent['get']>} {
  const mock = new MockAgent({connections: 1})
  mock.disableNetConnect()
  agent = mock
  return {client: new DockerClient({dispatcher: mock, endpoint: ENDPOINT}), engine: mock.get(ORIGIN)}
}

/** Answer every versioned request with `{}` and record its path. */
function recordPaths(engine: ReturnType<MockAgent['get']>): string[] {
  const paths: string[] = []
  engine
    .intercept({path: (path) => path.startsWith('/v'), method: () => true})
    .reply((options) => {
      paths.push(options.path)
      return {statusCode: 200, data: '{}'}
    })
    .persist()
  return paths
}

afterEach(async () => {
  await agent?.close()
  agent = undefined
})

describe('compareApiVersions', () => {
  it('compares numerically, not as text', () => {
    expect(compareApiVersions('1.9', '1.41')).toBeLessThan(0)
    expect(compareApiVersions('1.41', '1.41')).toBe(0)
    expect(compareApiVersions('1.45', '1.41')).toBeGreaterThan(0)
    expect(compareApiVersions('2.0', '1.99')).toBeGreaterThan(0)
  })
})

describe('API version negotiation', () => {
  it('speaks the daemon version from the /_ping Api-Version header (1.41 → /v1.41/...)', async () => {
    const {client, engine} = mockEngine()
    engine.intercept({path: '/_ping', method: 'GET'}).reply(200, 'OK', {headers: {'api-version': '1.41'}})
    const paths = recordPaths(engine)
    expect(await client.negotiatedApiVersion()).toBe('1.41')
    await client.info()
    await client.listServices()
    expect(paths).toEqual(['/v1.41/info', '/v1.41/services'])
  })

  it('speaks its own newest version to a newer daemon', async () => {
    const {client, engine} = mockEngine()
    engine.intercept({path: '/_ping', method: 'GET'}).reply(200, 'OK', {headers: {'api-version': '1.51'}})
    const paths = recordPaths(engine)
    await client.info()
    expect(CLIENT_API_VERSION).toBe('1.45')
    expect(paths).toEqual([`/v${CLIENT_API_VERSION}/info`])
  })

  it('asks /version when /_ping carries no Api-Version header', async () => {
    const {client, engine} = mockEngine()
    engine.intercept({path: '/_ping', method: 'GET'}).reply(200, 'OK')
    engine.intercept({path: '/version', method: 'GET'}).reply(200, {ApiVersion: '1.43', MinAPIVersion: '1.12'})
    const paths = recordPaths(engine)
    await client.info()
    expect(paths).toEqual(['/v1.43/info'])
    agent?.assertNoPendingInterceptors()
  })

  it('refuses a daemon older than API 1.41 (exit 2), naming the host and both versions', async () => {
    const {client, engine} = mockEngine()
    engine.intercept({path: '/_ping', method: 'GET'}).reply(200, 'OK', {headers: {'api-version': '1.40'}})
    const failure = await client.info().catch((error: unknown) => error)
    expect(failure).toBeInstanceOf(RefusedError)
    expect((failure as RefusedError).exitCode).toBe(2)
    expect((failure as Error).message).toBe(
      `the Docker Engine at tcp://docker.test:2375 speaks API 1.40; clinical needs ${MIN_API_VERSION} (Docker 20.10) or newer`,
    )
  })

  it('negotiates once: one /_ping for several calls, also concurrent ones', async () => {
    const {client, engine} = mockEngine()
    let pings = 0
    engine
      .intercept({path: '/_ping', method: 'GET'})
      .reply(() => {
        pings++
        return {statusCode: 200, data: 'OK', responseOptions: {headers: {'api-version': '1.41'}}}
      })
      .persist()
    const paths = recordPaths(engine)
    await Promise.all([client.info(), client.listServices(), client.listTasks()])
    await client.listConfigs()
    await client.inspectService('web')
    expect(pings).toBe(1)
    expect(paths).toHaveLength(5)
    expect(paths.every((path) => path.startsWith('/v1.41/'))).toBe(true)
  })

  it('does not remember a failed negotiation: the next call asks /_ping again', async () => {
    const {client, engine} = mockEngine()
    engine
      .intercept({path: '/_ping', method: 'GET'})
      .replyWithError(Object.assign(new Error('connect ECONNREFUSED 10.0.0.5:2375'), {code: 'ECONNREFUSED'}))
    engine.intercept({path: '/_ping', method: 'GET'}).reply(200, 'OK', {headers: {'api-version': '1.41'}})
    const paths = recordPaths(engine)
    await expect(client.info()).rejects.toBeInstanceOf(DockerUnreachableError)
    await client.info()
    expect(paths).toEqual(['/v1.41/info'])
    agent?.assertNoPendingInterceptors()
  })
})
