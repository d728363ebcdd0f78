/**
 * probeUrl / probeUrls against real HTTP(S) servers on 127.0.0.1 (random ports) that answer a scripted
 * sequence of statuses, so every retry, backoff and deadline path goes over a real socket.
 */
import {execFile} from 'node:child_process'
import {mkdtemp, readFile, rm} from 'node:fs/promises'
import {createServer, type IncomingMessage, type Server, type ServerResponse} from 'node:http'
import {createServer as createHttpsServer} from 'node:https'
import {tmpdir} from 'node:os'
import {join} from 'node:path'
import {promisify} from 'node:util'
import {afterAll, afterEach, beforeAll, describe, expect, it} from 'vitest'
import {closeProbeAgents} from '../../../src/probes/probe-agent.js'
import {probeUrl, probeUrls, type ProbeAttempt} from '../../../src/probes/http-probe.js'

/** `hang`: accept the request and never answer. */
type Step = number | 'hang'

interface ScriptedServer {
  url: (path?: string) => string
  /** Paths requested, in order. */
  requests: string[]
  close: () => Promise<void>
}

const servers: Server[] = []

function handler(script: Step[], requests: string[]) {
  return (request: IncomingMessage, response: ServerResponse) => {
    requests.push(request.url ?? '')
    const step = script[Math.min(requests.length - 1, script.length - 1)]
    if (step === undefined || step === 'hang') return
    if (step >= 300 && step < 400) response.setHeader('location', '/elsewhere')
    response.statusCode = step
    response.end(`status ${step}\n`)
  }
}

async function listen(server: Server): Promise<number> {
  servers.push(server)
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  const address = server.address()
  if (typeof address !== 'object' || !address) throw new Error('server has no port')
  return address.port
}

/** A port on 127.0.0.1 where nothing listens (it was free a moment ago). */
async function closedPort(): Promise<number> {
  const server = createServer()
  const port = await new Promise<number>((resolve) =>
    server.listen(0, '127.0.0.1', () => resolve((server.address() as {port: number}).port)),
  )
  await new Promise((resolve) => server.close(resolve))
  return port
}

/** The server's open connections once they stop closing (polled for at most 5 s). */
async function openConnectionsAfterSettling(server: Server): Promise<number> {
  const count = () => new Promise<number>((resolve, reject) => server.getConnections((error, n) => (error ? reject(error) : resolve(n))))
  for (let i = 0; i < 50; i++) {
    if ((await count()) === 0) return 0
    await new Promise((resolve) => setTimeout(resolve, 100))
  }
  return count()
}

function closeServer(server: Server): Promise<void> {
  server.closeAllConnections()
  return new Promise((resolve) => server.close(() => resolve()))
}

/** A server on 127.0.0.1 that answers the n-th request with script[n] (the last step repeats). */
async function scriptedServer(script: Step[]): Promise<ScriptedServer> {
  const requests: string[] = []
  const server = createServer(handler(script, requests))
  const port = await listen(server)
  return {url: (path = '/health') => `http://127.0.0.1:${port}${path}`, requests, close: () => closeServer(server)}
}

const fast = {successIntervalMs: 20, attemptTimeoutMs: 2000}
const inSeconds = (s: number) => Date.now() + s * 1000

afterEach(async () => {
  await Promise.all(servers.splice(0).map(closeServer))
})

afterAll(async () => {
  await closeProbeAgents()
})

