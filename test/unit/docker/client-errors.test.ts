import {createServer, type Server} from 'node:http'
import {Agent, MockAgent} from 'undici'
import {afterEach, describe, expect, it} from 'vitest'
import {DockerClient} from '../../../src/docker/client.js'
import {
  DockerApiError,
  DockerConflictError,
  DockerNotFoundError,
  DockerNotSwarmManagerError,
  DockerUnreachableError,
  DockerUpdateOutOfSequenceError,
  errorForStatus,
  isTransientDockerError,
} from '../../../src/docker/errors.js'
import type {ServiceSpec} from '../../../src/docker/types.js'
import {ClinicalError, RefusedError} from '../../../src/errors.js'
import {ExitCode} from '../../../src/exit-codes.js'

const ORIGIN = 'http://docker.test'
const ENDPOINT = {kind: 'tcp', origin: ORIGIN, display: 'tcp://docker.test:2375'} as const
const SPEC: ServiceSpec = {Name: 'web', TaskTemplate: {ContainerSpec: {Image: 'clinical-test/busybox:v1'}}}
const NOT_A_MANAGER =
  'This node is not a swarm manager. Use "docker swarm init" or "docker swarm join" to connect this node to swarm and try again.'

let agent: MockAgent | undefined
let server: Server | undefined

afterEach(async () => {
  await agent?.close()
  agent = undefined
  await new Promise((resolve) => (server ? server.close(resolve) : resolve(undefined)))
  server = undefined
})

/** A MockAgent engine that already answered /_ping with API 1.41. */
function mockEngine(): {client: DockerClient; engine: ReturnType<MockAgent['get']>} {
  const mock = new MockAgent({connections: 1})
  mock.disableNetConnect()
  agent = mock
  const engine = mock.get(ORIGIN)
  engine.intercept({path: '/_ping', method: 'GET'}).reply(200, 'OK', {headers: {'api-version': '1.41'}})
  return {client: new DockerClient({dispatcher: mock, endpoint: ENDPOINT}), engine}
}

async function failureOf(promise: Promise<unknown>): Promise<Error> {
  return promise.then(
    () => {
      throw new Error('expected a failure, got success')
    },
    (error: unknown) => error as Error,
  )
}

describe('errorForStatus (pure)', () => {
  it('maps statuses and messages to typed errors', () => {
    expect(errorForStatus(404, 'GET', '/services/x', 'service x not found')).toBeInstanceOf(DockerNotFoundError)
    expect(errorForStatus(409, 'POST', '/configs/create', 'name conflicts')).toBeInstanceOf(DockerConflictError)
    expect(errorForStatus(500, 'POST', '/services/x/update', 'rpc error: code = Unknown desc = update out of sequence')).toBeInstanceOf(
      DockerUpdateOutOfSequenceError,
    )
    expect(errorForStatus(503, 'GET', '/services', NOT_A_MANAGER)).toBeInstanceOf(DockerNotSwarmManagerError)
    const plain = errorForStatus(500, 'GET', '/info', 'boom')
    expect(plain.constructor).toBe(DockerApiError)
    expect(plain.exitCode).toBe(ExitCode.NeedsPerson)
  })

  it('does not take a 503 about something else for "not a swarm manager"', () => {
    expect(errorForStatus(503, 'GET', '/info', 'service unavailable').constructor).toBe(DockerApiError)
  })
})

