import type {ProbeSettings} from '../backup/types.js'
import type {DockerClient} from '../docker/client.js'
import {ClinicalError} from '../errors.js'
import {ExitCode} from '../exit-codes.js'
import {type ProbeResult, probeUrl, probeUrls} from '../probes/http-probe.js'
import {withoutUrlPassword} from '../secrets/url-secrets.js'
import {type ConvergeResult, type ServiceFailure, waitForConvergence} from './converge.js'
import type {PhaseReporter} from './plan.js'

/** A deploy or rollback that failed after changing the stack; carries the failing services for the report. */
export class StackFailure extends ClinicalError {
  override readonly name = 'StackFailure'
  constructor(
    message: string,
    readonly failures: ServiceFailure[] = [],
    readonly converge?: ConvergeResult,
  ) {
    super(message, ExitCode.NeedsPerson)
  }
}

export interface VerifyInput {
  docker: DockerClient
  stack: string
  deadlineMs: number
  signal?: AbortSignal
  report: PhaseReporter
  stabilityWindowMs?: number
  /** See AssessOptions.toleratedTaskFailures. */
  toleratedTaskFailures?: number
  /** Prefix of the phase title while converging (the rollback shows "Roll back: converge ..."). */
  label?: string
}

/**
 * Probes get at least this long after convergence, even when converging used up most of --timeout: three
 * consecutive answers need a few seconds, and a healthy stack must not fail for want of them.
 */
export const MIN_PROBE_WINDOW_MS = 30_000

export function probeDeadlineMs(deadlineMs: number, nowMs: number = Date.now()): number {
  return Math.max(deadlineMs, nowMs + MIN_PROBE_WINDOW_MS)
}

/** Wait until every service runs its current spec, or throw StackFailure naming the failing tasks. */
export async function convergeOrThrow(input: VerifyInput): Promise<ConvergeResult & {ok: true}> {
  const label = input.label ?? 'Converge'
  const result = await waitForConvergence(input.docker, {
    stack: input.stack,
    deadlineMs: input.deadlineMs,
    signal: input.signal,
    stabilityWindowMs: input.stabilityWindowMs,
    toleratedTaskFailures: input.toleratedTaskFailures,
    onProgress: (progress) => {
      const done = progress.services.filter((service) => service.state === 'converged').length
      input.report.title(
        progress.phase === 'stabilising'
          ? `${label}: all ${progress.services.length} services on their new spec; stability window`
          : `${label}: ${done}/${progress.services.length} services on their new spec`,
      )
    },
  })
  input.report.title(`${label}: ${result.ok ? `${result.services.length} services converged and stable` : 'failed'}`)
  if (!result.ok) throw new StackFailure(result.message, result.failures, result)
  return result
}

/** Probe every health URL (3 consecutive 2xx/3xx each) until the deadline; throw StackFailure naming the failing ones. */
export async function probeHealthOrThrow(
  urls: readonly string[],
  input: Pick<VerifyInput, 'deadlineMs' | 'signal' | 'report'> & {insecure: boolean},
): Promise<ProbeResult[]> {
  if (urls.length === 0) return []
  const results = await probeUrls(urls, {deadlineMs: probeDeadlineMs(input.deadlineMs), signal: input.signal, insecure: input.insecure})
  for (const result of results) {
    input.report.output(result.ok ? `${withoutUrlPassword(result.url)}: HTTP ${result.status} (${result.attempts} attempt(s))` : result.reason)
  }
  const failed = results.filter((result) => !result.ok)
  if (failed.length > 0) {
    throw new StackFailure(`health check failed: ${failed.map((result) => (result.ok ? '' : result.reason)).join('; ')}`)
  }
  return results
}

/** The app start-up probe: 200 or 302 as the seed accepted. Returns a warning, or throws in `fail` mode. */
export async function probeAppOrThrow(
  settings: ProbeSettings,
  input: Pick<VerifyInput, 'deadlineMs' | 'signal' | 'report'> & {insecure: boolean},
): Promise<string | undefined> {
  if (settings.appProbe === 'off' || !settings.appProbeUrl) return undefined
  const result = await probeUrl(settings.appProbeUrl, {
    deadlineMs: probeDeadlineMs(input.deadlineMs),
    signal: input.signal,
    insecure: input.insecure,
    successesNeeded: 1,
    accept: (status) => status === 200 || status === 302,
  })
  if (result.ok) {
    input.report.output(`${withoutUrlPassword(result.url)}: HTTP ${result.status}`)
    return undefined
  }
  if (settings.appProbe === 'fail') throw new StackFailure(`app start-up probe failed: ${result.reason}`)
  input.report.output(`warning: app start-up probe: ${result.reason}`)
  return `app start-up probe: ${result.reason}`
}