describe('probeUrl', () => {
  it('passes after three consecutive 200s, with exactly three requests', async () => {
    const server = await scriptedServer([200])
    const attempts: ProbeAttempt[] = []
    const result = await probeUrl(server.url(), {...fast, deadlineMs: inSeconds(20), onAttempt: (a) => attempts.push(a)})
    expect(result).toMatchObject({ok: true, url: server.url(), attempts: 3, status: 200})
    expect(server.requests).toEqual(['/health', '/health', '/health'])
    expect(attempts.map((a) => [a.attempt, a.status, a.ok])).toEqual([
      [1, 200, true],
      [2, 200, true],
      [3, 200, true],
    ])
  })

  it('retries 503s as "not up yet" and passes once three 200s follow (503,503,200,200,200)', async () => {
    const server = await scriptedServer([503, 503, 200])
    const attempts: ProbeAttempt[] = []
    const result = await probeUrl(server.url(), {...fast, deadlineMs: inSeconds(30), onAttempt: (a) => attempts.push(a)})
    expect(result).toMatchObject({ok: true, attempts: 5, status: 200})
    expect(attempts.map((a) => a.status)).toEqual([503, 503, 200, 200, 200])
    expect(attempts.map((a) => a.ok)).toEqual([false, false, true, true, true])
  })

  it('restarts the consecutive count after a failure (200,500,200,200,200 needs five attempts)', async () => {
    const server = await scriptedServer([200, 500, 200])
    const attempts: ProbeAttempt[] = []
    const result = await probeUrl(server.url(), {...fast, deadlineMs: inSeconds(30), onAttempt: (a) => attempts.push(a)})
    expect(result).toMatchObject({ok: true, attempts: 5, status: 200})
    expect(attempts.map((a) => a.status)).toEqual([200, 500, 200, 200, 200])
  })

  it('gives up at the deadline on a URL that always answers 404, naming the URL and the status', async () => {
    const server = await scriptedServer([404])
    const deadlineMs = Date.now() + 1500
    const result = await probeUrl(server.url('/actuator/health'), {...fast, deadlineMs})
    expect(result.ok).toBe(false)
    if (result.ok) return
    expect(result.status).toBe(404)
    expect(result.attempts).toBeGreaterThan(1)
    expect(result.attempts).toBe(server.requests.length)
    expect(result.reason).toMatch(new RegExp(`^${escape(server.url('/actuator/health'))} answered HTTP 404 \\(last of ${result.attempts} attempts in [\\d.]+m?s\\)$`))
    // never past the deadline (generous bound for a loaded machine)
    expect(Date.now()).toBeLessThan(deadlineMs + 1000)
  })

  it('names ECONNREFUSED when nothing listens on the port', async () => {
    const port = await closedPort()
    const url = `http://127.0.0.1:${port}/ping`
    const result = await probeUrl(url, {...fast, deadlineMs: Date.now() + 1200})
    expect(result.ok).toBe(false)
    if (result.ok) return
    expect(result.status).toBeUndefined()
    expect(result.error).toContain('ECONNREFUSED')
    expect(result.reason).toContain(url)
    expect(result.reason).toContain('ECONNREFUSED')
    expect(result.reason).not.toContain('\n')
    expect(result.attempts).toBeGreaterThan(1)
  })

  it('bounds each attempt by attemptTimeoutMs on a server that never answers, and stops at the deadline', async () => {
    const server = await scriptedServer(['hang'])
    const deadlineMs = Date.now() + 2000
    const attempts: ProbeAttempt[] = []
    const result = await probeUrl(server.url(), {attemptTimeoutMs: 300, deadlineMs, onAttempt: (a) => attempts.push(a)})
    expect(result.ok).toBe(false)
    if (result.ok) return
    // several attempts fit in 2 s only because each one was cut at 300 ms
    expect(attempts.length).toBeGreaterThanOrEqual(2)
    expect(attempts.every((a) => !a.ok && /^no answer within \d+ms$/.test(a.error ?? ''))).toBe(true)
    // every attempt but the last was cut at 300 ms; the last one only had what was left before the deadline
    expect(attempts.slice(0, -1).map((a) => a.error)).toEqual(attempts.slice(0, -1).map(() => 'no answer within 300ms'))
    expect(result.reason).toContain(server.url())
    expect(result.reason).toContain('no answer within')
    expect(Date.now()).toBeLessThan(deadlineMs + 1000)
  })

  it('never waits past the deadline even when one attempt may take longer', async () => {
    const server = await scriptedServer(['hang'])
    const deadlineMs = Date.now() + 700
    const result = await probeUrl(server.url(), {attemptTimeoutMs: 30_000, deadlineMs})
    expect(result.ok).toBe(false)
    expect(Date.now()).toBeLessThan(deadlineMs + 1000)
    expect(result.attempts).toBe(1)
  })

  it('accepts a 302 without following it', async () => {
    const server = await scriptedServer([302])
    const result = await probeUrl(server.url('/app/independent-t-test'), {...fast, deadlineMs: inSeconds(20)})
    expect(result).toMatchObject({ok: true, attempts: 3, status: 302})
    // the Location (/elsewhere) was never requested
    expect(server.requests).toEqual(['/app/independent-t-test', '/app/independent-t-test', '/app/independent-t-test'])
  })

  it('uses a custom accept: only 200 and 302 pass, 204 and 301 are retried', async () => {
    const server = await scriptedServer([204, 301, 200, 302, 200])
    const attempts: ProbeAttempt[] = []
    const result = await probeUrl(server.url(), {
      ...fast,
      deadlineMs: inSeconds(30),
      accept: (status) => status === 200 || status === 302,
      onAttempt: (a) => attempts.push(a),
    })
    expect(result).toMatchObject({ok: true, attempts: 5, status: 200})
    expect(attempts.map((a) => [a.status, a.ok])).toEqual([
      [204, false],
      [301, false],
      [200, true],
      [302, true],
      [200, true],
    ])
  })

  it('reports the last refused status when the deadline comes during a run of successes', async () => {
    const server = await scriptedServer([503, 200])
    const result = await probeUrl(server.url(), {successIntervalMs: 400, successesNeeded: 50, deadlineMs: Date.now() + 2500})
    expect(result.ok).toBe(false)
    if (result.ok) return
    expect(result.status).toBe(503)
    expect(result.reason).toMatch(/answered HTTP 200 only \d+ of 50 times in a row before the deadline/)
  })

  it('stops with reason "aborted" when the signal fires, also during a backoff', async () => {
    const server = await scriptedServer([503])
    const controller = new AbortController()
    const attempts: ProbeAttempt[] = []
    const probing = probeUrl(server.url(), {
      ...fast,
      deadlineMs: inSeconds(60),
      signal: controller.signal,
      onAttempt: (a) => {
        attempts.push(a)
        if (attempts.length === 2) controller.abort()
      },
    })
    const result = await probing
    expect(result).toMatchObject({ok: false, reason: 'aborted', status: 503})
    expect(attempts).toHaveLength(2)
  })

  it('answers "aborted" at once for a signal that has already fired', async () => {
    const server = await scriptedServer([200])
    const result = await probeUrl(server.url(), {deadlineMs: inSeconds(10), signal: AbortSignal.abort()})
    expect(result).toMatchObject({ok: false, reason: 'aborted', attempts: 0})
    expect(server.requests).toEqual([])
  })

  it('makes no request when the deadline has already passed', async () => {
    const server = await scriptedServer([200])
    const result = await probeUrl(server.url(), {deadlineMs: Date.now() - 1})
    expect(result).toMatchObject({ok: false, attempts: 0, reason: `${server.url()}: the deadline passed before the first attempt`})
    expect(server.requests).toEqual([])
  })

  it('refuses a URL that is not http(s) without sending anything', async () => {
    const result = await probeUrl('ftp://127.0.0.1/health', {deadlineMs: inSeconds(10)})
    expect(result).toMatchObject({ok: false, attempts: 0})
    if (!result.ok) expect(result.reason).toContain('ftp://127.0.0.1/health is not an http:// or https:// URL')
    const garbage = await probeUrl('not a url', {deadlineMs: inSeconds(10)})
    if (!garbage.ok) expect(garbage.reason).toContain('not a url is not a valid URL')
    expect(garbage.ok).toBe(false)
  })

  it('consumes or drops every body, so no connection stays open after the probe', async () => {
    const requests: string[] = []
    // 64 MiB per answer, written with backpressure: more than loopback socket buffers hold, so an answer whose
    // body nobody reads keeps its connection open
    const chunk = Buffer.alloc(1024 * 1024, 'x')
    const server = createServer((request, response) => {
      requests.push(request.url ?? '')
      let left = 64
      const write = (): void => {
        while (left > 0 && !response.destroyed) {
          left -= 1
          if (left === 0) response.end(chunk)
          else if (!response.write(chunk)) return void response.once('drain', write)
        }
      }
      write()
    })
    const port = await listen(server)
    const urls = Array.from({length: 4}, (_, i) => `http://127.0.0.1:${port}/big/${i}`)
    // a long attempt timeout: its abort would also free a connection, and must not be what frees it here
    const results = await probeUrls(urls, {successIntervalMs: 20, attemptTimeoutMs: 60_000, deadlineMs: inSeconds(60)})
    expect(results.map((r) => r.ok)).toEqual([true, true, true, true])
    expect(requests).toHaveLength(12)
    expect(await openConnectionsAfterSettling(server)).toBe(0)
  }, 30_000)
})

