import {mkdir, readFile, rename, rm} from 'node:fs/promises'
import {join} from 'node:path'
import {isBackupId} from './backup-id.js'
import {DIR_MODE, syncDir, writeFileDurable} from './durable-fs.js'
import type {VerifyProblem} from './verify-backup.js'

/**
 * The last verification of each backup, kept beside the backups (`<backup-dir>/<stack>/.verified/<id>.json`),
 * never inside a backup: a backup's directory holds only what its manifest lists. `clinical backup list` shows it.
 */
export const VERIFIED_DIR = '.verified'

export interface VerifyRecord {
  id: string
  /** ISO 8601. */
  verifiedAt: string
  ok: boolean
  problems: VerifyProblem[]
}

function recordPath(stackDir: string, id: string): string {
  if (!isBackupId(id)) throw new Error(`${JSON.stringify(id)} is not a backup id`)
  return join(stackDir, VERIFIED_DIR, `${id}.json`)
}

/** Record a verification result (written to a temporary file, fsynced, renamed over the old record). */
export async function writeVerifyRecord(stackDir: string, record: VerifyRecord): Promise<void> {
  const dir = join(stackDir, VERIFIED_DIR)
  await mkdir(dir, {recursive: true, mode: DIR_MODE})
  const path = recordPath(stackDir, record.id)
  const temporary = `${path}.${process.pid}.tmp`
  await rm(temporary, {force: true})
  await writeFileDurable(temporary, `${JSON.stringify(record, null, 2)}\n`)
  await rename(temporary, path)
  await syncDir(dir)
}

/** The last recorded verification of a backup, or undefined when it was never verified (or the record is unreadable). */
export async function readVerifyRecord(stackDir: string, id: string): Promise<VerifyRecord | undefined> {
  try {
    const record = JSON.parse(await readFile(recordPath(stackDir, id), 'utf8')) as VerifyRecord
    return record?.id === id && typeof record.ok === 'boolean' && typeof record.verifiedAt === 'string' ? record : undefined
  } catch {
    return undefined
  }
}

export async function removeVerifyRecord(stackDir: string, id: string): Promise<void> {
  await rm(recordPath(stackDir, id), {force: true})
}
