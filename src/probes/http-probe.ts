/**
 * HTTP health probes: GET a URL until it has answered with an accepted status (default 200–399) several times
 * in a row, or give up at the deploy's deadline.
 *
 * Anything else means "not up yet" and is retried with p-retry (exponential backoff with jitter): connection
 * refused or reset, no answer within `attemptTimeoutMs`, 5xx, 404 (Traefik answers 404 until it has found a
 * router), TLS errors. Each attempt is bounded by its own `AbortSignal.timeout`, no wait reaches past
 * `deadlineMs`, and p-retry's retry count is derived from the time left so its defaults (10 retries, no jitter,
 * no time limit) never apply. Redirects are never followed; bodies are always consumed; headers are never
 * logged. Messages show the URL without its password (`https://user:***@host/`): it is a secret.
 */
import {setTimeout as sleep} from 'node:timers/promises'
import pRetry, {AbortError} from 'p-retry'
import {request} from 'undici'
import {withoutUrlPassword} from '../secrets/url-secrets.js'
import {probeAgent} from './probe-agent.js'
import {describeAttemptError, probeFailureReason, type ProbeFailureFacts} from './probe-reason.js'

export interface ProbeOptions {
  /** Consecutive 2xx/3xx answers needed (default 3). */
  successesNeeded?: number
  /** Give up at this time (epoch ms): the deploy's overall deadline. */
  deadlineMs: number
  signal?: AbortSignal
  /** Skip TLS verification (default false: verification stays on). */
  insecure?: boolean
  /** Bound on one attempt (default 5000). */
  attemptTimeoutMs?: number
  /** Which statuses pass (default 200–399). Redirects are never followed. */
  accept?: (status: number) => boolean
  /** Delay between consecutive successes (default 500). */
  successIntervalMs?: number
  onAttempt?: (attempt: ProbeAttempt) => void
}

export interface ProbeAttempt {
  url: string
  attempt: number
  status?: number
  error?: string
  ok: boolean
}

export type ProbeResult =
  | {ok: true; url: string; attempts: number; status: number; durationMs: number}
  | {ok: false; url: string; attempts: number; status?: number; error?: string; durationMs: number; reason: string}

export const PROBE_DEFAULTS = {
  successesNeeded: 3,
  attemptTimeoutMs: 5000,
  successIntervalMs: 500,
} as const

/** Backoff between "not up yet" attempts: 250 ms, doubling, times a random 1–2, at most 4 s. */
export const PROBE_BACKOFF = {minTimeoutMs: 250, factor: 2, maxTimeoutMs: 4000} as const

/** An attempt is not started with less time than this before the deadline (it could not tell anything). */
const MIN_ATTEMPT_MS = 50
/** p-retry's last wait ends this long before the deadline (at most attemptTimeoutMs), leaving a last attempt. */
const LAST_ATTEMPT_WINDOW_MS = 250

/** The default `accept`: 2xx and 3xx (a redirect is an answer; it is not followed). */
export function acceptSuccessOrRedirect(status: number): boolean {
  return status >= 200 && status <= 399
}

/** One attempt got a non-accepted status or an error: p-retry backs off and tries again. */
class NotUpYet extends Error {}
/** The deadline came before the probe could finish (passed through p-retry inside an AbortError). */
class DeadlineReached extends Error {}
/** The caller's signal fired. */
class Aborted extends Error {}
/** An answer that cannot improve by retrying (the request itself is invalid). */
class CannotProbe extends Error {}

interface ProbeState {
  attempts: number
  consecutive: number
  last?: ProbeFailureFacts['last']
  lastRefusedStatus?: number
  lastError?: string
}

