import {createHash} from 'node:crypto'
import {open, readFile, rm, stat} from 'node:fs/promises'
import {join, resolve} from 'node:path'
import {backupAuthor} from '../backup/who.js'
import {ensurePrivateDirs, FILE_MODE} from '../backup/durable-fs.js'
import type {Redactor} from '../secrets/redact.js'
import {type HistoryEntry, type HistoryLine, safeFlags} from './history-entry.js'

/**
 * The audit trail: `<backup-dir>/<stack>/history.jsonl`, append-only, one JSON object per line. Each line carries
 * `prev`, the sha256 of the previous line's text (null on the first line), and ends with `sha256`, the sha256 of its
 * own text up to that field; so an edited, removed or inserted line is found by `verifyHistory`. (Removing lines at
 * the end leaves a shorter, valid chain: keep a copy of the file elsewhere when that matters.)
 */
export const HISTORY_FILE = 'history.jsonl'

const LOCK_SUFFIX = '.lock'
const LOCK_WAIT_MS = 10_000
const LOCK_STALE_MS = 30_000
const LOCK_POLL_MS = 25
const TAIL_CHUNK_BYTES = 64 * 1024
const SELF_HASH = /,"sha256":"([0-9a-f]{64})"\}$/

export function historyPath(backupDir: string, stack: string): string {
  return join(resolve(backupDir), stack, HISTORY_FILE)
}

export function sha256Hex(text: string): string {
  return createHash('sha256').update(text, 'utf8').digest('hex')
}

/** The text of a line for an entry (pure): the entry's JSON with `prev`, then its own sha256 as the last field. */
export function formatHistoryLine(entry: HistoryEntry, prev: string | null): string {
  const body = JSON.stringify({...entry, prev})
  return `${body.slice(0, -1)},"sha256":"${sha256Hex(body)}"}`
}

/** What appendHistory needs: the entry without time/who (filled in when absent), plus where and how to redact. */
export type AppendHistoryInput = Omit<HistoryEntry, 'time' | 'who'> &
  Partial<Pick<HistoryEntry, 'time' | 'who'>> & {
    backupDir: string
    /** Applied to the whole entry before it is written; secret-named flags are *** whether or not one is given. */
    redactor?: Redactor
  }

/**
 * Append one run to the stack's history (creating `<backup-dir>/<stack>/` 0700 and the file 0600 when needed),
 * under a short lock file so that concurrent runs (a deploy and a `backup create`) keep the chain intact.
 * Throws on I/O errors: callers report a failed append as a warning, never as the run's outcome.
 */
export async function appendHistory(input: AppendHistoryInput): Promise<{path: string; sha256: string}> {
  const {backupDir, redactor, ...rest} = input
  const entry: HistoryEntry = {
    ...rest,
    time: rest.time ?? new Date().toISOString(),
    who: rest.who ?? backupAuthor(),
    ...(rest.flags ? {flags: safeFlags(rest.flags)} : {}),
  }
  const safe = redactor ? redactor.redactValue(entry) : entry
  const path = historyPath(backupDir, input.stack)
  await ensurePrivateDirs(join(resolve(backupDir), input.stack))
  return withFileLock(`${path}${LOCK_SUFFIX}`, async () => {
    const {lastLine, endsWithNewline} = await readLastLine(path)
    const line = formatHistoryLine(ordered(safe), lastLine === undefined ? null : sha256Hex(lastLine))
    const handle = await open(path, 'a', FILE_MODE)
    try {
      await handle.writeFile(`${endsWithNewline ? '' : '\n'}${line}\n`, 'utf8')
      await handle.sync()
    } finally {
      await handle.close()
    }
    return {path, sha256: SELF_HASH.exec(line)![1]!}
  })
}

/** Keys in a stable, readable order (time first), whatever order the caller built the entry in. */
function ordered(entry: HistoryEntry): HistoryEntry {
  const {time, startedAt, stack, command, who, outcome, exitCode, ...rest} = entry
  return {time, ...(startedAt ? {startedAt} : {}), stack, command, who, outcome, exitCode, ...rest}
}

export interface HistoryRecord {
  /** 1-based line number in the file. */
  line: number
  entry: HistoryLine
}

/** The readable lines of a history file, oldest first (an absent file is an empty history). */
export async function readHistory(path: string): Promise<{records: HistoryRecord[]; unreadableLines: number[]; exists: boolean}> {
  const text = await readText(path)
  if (text === undefined) return {records: [], unreadableLines: [], exists: false}
  const records: HistoryRecord[] = []
  const unreadableLines: number[] = []
  splitLines(text).forEach((raw, index) => {
    if (!raw) return
    try {
      const parsed: unknown = JSON.parse(raw)
      if (parsed && typeof parsed === 'object' && !Array.isArray(parsed)) records.push({line: index + 1, entry: parsed as HistoryLine})
      else unreadableLines.push(index + 1)
    } catch {
      unreadableLines.push(index + 1)
    }
  })
  return {records, unreadableLines, exists: true}
}

