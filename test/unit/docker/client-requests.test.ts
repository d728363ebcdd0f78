import {Readable} from 'node:stream'
import {setImmediate as nextTurn} from 'node:timers/promises'
import {Dispatcher, MockAgent} from 'undici'
import {afterEach, describe, expect, it} from 'vitest'
import {DockerClient, encodeFilters} from '../../../src/docker/client.js'
import {DockerApiError} from '../../../src/docker/errors.js'
import type {DockerEvent, ServiceSpec} from '../../../src/docker/types.js'

const ORIGIN = 'http://docker.test'
const ENDPOINT = {kind: 'tcp', origin: ORIGIN, display: 'tcp://docker.test:2375'} as const

interface Seen {
  method: string
  path: string
  body: string | undefined
  headers: Record<string, string>
}

let agent: MockAgent | undefined

afterEach(async () => {
  await agent?.close()
  agent = undefined
})

/** A MockAgent engine (API 1.41) that answers every versioned request with `answer` and records it. */
function recordingEngine(answer: unknown = {}): {client: DockerClient; seen: Seen[]} {
  const mock = new MockAgent({connections: 1})
  mock.disableNetConnect()
  agent = mock
  const engine = mock.get(ORIGIN)
  engine.intercept({path: '/_ping', method: 'GET'}).reply(200, 'OK', {headers: {'api-version': '1.41'}})
  const seen: Seen[] = []
  engine
    .intercept({path: (path) => path.startsWith('/v1.41/'), method: () => true})
    .reply((options) => {
      seen.push({
        method: options.method,
        path: options.path,
        body: typeof options.body === 'string' ? options.body : undefined,
        headers: (options.headers ?? {}) as Record<string, string>,
      })
      return {statusCode: 200, data: JSON.stringify(answer)}
    })
    .persist()
  return {client: new DockerClient({dispatcher: mock, endpoint: ENDPOINT}), seen}
}

function query(path: string): URLSearchParams {
  return new URL(path, ORIGIN).searchParams
}

describe('encodeFilters', () => {
  it('encodes filters as JSON and leaves empty ones out', () => {
    expect(encodeFilters(undefined)).toBeUndefined()
    expect(encodeFilters({})).toBeUndefined()
    expect(encodeFilters({label: ['com.docker.stack.namespace=s1', 'x']})).toBe('{"label":["com.docker.stack.namespace=s1","x"]}')
  })
})

