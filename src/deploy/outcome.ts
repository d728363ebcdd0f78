import {exitCodeOf} from '../errors.js'
import {ExitCode} from '../exit-codes.js'
import type {ServiceFailure} from './converge.js'
import type {PhaseRecord} from './plan.js'
import type {RollbackState} from './rollback-phase.js'

export type Outcome = 'success' | 'refused' | 'locked' | 'rolled-back' | 'rollback-failed' | 'not-rolled-back' | 'interrupted'

export interface RunOutcome {
  outcome: Outcome
  exitCode: ExitCode
  /** One line: what failed and what to do next. */
  message: string
}

/** What every deploy and rollback result holds (DeployResult and RollbackResult extend it). */
export interface RunResult extends RunOutcome {
  command: string
  stack: string
  backupId?: string
  phases: PhaseRecord[]
  failingServices: ServiceFailure[]
  warnings: string[]
  /** Seconds from the first failed task of the new spec to the start of the rollback. */
  detectionToRollbackSeconds?: number
}

/**
 * The outcome of a deploy, and its exit code from the one table (pure; DESIGN.md §2):
 * nothing changed → the failure's own code (2 refused, 3 locked); changed and rolled back healthy → 1 (130 when
 * interrupted); rollback failed or disabled → 4.
 */
export function decideOutcome(input: {
  failure?: {phase: string; error: unknown}
  changed: boolean
  interrupted: boolean
  rollback?: RollbackState
  rollbackDisabled: boolean
}): RunOutcome {
  const {failure} = input
  if (!failure) return {outcome: 'success', exitCode: ExitCode.Success, message: 'deployed: every service converged and every probe passed'}
  const reason = messageOf(failure.error)
  if (!input.changed && input.interrupted) {
    return {outcome: 'interrupted', exitCode: ExitCode.Interrupted, message: `interrupted during ${failure.phase}, before any change; nothing was changed`}
  }
  if (!input.changed) {
    const code = exitCodeOf(failure.error)
    if (code === ExitCode.Locked) return {outcome: 'locked', exitCode: ExitCode.Locked, message: reason}
    return {outcome: 'refused', exitCode: ExitCode.Refused, message: `${failure.phase}: ${reason}; nothing was changed`}
  }
  if (input.rollbackDisabled) {
    return {
      outcome: 'not-rolled-back',
      exitCode: ExitCode.NeedsPerson,
      message: `${failure.phase} failed: ${reason}. Rollback is disabled (--no-rollback): the stack needs a person; run clinical rollback to restore the backup`,
    }
  }
  if (!input.rollback?.ok) {
    const why = input.rollback?.error ?? 'the rollback did not run'
    return {
      outcome: 'rollback-failed',
      exitCode: ExitCode.NeedsPerson,
      message: `${failure.phase} failed: ${reason}. The rollback failed too: ${why}. The stack needs a person now: check clinical status`,
    }
  }
  if (input.interrupted) {
    return {outcome: 'interrupted', exitCode: ExitCode.Interrupted, message: `interrupted during ${failure.phase}; rolled back to the previous specs`}
  }
  return {
    outcome: 'rolled-back',
    exitCode: ExitCode.RolledBack,
    message: `${failure.phase} failed: ${reason}. Rolled back: the stack runs the previous specs and is healthy`,
  }
}

function messageOf(error: unknown): string {
  return error instanceof Error ? error.message : String(error)
}
