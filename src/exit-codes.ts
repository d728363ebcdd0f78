/**
 * The one exit-code table of `clinical` (DESIGN.md §2). Every command maps its typed outcome to one of these,
 * and `--help` prints this table. Scripts depend on the numbers: never change them.
 */
export const ExitCode = {
  Success: 0,
  RolledBack: 1,
  Refused: 2,
  Locked: 3,
  NeedsPerson: 4,
  Interrupted: 130,
} as const

export type ExitCode = (typeof ExitCode)[keyof typeof ExitCode]

export const EXIT_CODE_MEANINGS: ReadonlyArray<readonly [ExitCode, string]> = [
  [ExitCode.Success, 'success'],
  [ExitCode.RolledBack, 'deploy failed and was rolled back; the stack runs the previous specs and is healthy'],
  [
    ExitCode.Refused,
    'refused before any change: bad flag, bad config, preflight failed, Docker unreachable, unknown backup',
  ],
  [ExitCode.Locked, "another deploy or rollback holds the stack's lock; nothing changed"],
  [ExitCode.NeedsPerson, 'failed and the rollback failed or was disabled: the stack needs a person now'],
  [ExitCode.Interrupted, 'interrupted (SIGINT/SIGTERM/SIGHUP) after rolling back what this run changed'],
]

/** The table as help text: one line per code. */
export function exitCodeHelp(): string {
  return EXIT_CODE_MEANINGS.map(([code, meaning]) => `  ${String(code).padStart(3)}  ${meaning}`).join('\n')
}