describe('requests as sent', () => {
  it('sends list filters as one JSON query parameter, and status=true', async () => {
    const {client, seen} = recordingEngine([])
    const filters = {label: ['com.docker.stack.namespace=s1', 'tier=web']}
    await client.listServices({filters, status: true})
    expect(seen).toHaveLength(1)
    expect(seen[0]!.method).toBe('GET')
    expect(new URL(seen[0]!.path, ORIGIN).pathname).toBe('/v1.41/services')
    expect(JSON.parse(query(seen[0]!.path).get('filters')!)).toEqual(filters)
    expect(query(seen[0]!.path).get('status')).toBe('true')
  })

  it('leaves out absent and empty filters and undefined options', async () => {
    const {client, seen} = recordingEngine([])
    await client.listServices()
    await client.listTasks({filters: {}})
    expect(seen.map((request) => request.path)).toEqual(['/v1.41/services', '/v1.41/tasks'])
  })

  it('sends task filters with several values per key', async () => {
    const {client, seen} = recordingEngine([])
    await client.listTasks({filters: {service: ['id1', 'id2'], 'desired-state': ['running']}})
    expect(JSON.parse(query(seen[0]!.path).get('filters')!)).toEqual({service: ['id1', 'id2'], 'desired-state': ['running']})
  })

  it('repeats a query key for an array value (image import changes)', async () => {
    const {client, seen} = recordingEngine({status: 'sha256:abc'})
    await client.importImage(Readable.from([Buffer.from('not really a tar')]), {
      repo: 'clinical-test/busybox',
      tag: 'v9',
      changes: ['CMD ["sh"]', 'ENV A=1'],
    })
    const params = query(seen[0]!.path)
    expect(seen[0]!.method).toBe('POST')
    expect(params.getAll('changes')).toEqual(['CMD ["sh"]', 'ENV A=1'])
    expect(params.get('fromSrc')).toBe('-')
    expect(params.get('repo')).toBe('clinical-test/busybox')
    expect(params.get('tag')).toBe('v9')
  })

  it('updates a service with version and registryAuthFrom in the query and the whole spec as JSON', async () => {
    const {client, seen} = recordingEngine({Warnings: null})
    const spec: ServiceSpec = {
      Name: 's1_web',
      Labels: {'com.docker.stack.namespace': 's1'},
      TaskTemplate: {ContainerSpec: {Image: 'clinical-test/busybox:v2'}, ForceUpdate: 3, Networks: [{Target: 'host'}]},
      Mode: {Replicated: {Replicas: 1}},
    }
    await client.updateService('svc id', 12, spec, {registryAuthFrom: 'previous-spec'})
    const [request] = seen
    expect(request!.method).toBe('POST')
    expect(new URL(request!.path, ORIGIN).pathname).toBe('/v1.41/services/svc%20id/update')
    expect(Object.fromEntries(query(request!.path))).toEqual({version: '12', registryAuthFrom: 'previous-spec'})
    expect(JSON.parse(request!.body!)).toEqual(spec)
    expect(request!.headers['content-type']).toBe('application/json')
  })

  it('encodes names in paths and sends boolean options', async () => {
    const {client, seen} = recordingEngine()
    await client.inspectService('a/b')
    await client.removeVolume('s1_data', {force: true})
    await client.removeContainer('c1', {force: true, volumes: false})
    expect(seen.map((request) => `${request.method} ${request.path}`)).toEqual([
      'GET /v1.41/services/a%2Fb',
      'DELETE /v1.41/volumes/s1_data?force=true',
      'DELETE /v1.41/containers/c1?force=true&v=false',
    ])
  })

  it('asks for an uncompressed archive', async () => {
    const {client, seen} = recordingEngine()
    const archive = await client.getArchive('c1', '/data')
    await archive.resume()
    expect(seen[0]!.path).toBe('/v1.41/containers/c1/archive?path=%2Fdata')
    expect(seen[0]!.headers['accept-encoding']).toBe('identity')
  })

  it('fails an image import on the first error line of a 200 progress stream', async () => {
    const mock = new MockAgent({connections: 1})
    mock.disableNetConnect()
    agent = mock
    const engine = mock.get(ORIGIN)
    engine.intercept({path: '/_ping', method: 'GET'}).reply(200, 'OK', {headers: {'api-version': '1.41'}})
    engine
      .intercept({path: (path) => path.startsWith('/v1.41/images/create'), method: 'POST'})
      .reply(200, '{"status":"Downloading"}\n{"errorDetail":{"message":"archive/tar: invalid tar header"},"error":"archive/tar: invalid tar header"}\n')
    const client = new DockerClient({dispatcher: mock, endpoint: ENDPOINT})
    const failure = await client.importImage(Readable.from([Buffer.from('x')]), {repo: 'r', tag: 't'}).catch((error: unknown) => error)
    expect(failure).toBeInstanceOf(DockerApiError)
    expect((failure as DockerApiError).apiMessage).toBe('archive/tar: invalid tar header')
  })
})

const EVENTS: DockerEvent[] = [
  {
    Type: 'service',
    Action: 'update',
    Actor: {ID: 'svc1', Attributes: {name: 's1_web', 'updatestate.new': 'updating'}},
    scope: 'swarm',
    time: 1_700_000_000,
    timeNano: 1_700_000_000_000_000_000,
  },
  {
    Type: 'service',
    Action: 'update',
    Actor: {ID: 'svc2', Attributes: {name: 's1_café-ü', 'replicas.new': '2', 'replicas.old': '1'}},
    scope: 'swarm',
    time: 1_700_000_001,
    timeNano: 1_700_000_001_000_000_000,
  },
  {Type: 'service', Action: 'remove', Actor: {ID: 'svc3', Attributes: {name: '日本'}}, scope: 'swarm', time: 1_700_000_002, timeNano: 1},
]
const NDJSON = Buffer.from(`${EVENTS.map((event) => JSON.stringify(event)).join('\n\n')}\n`)

/**
 * Fault injection the real daemon cannot be made to produce on demand: an event stream delivered in chosen
 * chunks (split anywhere, even inside a UTF-8 character), optionally dropped before its end. A real undici
 * Dispatcher, so the client's own request/body machinery runs unchanged.
 */
class ScriptedEventStream extends Dispatcher {
  readonly paths: string[] = []
  aborted = false

  constructor(
    private readonly chunks: Buffer[],
    private readonly dropAtEnd = false,
  ) {
    super()
  }

