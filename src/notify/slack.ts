import {Agent as HttpAgent} from 'node:http'
import {Agent as HttpsAgent} from 'node:https'
import {IncomingWebhook} from '@slack/webhook'
import type {Redactor} from '../secrets/redact.js'
import type {SlackMessage} from './slack-message.js'

export interface SlackNotifierOptions {
  /** Bound on one request (connect + answer). Default 5 s. */
  attemptTimeoutMs?: number
  /** Further attempts after a failed one that may succeed later (no answer, 5xx, 429). Default 2. */
  retries?: number
  /** Bound on all the time this notifier may spend, over every message of a run. Default 30 s. */
  budgetMs?: number
  /** Applied to every message before it is sent (the webhook URL itself is one of its secrets). */
  redactor?: Redactor
}

export type SlackSendResult = {ok: true; attempts: number} | {ok: false; attempts: number; reason: string}

const DEFAULT_ATTEMPT_TIMEOUT_MS = 5000
const DEFAULT_RETRIES = 2
const DEFAULT_BUDGET_MS = 30_000
const BACKOFF_BASE_MS = 500
const BACKOFF_MAX_MS = 4000
/** Slack answers `Retry-After` in seconds on 429; never wait longer than this for it. */
const RETRY_AFTER_MAX_MS = 10_000

/**
 * Slack incoming webhook (@slack/webhook) with bounded retries: each attempt has a timeout, retries back off with
 * jitter, and the whole notifier has a time budget, so a Slack that answers 500 or never answers delays a run by
 * at most `budgetMs`. `send` never throws: a failure comes back as a reason (already redacted) for a warning.
 * `close()` destroys the sockets of anything still in flight, so nothing keeps the process alive.
 */
export class SlackNotifier {
  private readonly agent: HttpAgent
  private readonly attemptTimeoutMs: number
  private readonly retries: number
  private spentMs = 0
  private readonly budgetMs: number

  constructor(
    private readonly url: string,
    private readonly options: SlackNotifierOptions = {},
  ) {
    this.agent = url.startsWith('https:') ? new HttpsAgent({keepAlive: false}) : new HttpAgent({keepAlive: false})
    this.attemptTimeoutMs = options.attemptTimeoutMs ?? DEFAULT_ATTEMPT_TIMEOUT_MS
    this.retries = options.retries ?? DEFAULT_RETRIES
    this.budgetMs = options.budgetMs ?? DEFAULT_BUDGET_MS
  }

  async send(message: SlackMessage): Promise<SlackSendResult> {
    const startedAtMs = Date.now()
    try {
      return await this.sendWithRetries(this.options.redactor ? this.options.redactor.redactValue(message) : message)
    } finally {
      this.spentMs += Date.now() - startedAtMs
    }
  }

  close(): void {
    this.agent.destroy()
  }

  private remainingMs(startedAtMs: number): number {
    return this.budgetMs - this.spentMs - (Date.now() - startedAtMs)
  }

  private async sendWithRetries(message: SlackMessage): Promise<SlackSendResult> {
    const startedAtMs = Date.now()
    let reason = 'not sent: the time allowed for Slack notifications in this run is used up'
    let attempts = 0
    for (let attempt = 0; attempt <= this.retries; attempt++) {
      const remaining = this.remainingMs(startedAtMs)
      if (remaining < 250) break
      attempts++
      const failure = await this.attempt(message, Math.min(this.attemptTimeoutMs, remaining))
      if (!failure) return {ok: true, attempts}
      reason = failure.reason
      if (!failure.retry || attempt === this.retries) break
      const backoff = Math.min(BACKOFF_MAX_MS, BACKOFF_BASE_MS * 2 ** attempt) * (0.5 + Math.random() / 2)
      const delay = Math.min(failure.retryAfterMs ?? backoff, this.remainingMs(startedAtMs) - 250)
      if (delay < 0) break
      await new Promise((resolve) => setTimeout(resolve, delay))
    }
    return {ok: false, attempts, reason: this.safe(`${reason}${attempts > 1 ? ` (${attempts} attempts)` : ''}`)}
  }

  /** One POST; undefined when Slack took it, else why not and whether trying again may help. */
  private async attempt(message: SlackMessage, timeoutMs: number): Promise<{reason: string; retry: boolean; retryAfterMs?: number} | undefined> {
    const webhook = new IncomingWebhook(this.url, {timeout: timeoutMs, agent: this.agent})
    let timer: NodeJS.Timeout | undefined
    // axios' timeout bounds an idle socket; this bounds the attempt whatever the server does
    const backstop = new Promise<'timeout'>((resolve) => {
      timer = setTimeout(() => resolve('timeout'), timeoutMs + 1000)
    })
    try {
      const outcome = await Promise.race([webhook.send({text: message.text, blocks: message.blocks}).then(() => 'sent' as const), backstop])
      if (outcome === 'timeout') return {reason: `no answer from Slack within ${Math.round(timeoutMs / 1000)}s`, retry: true}
      return undefined
    } catch (error) {
      return describeFailure(error, timeoutMs)
    } finally {
      clearTimeout(timer)
    }
  }

  private safe(text: string): string {
    return this.options.redactor ? this.options.redactor.redact(text) : text
  }
}

interface WebhookError {
  code?: string
  original?: {code?: string; message?: string; response?: {status?: number; data?: unknown; headers?: Record<string, unknown>}}
}

/** Why an attempt failed, in words that never quote the webhook URL (axios errors carry it in their config). */
function describeFailure(error: unknown, timeoutMs: number): {reason: string; retry: boolean; retryAfterMs?: number} {
  const {original} = (error ?? {}) as WebhookError
  const status = original?.response?.status
  if (status !== undefined) {
    const body = typeof original?.response?.data === 'string' ? original.response.data.trim().slice(0, 80) : ''
    const reason = `Slack answered HTTP ${status}${body ? ` (${body})` : ''}`
    if (status === 429) {
      const seconds = Number(original?.response?.headers?.['retry-after'])
      return {reason, retry: true, ...(Number.isFinite(seconds) ? {retryAfterMs: Math.min(RETRY_AFTER_MAX_MS, seconds * 1000)} : {})}
    }
    return {reason, retry: status >= 500}
  }
  const code = original?.code
  if (code === 'ECONNABORTED' || code === 'ETIMEDOUT') return {reason: `no answer from Slack within ${Math.round(timeoutMs / 1000)}s`, retry: true}
  if (code) return {reason: `cannot reach Slack (${code})`, retry: true}
  return {reason: 'the Slack request failed', retry: false}
}
