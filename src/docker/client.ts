import type {Readable} from 'node:stream'
import {Agent, type Dispatcher} from 'undici'
import {RefusedError} from '../errors.js'
import {DockerApiError, DockerUnreachableError, errorForStatus} from './errors.js'
import {type DockerEndpoint, parseDockerHost, readTlsFiles} from './host.js'
import type {
  ContainerSummary,
  DockerEvent,
  Filters,
  Service,
  ServiceSpec,
  SwarmConfig,
  SwarmSecret,
  SystemDf,
  SystemInfo,
  Task,
  VersionInfo,
  Volume,
} from './types.js'

/** The newest Engine API version this client speaks; older daemons are spoken to in their own version. */
export const CLIENT_API_VERSION = '1.45'
/** Docker 20.10: the oldest engine we support (`GET /services?status=true`). */
export const MIN_API_VERSION = '1.41'

const DEFAULT_TIMEOUT_MS = 30_000

type Method = 'GET' | 'HEAD' | 'POST' | 'PUT' | 'DELETE'
type Query = Record<string, string | number | boolean | string[] | undefined>

export interface DockerRequest {
  method: Method
  /** Path without the version prefix, e.g. `/services`. */
  path: string
  query?: Query
  /** A JSON value, or a stream sent as-is (tar, image). */
  body?: unknown
  headers?: Record<string, string>
  signal?: AbortSignal
  /** Bound on waiting for the answer's headers and between body chunks; 0 means none (event streams). */
  timeoutMs?: number
  /** `/_ping` and `/version` are asked before the version is known. */
  unversioned?: boolean
}

export interface DockerClientOptions {
  endpoint?: DockerEndpoint
  env?: NodeJS.ProcessEnv
  /** A dispatcher to send through instead of the endpoint's own (tests: undici MockAgent, fault injection). */
  dispatcher?: Dispatcher
  /** Default per-request timeout. */
  timeoutMs?: number
}

export function compareApiVersions(a: string, b: string): number {
  const [aMajor = 0, aMinor = 0] = a.split('.').map(Number)
  const [bMajor = 0, bMinor = 0] = b.split('.').map(Number)
  return aMajor === bMajor ? aMinor - bMinor : aMajor - bMajor
}

const UNREACHABLE_CODES = new Set([
  'ECONNREFUSED',
  'ENOENT',
  'EACCES',
  'EPERM',
  'ECONNRESET',
  'EPIPE',
  'EHOSTUNREACH',
  'ENETUNREACH',
  'ENOTFOUND',
  'EAI_AGAIN',
  'ETIMEDOUT',
  'UND_ERR_CONNECT_TIMEOUT',
  'UND_ERR_HEADERS_TIMEOUT',
  'UND_ERR_BODY_TIMEOUT',
  'UND_ERR_SOCKET',
  'UND_ERR_CLOSED',
  'DEPTH_ZERO_SELF_SIGNED_CERT',
  'SELF_SIGNED_CERT_IN_CHAIN',
  'UNABLE_TO_VERIFY_LEAF_SIGNATURE',
  'ERR_TLS_CERT_ALTNAME_INVALID',
  'CERT_HAS_EXPIRED',
])

function transportReason(error: unknown): string | undefined {
  const err = error as {code?: string; message?: string; cause?: {code?: string; message?: string}}
  const code = err?.code ?? err?.cause?.code
  if (!code || !UNREACHABLE_CODES.has(code)) return undefined
  if (code === 'ENOENT') return 'no socket there (ENOENT)'
  if (code === 'ECONNREFUSED') return 'connection refused (ECONNREFUSED)'
  if (code === 'EACCES' || code === 'EPERM') return `permission denied (${code}); run as a member of the docker group`
  if (code === 'UND_ERR_HEADERS_TIMEOUT' || code === 'UND_ERR_BODY_TIMEOUT' || code === 'UND_ERR_CONNECT_TIMEOUT') {
    return `no answer in time (${code})`
  }
  return `${err.cause?.message ?? err.message ?? code} (${code})`
}