describe('probeUrls', () => {
  it('probes in parallel and returns results in the order of the URLs', async () => {
    const up = await scriptedServer([200])
    const down = await scriptedServer([404])
    const order: string[] = []
    const results = await probeUrls([down.url('/down'), up.url('/up')], {
      successIntervalMs: 150,
      deadlineMs: Date.now() + 1500,
      onAttempt: (a) => order.push(`${new URL(a.url).pathname}#${a.attempt}`),
    })
    expect(results.map((r) => [r.url, r.ok])).toEqual([
      [down.url('/down'), false],
      [up.url('/up'), true],
    ])
    // the second URL's first attempt came before the first URL's probe was over: they ran side by side
    const lastDownAttempt = order.map((o) => o.startsWith('/down')).lastIndexOf(true)
    expect(order.indexOf('/up#1')).toBeGreaterThanOrEqual(0)
    expect(order.indexOf('/up#1')).toBeLessThan(lastDownAttempt)
  })
})

describe('TLS', () => {
  let dir = ''
  let key = ''
  let cert = ''

  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'clinical-probe-tls-'))
    // a self-signed certificate for 127.0.0.1 (openssl: part of every Debian and Ubuntu base image)
    await promisify(execFile)('openssl', [
      'req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes', '-days', '1',
      '-subj', '/CN=127.0.0.1', '-addext', 'subjectAltName=IP:127.0.0.1',
      '-keyout', join(dir, 'key.pem'), '-out', join(dir, 'cert.pem'),
    ], {timeout: 30_000})
    key = await readFile(join(dir, 'key.pem'), 'utf8')
    cert = await readFile(join(dir, 'cert.pem'), 'utf8')
  })

  afterAll(async () => {
    await rm(dir, {recursive: true, force: true})
  })

  async function selfSignedServer(): Promise<{url: string; requests: string[]}> {
    const requests: string[] = []
    const server = createHttpsServer({key, cert}, handler([200], requests))
    const port = await listen(server)
    return {url: `https://127.0.0.1:${port}/ping`, requests}
  }

  it('verifies certificates by default: a self-signed one fails and the reason says why', async () => {
    const server = await selfSignedServer()
    const result = await probeUrl(server.url, {...fast, deadlineMs: Date.now() + 1200})
    expect(result.ok).toBe(false)
    if (result.ok) return
    expect(result.reason).toContain(server.url)
    expect(result.reason).toMatch(/self[- ]signed/i)
    expect(server.requests).toEqual([])
  })

  it('skips verification with insecure: true', async () => {
    const server = await selfSignedServer()
    const result = await probeUrl(server.url, {...fast, insecure: true, deadlineMs: inSeconds(20)})
    expect(result).toMatchObject({ok: true, attempts: 3, status: 200})
    expect(server.requests).toHaveLength(3)
  })
})

function escape(text: string): string {
  return text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')
}

describe('probeUrl: a URL with a password', () => {
  it('never quotes the password in its reason (refused answers, errors, an invalid URL)', async () => {
    const server = await scriptedServer([503])
    const withPassword = server.url().replace('http://', 'http://mon:S3cret-probe@')
    const refused = await probeUrl(withPassword, {...fast, deadlineMs: inSeconds(1.5)})
    expect(refused.ok).toBe(false)
    if (!refused.ok) expect(refused.reason).toContain('http://mon:***@127.0.0.1:')
    const port = await closedPort()
    const unreachable = await probeUrl(`http://mon:S3cret-probe@127.0.0.1:${port}/`, {...fast, deadlineMs: inSeconds(1)})
    const invalid = await probeUrl('ftp://mon:S3cret-probe@host/', {...fast, deadlineMs: inSeconds(1)})
    for (const result of [refused, unreachable, invalid]) {
      expect(result.ok).toBe(false)
      if (!result.ok) expect(result.reason).not.toContain('S3cret-probe')
    }
  })
})