describe('error answers through the request choke point (MockAgent)', () => {
  it('404 with a JSON body → DockerNotFoundError carrying the daemon message', async () => {
    const {client, engine} = mockEngine()
    engine.intercept({path: '/v1.41/services/web', method: 'GET'}).reply(404, {message: 'service web not found'})
    const error = await failureOf(client.inspectService('web'))
    expect(error).toBeInstanceOf(DockerNotFoundError)
    expect(error).toMatchObject({statusCode: 404, method: 'GET', path: '/services/web', apiMessage: 'service web not found'})
    expect(error.message).toBe('Docker GET /services/web failed with HTTP 404: service web not found')
  })

  it('409 on createConfig of a taken name → DockerConflictError', async () => {
    const {client, engine} = mockEngine()
    engine
      .intercept({path: '/v1.41/configs/create', method: 'POST'})
      .reply(409, {message: 'rpc error: code = AlreadyExists desc = config lock already exists'})
    const error = await failureOf(client.createConfig({Name: 'lock', Data: ''}))
    expect(error).toBeInstanceOf(DockerConflictError)
    expect((error as DockerConflictError).apiMessage).toBe('rpc error: code = AlreadyExists desc = config lock already exists')
  })

  it('fault injection: HTTP 500 "update out of sequence" → DockerUpdateOutOfSequenceError', async () => {
    const {client, engine} = mockEngine()
    engine
      .intercept({path: '/v1.41/services/abc/update?version=7', method: 'POST'})
      .reply(500, {message: 'rpc error: code = Unknown desc = update out of sequence'})
    const error = await failureOf(client.updateService('abc', 7, SPEC))
    expect(error).toBeInstanceOf(DockerUpdateOutOfSequenceError)
    expect(error).toBeInstanceOf(DockerApiError)
    expect((error as DockerApiError).statusCode).toBe(500)
  })

  it('fault injection: HTTP 503 "not a swarm manager" → DockerNotSwarmManagerError, exit 2, one line', async () => {
    const {client, engine} = mockEngine()
    engine.intercept({path: '/v1.41/services', method: 'GET'}).reply(503, {message: NOT_A_MANAGER})
    const error = await failureOf(client.listServices())
    expect(error).toBeInstanceOf(DockerNotSwarmManagerError)
    expect((error as ClinicalError).exitCode).toBe(ExitCode.Refused)
    expect(error.message).not.toContain('\n')
    expect(error.message).toMatch(/^This Docker node is not an active swarm manager \(This node is not a swarm manager\./)
    expect(error.message).toMatch(/Run clinical on a manager node, or point DOCKER_HOST at one\.$/)
  })

  it('reads a plain-text error body (trimmed)', async () => {
    const {client, engine} = mockEngine()
    engine.intercept({path: '/v1.41/info', method: 'GET'}).reply(500, 'page not found\n', {headers: {'content-type': 'text/plain'}})
    const error = await failureOf(client.info())
    expect(error.constructor).toBe(DockerApiError)
    expect((error as DockerApiError).apiMessage).toBe('page not found')
  })

  it('names the status when the error body is empty, and keeps JSON without a message as text', async () => {
    const {client, engine} = mockEngine()
    engine.intercept({path: '/v1.41/info', method: 'GET'}).reply(502, '')
    engine.intercept({path: '/v1.41/version', method: 'GET'}).reply(500, {error: 'odd'})
    expect(((await failureOf(client.info())) as DockerApiError).apiMessage).toBe('HTTP 502')
    expect(((await failureOf(client.version())) as DockerApiError).apiMessage).toBe('{"error":"odd"}')
  })

  it('fault injection: connection refused → DockerUnreachableError, exit 2, one line naming Docker and the host', async () => {
    const {client, engine} = mockEngine()
    engine.intercept({path: '/v1.41/info', method: 'GET'}).replyWithError(
      Object.assign(new Error('connect ECONNREFUSED 10.0.0.5:2375'), {code: 'ECONNREFUSED'}),
    )
    const error = await failureOf(client.info())
    expect(error).toBeInstanceOf(DockerUnreachableError)
    expect(error).toBeInstanceOf(RefusedError)
    expect((error as DockerUnreachableError).exitCode).toBe(ExitCode.Refused)
    expect(error.message).toBe(
      'Docker is not reachable at tcp://docker.test:2375: connection refused (ECONNREFUSED). Start the Docker daemon or set DOCKER_HOST to a reachable engine.',
    )
  })

  it('fault injection: permission denied on the socket → a hint about the docker group', async () => {
    const {client, engine} = mockEngine()
    engine.intercept({path: '/v1.41/info', method: 'GET'}).replyWithError(
      Object.assign(new Error('connect EACCES /var/run/docker.sock'), {code: 'EACCES'}),
    )
    const error = await failureOf(client.info())
    expect(error).toBeInstanceOf(DockerUnreachableError)
    expect(error.message).toContain('permission denied (EACCES); run as a member of the docker group')
  })

  it('lets an unknown transport failure through unchanged (not every error means "unreachable")', async () => {
    const {client, engine} = mockEngine()
    const odd = new TypeError('something else')
    engine.intercept({path: '/v1.41/info', method: 'GET'}).replyWithError(odd)
    const error = await failureOf(client.info())
    expect(error).not.toBeInstanceOf(DockerUnreachableError)
    expect(error.message).toBe('something else')
  })

  it('rethrows an abort as an abort, not as "unreachable"', async () => {
    const {client, engine} = mockEngine()
    engine.intercept({path: '/v1.41/info', method: 'GET'}).reply(200, {}).delay(5000)
    const controller = new AbortController()
    const pending = failureOf(client.info(controller.signal))
    setTimeout(() => controller.abort(), 10)
    const error = await pending
    expect(error).not.toBeInstanceOf(DockerUnreachableError)
    expect(error.name).toBe('AbortError')
  })
})

describe('unreachable daemons (real sockets, no Docker needed)', () => {
  it('a unix socket that does not exist → DockerUnreachableError naming the socket (ENOENT)', async () => {
    const client = new DockerClient({env: {DOCKER_HOST: 'unix:///nonexistent/clinical-test.sock'}})
    try {
      const error = await failureOf(client.info())
      expect(error).toBeInstanceOf(DockerUnreachableError)
      expect(error.message).toBe(
        'Docker is not reachable at unix:///nonexistent/clinical-test.sock: no socket there (ENOENT). Start the Docker daemon or set DOCKER_HOST to a reachable engine.',
      )
    } finally {
      await client.close()
    }
  })

  it('a closed 127.0.0.1 port → DockerUnreachableError (ECONNREFUSED)', async () => {
    const port = await closedPort()
    const client = new DockerClient({env: {DOCKER_HOST: `tcp://127.0.0.1:${port}`}})
    try {
      const error = await failureOf(client.info())
      expect(error).toBeInstanceOf(DockerUnreachableError)
      expect(error.message).toMatch(new RegExp(`^Docker is not reachable at tcp://127\\.0\\.0\\.1:${port}: connection refused \\(ECONNREFUSED\\)\\.`))
    } finally {
      await client.close()
    }
  })
})

describe('error bodies are consumed', () => {
  it('many sequential error answers on a MockAgent with one connection do not hang', async () => {
    const {client, engine} = mockEngine()
    engine.intercept({path: '/v1.41/services/gone', method: 'GET'}).reply(404, {message: 'service gone not found'}).times(20)
    for (let i = 0; i < 20; i++) await expect(client.inspectService('gone')).rejects.toBeInstanceOf(DockerNotFoundError)
  })

  // A real HTTP server on 127.0.0.1 and a real undici Agent with ONE connection: an unconsumed 1 MiB body
  // keeps that connection busy, so without the choke point reading error bodies the second request would hang.
  it('large error bodies on a one-connection Agent (real 127.0.0.1 server): every request gets its answer', {timeout: 10_000}, async () => {
    const big = `update out of sequence ${'x'.repeat(1024 * 1024)}`
    server = createServer((request, response) => {
      if (request.url === '/_ping') {
        response.writeHead(200, {'api-version': '1.41', 'content-type': 'text/plain'})
        response.end('OK')
        return
      }
      response.writeHead(500, {'content-type': 'text/plain'})
      response.end(big)
    })
    const port = await listen(server)
    const dispatcher = new Agent({connections: 1})
    const client = new DockerClient({
      dispatcher,
      endpoint: {kind: 'tcp', origin: `http://127.0.0.1:${port}`, display: `tcp://127.0.0.1:${port}`},
      timeoutMs: 5000,
    })
    try {
      for (let i = 0; i < 5; i++) {
        await expect(client.updateService('abc', i, SPEC)).rejects.toMatchObject({statusCode: 500})
      }
    } finally {
      await dispatcher.destroy()
    }
  })
})

function listen(httpServer: Server): Promise<number> {
  return new Promise((resolve) => {
    httpServer.listen(0, '127.0.0.1', () => resolve((httpServer.address() as {port: number}).port))
  })
}

/** A 127.0.0.1 port that nothing listens on (taken, then released). */
async function closedPort(): Promise<number> {
  const probe = createServer()
  const port = await listen(probe)
  await new Promise((resolve) => probe.close(resolve))
  return port
}

describe('isTransientDockerError', () => {
  it('retries unreachable daemons and 5xx, not answers that will not improve', () => {
    expect(isTransientDockerError(new DockerUnreachableError('unix:///var/run/docker.sock', 'connection refused (ECONNREFUSED)'))).toBe(true)
    expect(isTransientDockerError(new DockerApiError(500, 'GET', '/services', 'rpc error: code = Unavailable'))).toBe(true)
    expect(isTransientDockerError(new DockerApiError(503, 'GET', '/tasks', 'the swarm does not have a leader'))).toBe(true)
    expect(isTransientDockerError(new DockerApiError(400, 'GET', '/tasks', 'invalid filter'))).toBe(false)
    expect(isTransientDockerError(new DockerNotFoundError(404, 'GET', '/services', 'page not found'))).toBe(false)
    expect(isTransientDockerError(Object.assign(new Error('The operation was aborted due to timeout'), {name: 'TimeoutError'}))).toBe(true)
    expect(isTransientDockerError(Object.assign(new Error('other side closed'), {code: 'UND_ERR_SOCKET'}))).toBe(true)
    expect(isTransientDockerError(new DOMException('This operation was aborted', 'AbortError'))).toBe(false)
    expect(isTransientDockerError(new TypeError('a bug, not a blip'))).toBe(false)
  })

})