/**
 * A typed Docker Engine API client over undici. Every call goes through `send`, the one choke point that
 * negotiates the API version, maps transport failures and error statuses to typed errors, and always consumes
 * the body of an answer it does not hand back.
 */
export class DockerClient {
  readonly endpoint: DockerEndpoint
  private readonly dispatcher: Dispatcher
  private readonly ownsDispatcher: boolean
  private readonly origin: string
  private readonly timeoutMs: number
  private apiVersion: Promise<string> | undefined

  constructor(options: DockerClientOptions = {}) {
    this.endpoint = options.endpoint ?? parseDockerHost(options.env ?? process.env)
    this.timeoutMs = options.timeoutMs ?? DEFAULT_TIMEOUT_MS
    this.origin = this.endpoint.kind === 'unix' ? 'http://localhost' : this.endpoint.origin
    this.ownsDispatcher = !options.dispatcher
    this.dispatcher = options.dispatcher ?? createAgent(this.endpoint)
  }

  /** Close the connections of this client (the process can exit without it; tests call it). */
  async close(): Promise<void> {
    if (this.ownsDispatcher) await this.dispatcher.close()
  }

  // ---------------------------------------------------------------- the choke point

  /** Send one request; resolve with the answer when its status is 2xx/3xx, else throw a typed error. */
  async send(request: DockerRequest): Promise<Dispatcher.ResponseData> {
    const version = request.unversioned ? undefined : await this.negotiatedApiVersion(request.signal)
    const path = `${version ? `/v${version}` : ''}${request.path}${queryString(request.query)}`
    const isStream = isReadable(request.body)
    const headers: Record<string, string> = {...request.headers}
    let body: string | Readable | undefined
    if (isStream) {
      body = request.body as Readable
    } else if (request.body !== undefined) {
      body = JSON.stringify(request.body)
      headers['content-type'] = 'application/json'
    }
    const timeoutMs = request.timeoutMs ?? this.timeoutMs
    let response: Dispatcher.ResponseData
    try {
      response = await this.dispatcher.request({
        origin: this.origin,
        path,
        method: request.method,
        headers,
        body,
        signal: request.signal,
        headersTimeout: timeoutMs,
        bodyTimeout: timeoutMs,
      })
    } catch (error) {
      if (request.signal?.aborted) throw error
      const reason = transportReason(error)
      if (reason) throw new DockerUnreachableError(this.endpoint.display, reason, {cause: error})
      throw error
    }
    if (response.statusCode < 400) return response
    const text = await response.body.text().catch(() => '')
    throw errorForStatus(response.statusCode, request.method, request.path, apiMessage(text, response.statusCode))
  }

  private async json<T>(request: DockerRequest): Promise<T> {
    const response = await this.send(request)
    const text = await response.body.text()
    return (text ? JSON.parse(text) : undefined) as T
  }

  private async empty(request: DockerRequest): Promise<void> {
    const response = await this.send(request)
    await response.body.dump()
  }

  /** The API version both sides speak: min(client, daemon); asked once per client. */
  negotiatedApiVersion(signal?: AbortSignal): Promise<string> {
    this.apiVersion ??= this.negotiate(signal).catch((error: unknown) => {
      this.apiVersion = undefined
      throw error
    })
    return this.apiVersion
  }

  private async negotiate(signal?: AbortSignal): Promise<string> {
    const response = await this.send({method: 'GET', path: '/_ping', unversioned: true, signal})
    await response.body.dump()
    let server = headerValue(response.headers['api-version'])
    if (!server) server = (await this.json<VersionInfo>({method: 'GET', path: '/version', unversioned: true})).ApiVersion
    if (compareApiVersions(server, MIN_API_VERSION) < 0) {
      throw new RefusedError(
        `the Docker Engine at ${this.endpoint.display} speaks API ${server}; clinical needs ${MIN_API_VERSION} (Docker 20.10) or newer`,
      )
    }
    return compareApiVersions(server, CLIENT_API_VERSION) < 0 ? server : CLIENT_API_VERSION
  }

