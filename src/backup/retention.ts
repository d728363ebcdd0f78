import {join} from 'node:path'
import {type BackupSummary, listBackups} from './backup-store.js'
import {removeBackupDir} from './remove-backup.js'
import type {BackupTrigger} from './types.js'
import {verifyBackup} from './verify-backup.js'
import {removeVerifyRecord, writeVerifyRecord} from './verify-record.js'

export type KeepReason = 'newest' | 'newest good' | 'rollback'

export interface RetentionPlan {
  keep: Array<{id: string; reasons: KeepReason[]}>
  remove: string[]
}

/**
 * Which backups `--keep N` keeps (pure). `backups` are newest first. Kept:
 * - the newest N;
 * - the newest good backup (`newestGoodId`: the newest that passes verification), even beyond N;
 * - the backup a rollback needs: the newest taken by `clinical deploy` (it holds the stack as it was before the
 *   last deploy, which `clinical rollback` puts back). Backups written before `takenBy` existed were all taken by
 *   deploys. Backups taken by `clinical backup create` after it are kept only as the newest N.
 * A deploy or rollback in progress holds the stack's lock, which `backup create` takes too: retention never runs
 * while a deploy's own backup is in use.
 */
export function planRetention(
  backups: ReadonlyArray<{id: string; takenBy?: BackupTrigger}>,
  keepCount: number,
  newestGoodId: string | undefined,
): RetentionPlan {
  if (!Number.isInteger(keepCount) || keepCount < 1) throw new Error(`--keep must be a whole number ≥ 1 (got ${keepCount})`)
  const rollbackId = backups.find((backup) => (backup.takenBy ?? 'clinical deploy') === 'clinical deploy')?.id
  const plan: RetentionPlan = {keep: [], remove: []}
  backups.forEach((backup, index) => {
    const reasons: KeepReason[] = []
    if (index < keepCount) reasons.push('newest')
    if (backup.id === newestGoodId) reasons.push('newest good')
    if (backup.id === rollbackId) reasons.push('rollback')
    if (reasons.length > 0) plan.keep.push({id: backup.id, reasons})
    else plan.remove.push(backup.id)
  })
  return plan
}

/**
 * Apply `--keep N` to the complete backups of a stack (partial directories are left alone). Backups are verified
 * newest first until one passes, to know the newest good one (each result is recorded). A removed backup first
 * loses its manifest (from then on it is not a backup), then its directory.
 */
export async function applyRetention(
  backupDir: string,
  stack: string,
  keepCount: number,
  options: {knownGoodId?: string} = {},
): Promise<RetentionPlan & {removedBytes: number}> {
  const backups = await listBackups(backupDir, stack)
  const stackDir = join(backupDir, stack)
  let newestGoodId: string | undefined
  for (const backup of backups) {
    if (backup.id === options.knownGoodId) {
      newestGoodId = backup.id
      break
    }
    const result = await verifyBackup(backup.dir)
    await writeVerifyRecord(stackDir, {id: backup.id, verifiedAt: new Date().toISOString(), ok: result.ok, problems: result.problems})
    if (result.ok) {
      newestGoodId = backup.id
      break
    }
  }
  const plan = planRetention(backups, keepCount, newestGoodId)
  let removedBytes = 0
  const byId = new Map<string, BackupSummary>(backups.map((backup) => [backup.id, backup]))
  for (const id of plan.remove) {
    const backup = byId.get(id)!
    await removeBackupDir(backup.dir)
    await removeVerifyRecord(stackDir, id)
    removedBytes += backup.sizeBytes
  }
  return {...plan, removedBytes}
}
