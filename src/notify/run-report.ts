import type {ServiceFailure} from '../deploy/converge.js'
import type {RunOutcome} from '../deploy/outcome.js'
import type {PhaseRecord} from '../deploy/plan.js'

/** Who ran it and where: the OS user, the host, and the CI run when there is one. */
export interface RunAuthor {
  user: string
  host: string
  ciRunUrl?: string
}

/** A run as notifications, the history and the job summary see it: the result plus who, when and how long. */
export interface RunReport {
  command: string
  stack: string
  outcome: RunOutcome['outcome'] | 'error'
  exitCode: number
  message: string
  appVersion?: string
  who: RunAuthor
  /** ISO 8601. */
  startedAt: string
  durationMs: number
  phases: PhaseRecord[]
  failingServices: ServiceFailure[]
  backupId?: string
  warnings: string[]
  clinicalVersion?: string
}

/** The start of a run, for the "started" notification. */
export interface RunStart {
  command: string
  stack: string
  appVersion?: string
  who: RunAuthor
  startedAt: string
  /** e.g. "backup 20261122-031500" for `clinical rollback --to`. */
  target?: string
  clinicalVersion?: string
}

/** The failed phase that decided the outcome (the rollback phase is reported on its own). */
export function failedPhase(report: Pick<RunReport, 'phases'>): PhaseRecord | undefined {
  return report.phases.find((phase) => phase.status === 'failed' && phase.id !== 'rollback')
}

export function rollbackPhaseOf(report: Pick<RunReport, 'phases'>): PhaseRecord | undefined {
  return report.phases.find((phase) => phase.id === 'rollback' && phase.status !== 'skipped')
}

/** "1.2s", "3m 04s". */
export function formatDuration(durationMs: number): string {
  const seconds = Math.max(0, durationMs) / 1000
  if (seconds < 60) return `${seconds.toFixed(1)}s`
  const minutes = Math.floor(seconds / 60)
  return `${minutes}m ${String(Math.round(seconds - minutes * 60)).padStart(2, '0')}s`
}

/** "✔", "✖", "↓" for a phase's status. */
export function phaseMark(status: PhaseRecord['status']): string {
  return status === 'passed' ? '✔' : status === 'failed' ? '✖' : '↓'
}

/** A short heading for an outcome: what a person must know first. */
export function outcomeHeadline(report: Pick<RunReport, 'command' | 'stack' | 'outcome' | 'exitCode'>): string {
  const run = `clinical ${report.command} of ${report.stack}`
  switch (report.outcome) {
    case 'success':
      return `${run} succeeded`
    case 'rolled-back':
      return `${run} failed and was rolled back: the previous specs run, healthy (exit ${report.exitCode})`
    case 'interrupted':
      return `${run} was interrupted and rolled back (exit ${report.exitCode})`
    case 'rollback-failed':
      return `${run}: the rollback failed, the stack needs a person now (exit ${report.exitCode})`
    case 'not-rolled-back':
      return `${run} failed and was not rolled back (--no-rollback): the stack needs a person now (exit ${report.exitCode})`
    case 'refused':
      return `${run} refused: nothing was changed (exit ${report.exitCode})`
    case 'locked':
      return `${run}: the stack is locked by another run, nothing was changed (exit ${report.exitCode})`
    default:
      return `${run} stopped on an unexpected error (exit ${report.exitCode})`
  }
}