  // ---------------------------------------------------------------- system

  info(signal?: AbortSignal): Promise<SystemInfo> {
    return this.json({method: 'GET', path: '/info', signal})
  }

  version(signal?: AbortSignal): Promise<VersionInfo> {
    return this.json({method: 'GET', path: '/version', signal})
  }

  systemDf(signal?: AbortSignal): Promise<SystemDf> {
    return this.json({method: 'GET', path: '/system/df', query: {type: 'volume'}, signal, timeoutMs: 120_000})
  }

  /**
   * The event stream (`GET /events`), parsed line by line. It has no heartbeat, so no idle timeout is set:
   * end it with `signal`. Callers resync by listing after a reconnect.
   */
  async *events(options: {filters?: Filters; since?: number; signal?: AbortSignal}): AsyncGenerator<DockerEvent> {
    const response = await this.send({
      method: 'GET',
      path: '/events',
      query: {filters: encodeFilters(options.filters), since: options.since},
      signal: options.signal,
      timeoutMs: 0,
    })
    // One decoder for the whole stream: a multi-byte character may be split across chunks.
    const decoder = new TextDecoder()
    let buffered = ''
    try {
      for await (const chunk of response.body) {
        buffered += decoder.decode(chunk as Buffer, {stream: true})
        let newline: number
        while ((newline = buffered.indexOf('\n')) >= 0) {
          const line = buffered.slice(0, newline).trim()
          buffered = buffered.slice(newline + 1)
          if (line) yield JSON.parse(line) as DockerEvent
        }
      }
    } finally {
      response.body.destroy()
    }
  }

  // ---------------------------------------------------------------- services and tasks

  listServices(options: {filters?: Filters; status?: boolean; signal?: AbortSignal} = {}): Promise<Service[]> {
    return this.json({
      method: 'GET',
      path: '/services',
      query: {filters: encodeFilters(options.filters), status: options.status},
      signal: options.signal,
    })
  }

  inspectService(idOrName: string, signal?: AbortSignal): Promise<Service> {
    return this.json({method: 'GET', path: `/services/${encodeURIComponent(idOrName)}`, signal})
  }

  async createService(spec: ServiceSpec, options: {registryAuth?: string; signal?: AbortSignal} = {}): Promise<{ID: string}> {
    return this.json({
      method: 'POST',
      path: '/services/create',
      body: spec,
      headers: options.registryAuth ? {'x-registry-auth': options.registryAuth} : undefined,
      signal: options.signal,
    })
  }

  /**
   * Replace a service's spec. `version` must be the service's current `Version.Index`; a stale one is refused
   * with DockerUpdateOutOfSequenceError.
   */
  async updateService(
    id: string,
    version: number,
    spec: ServiceSpec,
    options: {registryAuthFrom?: 'spec' | 'previous-spec'; rollback?: 'previous'; signal?: AbortSignal} = {},
  ): Promise<{Warnings?: string[] | null}> {
    return this.json({
      method: 'POST',
      path: `/services/${encodeURIComponent(id)}/update`,
      query: {version, registryAuthFrom: options.registryAuthFrom, rollback: options.rollback},
      body: spec,
      signal: options.signal,
    })
  }

  removeService(id: string, signal?: AbortSignal): Promise<void> {
    return this.empty({method: 'DELETE', path: `/services/${encodeURIComponent(id)}`, signal})
  }

  listTasks(options: {filters?: Filters; signal?: AbortSignal} = {}): Promise<Task[]> {
    return this.json({method: 'GET', path: '/tasks', query: {filters: encodeFilters(options.filters)}, signal: options.signal})
  }

