import {stat} from 'node:fs/promises'
import {join} from 'node:path'
import {RefusedError} from '../errors.js'
import {isBackupId} from './backup-id.js'
import {type BackupSummary, listBackups} from './backup-store.js'
import {type VerifyProblem, verifyBackup} from './verify-backup.js'
import {readVerifyRecord, writeVerifyRecord} from './verify-record.js'

export interface ListedBackup extends BackupSummary {
  /** The last verification, or null when the backup was never verified. */
  verified: {ok: boolean; at: string; problems: VerifyProblem[]} | null
}

/** The complete backups of a stack, newest first, each with its last verification (`verifyNow`: verify each now). */
export async function listBackupsWithStatus(backupDir: string, stack: string, options: {verifyNow?: boolean} = {}): Promise<ListedBackup[]> {
  const stackDir = join(backupDir, stack)
  const listed: ListedBackup[] = []
  for (const backup of await listBackups(backupDir, stack)) {
    if (options.verifyNow) {
      const result = await verifyBackup(backup.dir)
      await writeVerifyRecord(stackDir, {id: backup.id, verifiedAt: new Date().toISOString(), ok: result.ok, problems: result.problems})
    }
    const record = await readVerifyRecord(stackDir, backup.id)
    listed.push({...backup, verified: record ? {ok: record.ok, at: record.verifiedAt, problems: record.problems} : null})
  }
  return listed
}

/**
 * `clinical backup verify ID`: verify one backup and record the result. An id that is not a backup directory of
 * the stack is refused (exit 2) listing the backups that exist; a directory whose manifest cannot be read is a
 * failed verification naming manifest.json.
 */
export async function verifyBackupById(
  backupDir: string,
  stack: string,
  id: string,
): Promise<{id: string; dir: string; ok: boolean; problems: VerifyProblem[]}> {
  const stackDir = join(backupDir, stack)
  if (!isBackupId(id)) throw new RefusedError(`${JSON.stringify(id)} is not a backup id (YYYYMMDD-HHMMSS); clinical backup list shows them`)
  const dir = join(stackDir, id)
  const isDir = await stat(dir).then(
    (info) => info.isDirectory(),
    () => false,
  )
  if (!isDir) {
    const ids = (await listBackups(backupDir, stack)).map((backup) => backup.id)
    throw new RefusedError(
      ids.length > 0
        ? `backup ${id} not found in ${stackDir}; backups of stack ${stack}: ${ids.slice(0, 10).join(', ')}${ids.length > 10 ? ` and ${ids.length - 10} older` : ''}`
        : `backup ${id} not found: there are no backups of stack ${stack} in ${stackDir} (check --backup-dir and --stack)`,
    )
  }
  const result = await verifyBackup(dir)
  await writeVerifyRecord(stackDir, {id, verifiedAt: new Date().toISOString(), ok: result.ok, problems: result.problems}).catch(() => undefined)
  return {id, dir, ...result}
}
