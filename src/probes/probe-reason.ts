/** One-line texts of probe outcomes: what an attempt's error was, and why a probe gave up. */
import {withoutUrlPassword} from '../secrets/url-secrets.js'

/** `850ms`, `4.2s`, `60s`, `2m30s`. */
export function formatProbeDuration(ms: number): string {
  const rounded = Math.max(0, Math.round(ms))
  if (rounded < 1000) return `${rounded}ms`
  if (rounded < 10_000) return `${(rounded / 1000).toFixed(1)}s`
  const seconds = Math.round(rounded / 1000)
  if (seconds < 120) return `${seconds}s`
  const rest = seconds % 60
  return `${Math.floor(seconds / 60)}m${rest ? `${rest}s` : ''}`
}

/** One line for an error of one attempt (`connect ECONNREFUSED 127.0.0.1:1`, `no answer within 5000ms`). */
export function describeAttemptError(error: unknown, timeoutMs: number): string {
  if (error instanceof Error || (typeof error === 'object' && error !== null && 'message' in error)) {
    const {name, message, code} = error as {name?: string; message?: string; code?: unknown}
    if (name === 'TimeoutError') return `no answer within ${Math.round(timeoutMs)}ms`
    const text = firstLine(message ?? '') || (name ?? 'error')
    return typeof code === 'string' && !text.includes(code) ? `${text} (${code})` : text
  }
  return firstLine(String(error))
}

function firstLine(text: string): string {
  return text.split('\n', 1)[0]?.trim() ?? ''
}

export interface ProbeFailureFacts {
  url: string
  attempts: number
  durationMs: number
  /** What the last attempt got: an accepted or refused status, or an error. */
  last?: {status: number; accepted: boolean} | {error: string}
  /** The last non-accepted status of any attempt. */
  lastRefusedStatus?: number
  consecutive: number
  successesNeeded: number
}

/**
 * Why a probe gave up at its deadline, in one line that names the URL (without its password) and the last status
 * or error.
 */
export function probeFailureReason(facts: ProbeFailureFacts): string {
  const {attempts, durationMs, last} = facts
  const url = withoutUrlPassword(facts.url)
  if (attempts === 0 || !last) return `${url}: the deadline passed before the first attempt`
  const tally = attempts === 1 ? `1 attempt in ${formatProbeDuration(durationMs)}` : `last of ${attempts} attempts in ${formatProbeDuration(durationMs)}`
  if ('error' in last) {
    const earlier = facts.lastRefusedStatus === undefined ? '' : `; before that it answered HTTP ${facts.lastRefusedStatus}`
    return `${url}: ${last.error} (${tally}${earlier})`
  }
  if (last.accepted) {
    return `${url} answered HTTP ${last.status} only ${facts.consecutive} of ${facts.successesNeeded} times in a row before the deadline (${attempts} attempts in ${formatProbeDuration(durationMs)})`
  }
  return `${url} answered HTTP ${last.status} (${tally})`
}