  // ---------------------------------------------------------------- configs (the deploy lock lives in one)

  listConfigs(options: {filters?: Filters; signal?: AbortSignal} = {}): Promise<SwarmConfig[]> {
    return this.json({method: 'GET', path: '/configs', query: {filters: encodeFilters(options.filters)}, signal: options.signal})
  }

  inspectConfig(idOrName: string, signal?: AbortSignal): Promise<SwarmConfig> {
    return this.json({method: 'GET', path: `/configs/${encodeURIComponent(idOrName)}`, signal})
  }

  /** Create a config; a name already taken is refused with DockerConflictError (atomic: locks rely on it). */
  createConfig(spec: {Name: string; Labels?: Record<string, string>; Data: string}, signal?: AbortSignal): Promise<{ID: string}> {
    return this.json({method: 'POST', path: '/configs/create', body: spec, signal})
  }

  removeConfig(idOrName: string, signal?: AbortSignal): Promise<void> {
    return this.empty({method: 'DELETE', path: `/configs/${encodeURIComponent(idOrName)}`, signal})
  }

  // ---------------------------------------------------------------- secrets (names and IDs only: values never leave the swarm)

  listSecrets(options: {filters?: Filters; signal?: AbortSignal} = {}): Promise<SwarmSecret[]> {
    return this.json({method: 'GET', path: '/secrets', query: {filters: encodeFilters(options.filters)}, signal: options.signal})
  }

  // ---------------------------------------------------------------- volumes

  async listVolumes(options: {filters?: Filters; signal?: AbortSignal} = {}): Promise<Volume[]> {
    const answer = await this.json<{Volumes: Volume[] | null}>({
      method: 'GET',
      path: '/volumes',
      query: {filters: encodeFilters(options.filters)},
      signal: options.signal,
    })
    return answer.Volumes ?? []
  }

  inspectVolume(name: string, signal?: AbortSignal): Promise<Volume> {
    return this.json({method: 'GET', path: `/volumes/${encodeURIComponent(name)}`, signal})
  }

  createVolume(spec: {Name: string; Labels?: Record<string, string>; Driver?: string}, signal?: AbortSignal): Promise<Volume> {
    return this.json({method: 'POST', path: '/volumes/create', body: spec, signal})
  }

  removeVolume(name: string, options: {force?: boolean; signal?: AbortSignal} = {}): Promise<void> {
    return this.empty({method: 'DELETE', path: `/volumes/${encodeURIComponent(name)}`, query: {force: options.force}, signal: options.signal})
  }

  // ---------------------------------------------------------------- containers (helpers that are created, never started)

  createContainer(body: Record<string, unknown>, options: {name?: string; signal?: AbortSignal} = {}): Promise<{Id: string; Warnings: string[]}> {
    return this.json({method: 'POST', path: '/containers/create', query: {name: options.name}, body, signal: options.signal})
  }

  /** `GET /containers/json`: stopped containers too with `all` (filters: label, volume, status, ...). */
  listContainers(options: {all?: boolean; filters?: Filters; signal?: AbortSignal} = {}): Promise<ContainerSummary[]> {
    return this.json({
      method: 'GET',
      path: '/containers/json',
      query: {all: options.all, filters: encodeFilters(options.filters)},
      signal: options.signal,
    })
  }

  removeContainer(id: string, options: {force?: boolean; volumes?: boolean; signal?: AbortSignal} = {}): Promise<void> {
    return this.empty({
      method: 'DELETE',
      path: `/containers/${encodeURIComponent(id)}`,
      query: {force: options.force, v: options.volumes},
      signal: options.signal,
    })
  }

  /**
   * A tar stream of `path` inside a container (created or running). Asks for no content encoding: we compress
   * on our side. The caller must consume or destroy the returned stream.
   */
  async getArchive(id: string, path: string, options: {signal?: AbortSignal; idleTimeoutMs?: number} = {}): Promise<Readable> {
    const response = await this.send({
      method: 'GET',
      path: `/containers/${encodeURIComponent(id)}/archive`,
      query: {path},
      headers: {'accept-encoding': 'identity'},
      signal: options.signal,
      timeoutMs: options.idleTimeoutMs ?? 120_000,
    })
    return response.body
  }