  override dispatch(options: Dispatcher.DispatchOptions, handler: Dispatcher.DispatchHandler): boolean {
    this.paths.push(options.path)
    const ping = options.path === '/_ping'
    const headers = (ping ? ['api-version', '1.41'] : ['content-type', 'application/json']).map((text) => Buffer.from(text))
    const chunks = ping ? [Buffer.from('OK')] : this.chunks
    void (async () => {
      handler.onConnect?.(() => {
        this.aborted = true
      })
      await nextTurn()
      handler.onHeaders?.(200, headers, () => undefined, 'OK')
      for (const chunk of chunks) {
        await nextTurn()
        if (this.aborted) return
        handler.onData?.(chunk)
      }
      await nextTurn()
      if (this.aborted) return
      if (this.dropAtEnd && !ping) handler.onError?.(Object.assign(new Error('other side closed'), {code: 'UND_ERR_SOCKET'}))
      else handler.onComplete?.([])
    })()
    return true
  }
}

async function collect(events: AsyncGenerator<DockerEvent>, into: DockerEvent[]): Promise<void> {
  for await (const event of events) into.push(event)
}

describe('events()', () => {
  it('sends the filters as JSON and since, and parses NDJSON in one chunk (MockAgent)', async () => {
    const mock = new MockAgent({connections: 1})
    mock.disableNetConnect()
    agent = mock
    const engine = mock.get(ORIGIN)
    engine.intercept({path: '/_ping', method: 'GET'}).reply(200, 'OK', {headers: {'api-version': '1.41'}})
    const paths: string[] = []
    engine
      .intercept({path: (path) => path.startsWith('/v1.41/events'), method: 'GET'})
      .reply((options) => {
        paths.push(options.path)
        return {statusCode: 200, data: NDJSON}
      })
    const client = new DockerClient({dispatcher: mock, endpoint: ENDPOINT})
    const seen: DockerEvent[] = []
    await collect(client.events({filters: {type: ['service'], scope: ['swarm']}, since: 1_700_000_000}), seen)
    expect(seen).toEqual(EVENTS)
    expect(JSON.parse(query(paths[0]!).get('filters')!)).toEqual({type: ['service'], scope: ['swarm']})
    expect(query(paths[0]!).get('since')).toBe('1700000000')
  })

  it('fault injection: NDJSON split into single bytes (inside lines and inside UTF-8 characters) parses whole', async () => {
    const chunks = [...NDJSON].map((byte) => Buffer.from([byte]))
    const engine = new ScriptedEventStream(chunks)
    const client = new DockerClient({dispatcher: engine, endpoint: ENDPOINT})
    const seen: DockerEvent[] = []
    await collect(client.events({filters: {type: ['service']}}), seen)
    expect(seen).toEqual(EVENTS)
    expect(engine.paths).toEqual(['/_ping', `/v1.41/events?filters=${encodeURIComponent('{"type":["service"]}')}`])
  })

  it('fault injection: NDJSON split at arbitrary points across lines parses whole', async () => {
    const cut = [7, 150, 151, NDJSON.length - 3]
    const chunks = [0, ...cut].map((start, index) => NDJSON.subarray(start, cut[index] ?? NDJSON.length))
    const client = new DockerClient({dispatcher: new ScriptedEventStream(chunks), endpoint: ENDPOINT})
    const seen: DockerEvent[] = []
    await collect(client.events({}), seen)
    expect(seen).toEqual(EVENTS)
  })

  it('fault injection: a dropped stream yields the whole events, then fails (the caller resyncs)', async () => {
    const firstLineEnd = NDJSON.indexOf('\n') + 1
    const chunks = [NDJSON.subarray(0, firstLineEnd + 20)]
    const client = new DockerClient({dispatcher: new ScriptedEventStream(chunks, true), endpoint: ENDPOINT})
    const seen: DockerEvent[] = []
    await expect(collect(client.events({}), seen)).rejects.toThrow(/other side closed/)
    expect(seen).toEqual([EVENTS[0]])
  })

  it('a consumer that stops early releases the stream', async () => {
    const chunks = [...NDJSON].map((byte) => Buffer.from([byte]))
    const engine = new ScriptedEventStream(chunks)
    const client = new DockerClient({dispatcher: engine, endpoint: ENDPOINT})
    for await (const event of client.events({})) {
      expect(event).toEqual(EVENTS[0])
      break
    }
    expect(engine.aborted).toBe(true)
  })
})
