import {REDACTED, SECRET_NAME_PATTERN} from '../secrets/redact.js'
import {withoutUrlPasswords} from '../secrets/url-secrets.js'

/**
 * One run in the audit trail (`<backup-dir>/<stack>/history.jsonl`, DESIGN.md §2): who ran what, with which flags
 * (never a secret value), what it did and how it ended.
 */
export interface HistoryEntry {
  /** ISO 8601: when the line was written (the end of the run). */
  time: string
  /** ISO 8601: when the run started, when known. */
  startedAt?: string
  stack: string
  /** `deploy`, `rollback`, `unlock`, `backup create`, ... */
  command: string
  who: {user: string; host: string; ciRunUrl?: string}
  /** The version of clinical that wrote the line. */
  clinicalVersion?: string
  /** The command's flags; secret-named flags as ***, secret values redacted, URL passwords removed. */
  flags?: Record<string, unknown>
  appVersion?: string
  /** Service name → image (with its digest when Docker resolved one), read from the stack after the run. */
  images?: Record<string, string>
  backupId?: string
  outcome: string
  exitCode: number
  /** One line: what happened (the run's own message). */
  message?: string
  durationMs?: number
  phases?: Array<{id: string; status: string; durationMs: number; error?: string}>
  /** Anything else a command wants on record (e.g. the lock holder `clinical unlock` removed). */
  details?: Record<string, unknown>
}

/** A line of history.jsonl: the entry, the sha256 of the previous line (null on the first), and its own sha256. */
export type HistoryLine = HistoryEntry & {prev: string | null; sha256: string}

/**
 * Flags as they may be written down (pure): a flag whose name looks secret (PASSWORD, SECRET, TOKEN, KEY, WEBHOOK,
 * CREDENTIAL: e.g. --slack-webhook-url) becomes ***, and `user:password@` in URL values loses its password.
 * Secret values elsewhere are the redactor's job (appendHistory applies it to the whole entry).
 */
export function safeFlags(flags: Record<string, unknown>): Record<string, unknown> {
  const out: Record<string, unknown> = {}
  for (const [name, value] of Object.entries(flags)) {
    if (value === undefined) continue
    out[name] = SECRET_NAME_PATTERN.test(name.replace(/-/g, '_')) ? REDACTED : flagWithoutUrlPasswords(value)
  }
  return out
}

/** A flag value with the password of each URL in it replaced (WHATWG URL parsing: `p@ss` in `admin:p@ss@host` too). */
function flagWithoutUrlPasswords(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(flagWithoutUrlPasswords)
  return typeof value === 'string' ? withoutUrlPasswords(value) : value
}