/** Probe one URL until it passes `successesNeeded` times in a row, the deadline passes, or `signal` aborts. */
export async function probeUrl(url: string, options: ProbeOptions): Promise<ProbeResult> {
  const startedMs = Date.now()
  const successesNeeded = options.successesNeeded ?? PROBE_DEFAULTS.successesNeeded
  const attemptTimeoutMs = options.attemptTimeoutMs ?? PROBE_DEFAULTS.attemptTimeoutMs
  const successIntervalMs = options.successIntervalMs ?? PROBE_DEFAULTS.successIntervalMs
  const accept = options.accept ?? acceptSuccessOrRedirect
  const {deadlineMs, signal} = options
  const state: ProbeState = {attempts: 0, consecutive: 0}

  const failed = (reason: string): ProbeResult => ({
    ok: false,
    url,
    attempts: state.attempts,
    ...(state.lastRefusedStatus === undefined ? {} : {status: state.lastRefusedStatus}),
    ...(state.lastError === undefined ? {} : {error: state.lastError}),
    durationMs: Date.now() - startedMs,
    reason,
  })

  const invalid = invalidOptions(url, {successesNeeded, attemptTimeoutMs, successIntervalMs, deadlineMs})
  if (invalid) return failed(invalid)
  if (signal?.aborted) return failed('aborted')

  const dispatcher = probeAgent(options.insecure === true)
  const report = (attempt: ProbeAttempt): void => {
    try {
      options.onAttempt?.(attempt)
    } catch {
      // a display callback never decides a probe
    }
  }

  /** One GET; returns the accepted status or throws NotUpYet / AbortError. */
  const attemptOnce = async (): Promise<number> => {
    const remainingMs = deadlineMs - Date.now()
    if (remainingMs < Math.min(MIN_ATTEMPT_MS, attemptTimeoutMs)) throw new AbortError(new DeadlineReached())
    const timeoutMs = Math.min(attemptTimeoutMs, remainingMs)
    const attemptSignal = signal ? AbortSignal.any([signal, AbortSignal.timeout(timeoutMs)]) : AbortSignal.timeout(timeoutMs)
    state.attempts += 1
    const attempt = state.attempts
    let status: number
    try {
      const response = await request(url, {
        method: 'GET',
        dispatcher,
        signal: attemptSignal,
        // a fresh connection per attempt: a kept-alive socket could still reach a task that is going away
        reset: true,
        headers: {accept: '*/*', 'user-agent': 'clinical-probe'},
      })
      status = response.statusCode
      // always consume the body (an unconsumed body holds its socket); its content does not matter
      await response.body.dump({limit: 128 * 1024, signal: attemptSignal}).catch(() => undefined)
    } catch (error) {
      if (signal?.aborted) throw new AbortError(new Aborted())
      const message = describeAttemptError(error, timeoutMs)
      state.consecutive = 0
      state.last = {error: message}
      state.lastError = message
      report({url, attempt, error: message, ok: false})
      if ((error as {code?: unknown}).code === 'UND_ERR_INVALID_ARG') throw new AbortError(new CannotProbe(message))
      throw new NotUpYet(message)
    }
    const ok = accept(status)
    state.last = {status, accepted: ok}
    report({url, attempt, status, ok})
    if (!ok) {
      state.consecutive = 0
      state.lastRefusedStatus = status
      throw new NotUpYet(`answered HTTP ${status}`)
    }
    return status
  }

  /** A run of accepted answers; the first failure ends it (p-retry starts a new run after its backoff). */
  const runOfSuccesses = async (): Promise<number> => {
    state.consecutive = 0
    for (;;) {
      const status = await attemptOnce()
      state.consecutive += 1
      if (state.consecutive >= successesNeeded) return status
      // no point in waiting when the next success could not come before the deadline
      if (Date.now() + successIntervalMs + MIN_ATTEMPT_MS > deadlineMs) throw new AbortError(new DeadlineReached())
      try {
        await sleep(successIntervalMs, undefined, signal ? {signal} : {})
      } catch {
        throw new AbortError(new Aborted())
      }
    }
  }

  const budgetMs = deadlineMs - Date.now()
  try {
    const status = await pRetry(runOfSuccesses, {
      // an upper bound only (every retry waits at least minTimeout): the deadline is what ends the retries
      retries: Math.max(0, Math.ceil(budgetMs / PROBE_BACKOFF.minTimeoutMs)) + 1,
      factor: PROBE_BACKOFF.factor,
      minTimeout: PROBE_BACKOFF.minTimeoutMs,
      maxTimeout: PROBE_BACKOFF.maxTimeoutMs,
      randomize: true,
      // p-retry shortens its last wait to end here, which leaves time for one last attempt before the deadline
      maxRetryTime: Math.max(0, budgetMs - Math.min(attemptTimeoutMs, LAST_ATTEMPT_WINDOW_MS)),
      ...(signal ? {signal} : {}),
      shouldRetry: ({error}) => error instanceof NotUpYet,
    })
    return {ok: true, url, attempts: state.attempts, status, durationMs: Date.now() - startedMs}
  } catch (error) {
    if (signal?.aborted || error instanceof Aborted) return failed('aborted')
    if (error instanceof CannotProbe) return failed(`${withoutUrlPassword(url)}: ${error.message}`)
    if (!(error instanceof NotUpYet || error instanceof DeadlineReached)) {
      // not ours: say what it was rather than guess
      return failed(`${withoutUrlPassword(url)}: probe failed: ${describeAttemptError(error, attemptTimeoutMs)}`)
    }
    return failed(
      probeFailureReason({
        url,
        attempts: state.attempts,
        durationMs: Date.now() - startedMs,
        last: state.last,
        lastRefusedStatus: state.lastRefusedStatus,
        consecutive: state.consecutive,
        successesNeeded,
      }),
    )
  }
}

/** Probe several URLs in parallel, each with the same options; results in the order of `urls`. */
export async function probeUrls(urls: readonly string[], options: ProbeOptions): Promise<ProbeResult[]> {
  return Promise.all(urls.map((url) => probeUrl(url, options)))
}

function invalidOptions(
  rawUrl: string,
  numbers: {successesNeeded: number; attemptTimeoutMs: number; successIntervalMs: number; deadlineMs: number},
): string | undefined {
  const url = withoutUrlPassword(rawUrl)
  let parsed: URL
  try {
    parsed = new URL(rawUrl)
  } catch {
    return `${url} is not a valid URL: give an absolute http:// or https:// URL`
  }
  if (parsed.protocol !== 'http:' && parsed.protocol !== 'https:') {
    return `${url} is not an http:// or https:// URL: only HTTP(S) health URLs can be probed`
  }
  if (!Number.isInteger(numbers.successesNeeded) || numbers.successesNeeded < 1) {
    return `probe of ${url}: successesNeeded must be a whole number of at least 1, not ${numbers.successesNeeded}`
  }
  for (const name of ['attemptTimeoutMs', 'successIntervalMs', 'deadlineMs'] as const) {
    const value = numbers[name]
    if (!Number.isFinite(value) || value < (name === 'attemptTimeoutMs' ? 1 : 0)) {
      return `probe of ${url}: ${name} must be a finite number${name === 'attemptTimeoutMs' ? ' above 0' : ' of at least 0'}, not ${value}`
    }
  }
  return undefined
}