export interface HistoryProblem {
  /** 1-based line number. */
  line: number
  problem: string
}

export interface HistoryVerification {
  path: string
  lines: number
  ok: boolean
  problems: HistoryProblem[]
}

/** Check every line's own sha256 and the chain of `prev` hashes (pure over the file's text). */
export function verifyHistoryText(text: string): {lines: number; problems: HistoryProblem[]} {
  const lines = splitLines(text)
  const problems: HistoryProblem[] = []
  lines.forEach((raw, index) => {
    const line = index + 1
    if (!raw) {
      problems.push({line, problem: 'empty line (a line was removed or the file was edited)'})
      return
    }
    let parsed: {prev?: unknown} | undefined
    try {
      parsed = JSON.parse(raw) as {prev?: unknown}
    } catch {
      problems.push({line, problem: 'not valid JSON (the line was edited or cut short)'})
      return
    }
    const self = SELF_HASH.exec(raw)
    if (!self) {
      problems.push({line, problem: 'has no sha256 as its last field (not written by clinical, or edited)'})
    } else if (sha256Hex(`${raw.slice(0, self.index)}}`) !== self[1]) {
      problems.push({line, problem: 'its content does not match its sha256 (the line was edited)'})
    }
    const expected = index === 0 ? null : sha256Hex(lines[index - 1]!)
    if (parsed?.prev !== expected) {
      problems.push({
        line,
        problem:
          index === 0
            ? 'prev is not null on the first line (lines before it were removed)'
            : `prev does not match the sha256 of line ${line - 1} (line ${line - 1} was edited, or lines were removed or inserted between them)`,
      })
    }
  })
  return {lines: lines.length, problems}
}

/** Verify a history file; an absent file throws ENOENT (the caller says which stack has no history). */
export async function verifyHistory(path: string): Promise<HistoryVerification> {
  const text = await readFile(path, 'utf8')
  const {lines, problems} = verifyHistoryText(text)
  return {path, lines, ok: problems.length === 0, problems}
}

/** Lines of the file without the final newline's empty remainder. */
function splitLines(text: string): string[] {
  const lines = text.split('\n')
  if (lines.at(-1) === '') lines.pop()
  return lines
}

async function readText(path: string): Promise<string | undefined> {
  try {
    return await readFile(path, 'utf8')
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return undefined
    throw error
  }
}

/** The last line of a file (reading backwards in chunks; bounded by the file size), and whether the file ends in \n. */
async function readLastLine(path: string): Promise<{lastLine?: string; endsWithNewline: boolean}> {
  let handle
  try {
    handle = await open(path, 'r')
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return {endsWithNewline: true}
    throw error
  }
  try {
    const {size} = await handle.stat()
    if (size === 0) return {endsWithNewline: true}
    let start = size
    let tail = Buffer.alloc(0)
    for (;;) {
      const length = Math.min(TAIL_CHUNK_BYTES, start)
      start -= length
      const chunk = Buffer.alloc(length)
      await handle.read(chunk, 0, length, start)
      tail = Buffer.concat([chunk, tail])
      const endsWithNewline = tail[tail.length - 1] === 0x0a
      const body = endsWithNewline ? tail.subarray(0, -1) : tail
      const newline = body.lastIndexOf(0x0a)
      if (newline >= 0 || start === 0) return {lastLine: body.subarray(newline + 1).toString('utf8'), endsWithNewline}
    }
  } finally {
    await handle.close()
  }
}

/** Run `fn` holding `<lockPath>` (created exclusively); a lock older than LOCK_STALE_MS is taken over. */
async function withFileLock<T>(lockPath: string, fn: () => Promise<T>): Promise<T> {
  const deadlineMs = Date.now() + LOCK_WAIT_MS
  for (;;) {
    try {
      const handle = await open(lockPath, 'wx', FILE_MODE)
      await handle.writeFile(`${process.pid}\n`)
      await handle.close()
      break
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'EEXIST') throw error
      const age = await stat(lockPath).then(
        (info) => Date.now() - info.mtimeMs,
        () => 0,
      )
      if (age > LOCK_STALE_MS) {
        await rm(lockPath, {force: true})
        continue
      }
      if (Date.now() > deadlineMs) {
        throw new Error(`${lockPath} is held by another clinical process for more than ${LOCK_WAIT_MS / 1000}s; remove it if no clinical runs`)
      }
      await new Promise((done) => setTimeout(done, LOCK_POLL_MS))
    }
  }
  try {
    return await fn()
  } finally {
    await rm(lockPath, {force: true})
  }
}