  /** Extract a tar stream into `path` (a directory) inside a container. */
  putArchive(id: string, path: string, tar: Readable, options: {signal?: AbortSignal; timeoutMs?: number} = {}): Promise<void> {
    return this.empty({
      method: 'PUT',
      path: `/containers/${encodeURIComponent(id)}/archive`,
      query: {path, noOverwriteDirNonDir: true},
      headers: {'content-type': 'application/x-tar'},
      body: tar,
      signal: options.signal,
      timeoutMs: options.timeoutMs ?? 600_000,
    })
  }

  // ---------------------------------------------------------------- images

  async inspectImage(name: string, signal?: AbortSignal): Promise<{Id: string; RepoTags: string[] | null; RepoDigests: string[] | null}> {
    return this.json({method: 'GET', path: `/images/${encodeURIComponent(name)}/json`, signal})
  }

  /** `docker image prune`: remove dangling images (as the seed's `docker image prune -f`). */
  pruneImages(signal?: AbortSignal): Promise<{ImagesDeleted: Array<{Untagged?: string; Deleted?: string}> | null; SpaceReclaimed: number}> {
    return this.json({method: 'POST', path: '/images/prune', query: {filters: encodeFilters({dangling: ['true']})}, signal, timeoutMs: 300_000})
  }

  /** `docker import`: make an image from a root filesystem tar. Fails on the first error of the progress stream. */
  async importImage(rootfsTar: Readable, options: {repo: string; tag: string; changes?: string[]; signal?: AbortSignal}): Promise<void> {
    const path = '/images/create'
    const response = await this.send({
      method: 'POST',
      path,
      query: {fromSrc: '-', repo: options.repo, tag: options.tag, changes: options.changes},
      headers: {'content-type': 'application/x-tar'},
      body: rootfsTar,
      signal: options.signal,
      timeoutMs: 300_000,
    })
    const progress = await response.body.text()
    const failed = progress
      .split('\n')
      .filter(Boolean)
      .map((line) => JSON.parse(line) as {error?: string})
      .find((line) => line.error)
    if (failed?.error) throw new DockerApiError(200, 'POST', path, failed.error)
  }
}

function createAgent(endpoint: DockerEndpoint): Agent {
  if (endpoint.kind === 'unix') return new Agent({connect: {socketPath: endpoint.socketPath}})
  if (!endpoint.tls) return new Agent()
  const files = readTlsFiles(endpoint.tls.certPath)
  return new Agent({connect: {...files, rejectUnauthorized: endpoint.tls.verify}})
}

function isReadable(value: unknown): value is Readable {
  return typeof value === 'object' && value !== null && typeof (value as Readable).pipe === 'function'
}

export function encodeFilters(filters: Filters | undefined): string | undefined {
  if (!filters || Object.keys(filters).length === 0) return undefined
  return JSON.stringify(filters)
}

function queryString(query: Query | undefined): string {
  if (!query) return ''
  const params = new URLSearchParams()
  for (const [key, value] of Object.entries(query)) {
    if (value === undefined) continue
    for (const item of Array.isArray(value) ? value : [value]) params.append(key, String(item))
  }
  const text = params.toString()
  return text ? `?${text}` : ''
}

function headerValue(value: string | string[] | undefined): string | undefined {
  return Array.isArray(value) ? value[0] : value
}

function apiMessage(text: string, statusCode: number): string {
  try {
    const parsed = JSON.parse(text) as {message?: string}
    if (parsed.message) return parsed.message.trim()
  } catch {
    // not JSON: fall through
  }
  return text.trim() || `HTTP ${statusCode}`
}
