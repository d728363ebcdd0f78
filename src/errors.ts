import {ExitCode} from './exit-codes.js'

/**
 * An error the user can act on. `message` is one line that says what failed and what to do next;
 * `exitCode` comes from the one table in exit-codes.ts.
 */
export class ClinicalError extends Error {
  override readonly name: string = 'ClinicalError'
  constructor(
    message: string,
    readonly exitCode: ExitCode,
    options?: {cause?: unknown},
  ) {
    super(message, options)
  }
}

/** Refused before any change (exit 2): bad input, failed preflight, Docker unreachable, unknown backup. */
export class RefusedError extends ClinicalError {
  override readonly name: string = 'RefusedError'
  constructor(message: string, options?: {cause?: unknown}) {
    super(message, ExitCode.Refused, options)
  }
}

/** Another run holds the stack's lock (exit 3). */
export class LockedError extends ClinicalError {
  override readonly name: string = 'LockedError'
  constructor(message: string, options?: {cause?: unknown}) {
    super(message, ExitCode.Locked, options)
  }
}

/** The exit code for any thrown value: typed errors carry theirs; anything unexpected needs a person. */
export function exitCodeOf(error: unknown): ExitCode {
  return error instanceof ClinicalError ? error.exitCode : ExitCode.NeedsPerson
}
