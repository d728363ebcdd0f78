import {stat} from 'node:fs/promises'
import {join} from 'node:path'
import {acquireStackLock} from '../deploy/lock.js'
import {freeBytesAt} from '../deploy/preflight.js'
import type {DockerClient} from '../docker/client.js'
import {stackFilter} from '../docker/stack.js'
import {ClinicalError, RefusedError} from '../errors.js'
import {ExitCode} from '../exit-codes.js'
import {DEPLOY_DEFAULTS} from '../config/deploy-options.js'
import {formatBytes, parseSizeBytes} from '../config/parse-units.js'
import type {Redactor} from '../secrets/redact.js'
import {listBackups} from './backup-store.js'
import {createBackup} from './create-backup.js'
import {estimateBackupBytes, estimateVolumeBytes} from './estimate.js'
import {MANIFEST_FILE, readManifest} from './manifest.js'
import {removeBackupDir} from './remove-backup.js'
import {type RetentionPlan, applyRetention} from './retention.js'
import {selectVolumes} from './stack-volumes.js'
import {BackupLeftBehindError} from './write-backup.js'
import type {ProbeSettings} from './types.js'
import {type VerifyProblem, verifyBackup} from './verify-backup.js'
import {writeVerifyRecord} from './verify-record.js'

export interface TakeBackupOptions {
  stack: string
  backupDir: string
  configDir?: string
  configDirRequired: boolean
  backupVolumes: boolean
  extraVolumes: readonly string[]
  /** Probe settings to record; default: those of the stack's newest backup (what its last deploy used). */
  probes?: ProbeSettings
  appVersion?: string
  /** `--keep N`: apply retention after the backup (see retention.ts for what is never removed). */
  keep?: number
  /** `--min-free-disk`: free space the backup must leave on the backup dir's filesystem (default DEPLOY_DEFAULTS.minFreeDisk). */
  minFreeDiskBytes?: number
  signal?: AbortSignal
  report?: (line: string) => void
  /** What went wrong without failing the backup (a helper container left behind); default: a `warning:` report line. */
  onWarning?: (message: string) => void
  redactor?: Redactor
  env?: NodeJS.ProcessEnv
}

export interface TakeBackupResult {
  stack: string
  id: string
  dir: string
  createdAt: string
  services: string[]
  volumes: Array<{name: string; entries: number; sizeBytes: number}>
  sizeBytes: number
  verified: boolean
  problems: VerifyProblem[]
  /** The backup did not verify and was removed (manifest first), so that nothing looks complete. */
  removed?: boolean
  notes: string[]
  retention?: {kept: RetentionPlan['keep']; removed: string[]; removedBytes: number}
}

const NO_PROBES: ProbeSettings = {healthUrls: [], appProbe: 'off'}

/**
 * `clinical backup create`: the deploy's backup phase on its own, under the stack's lock (a deploy or rollback
 * running meanwhile is refused with exit 3, not interleaved). Refuses with exit 2 when the disk cannot hold the
 * estimate plus `--min-free-disk`; the new backup is verified (re-read from disk) and the result recorded; then
 * `--keep` retention. A backup that fails verification, or whose verification could not run, is removed (manifest
 * first). Nothing in the stack changes, so every failure is exit 2, except a held lock (3) and an interrupt (130).
 */
export async function takeBackup(docker: DockerClient, options: TakeBackupOptions): Promise<TakeBackupResult> {
  const report = options.report ?? (() => undefined)
  const {signal} = options
  if (options.keep !== undefined && (!Number.isInteger(options.keep) || options.keep < 1)) {
    throw new RefusedError(`--keep ${options.keep}: give a whole number of backups to keep, at least 1`)
  }
  const minFreeBytes = options.minFreeDiskBytes ?? parseSizeBytes(DEPLOY_DEFAULTS.minFreeDisk, '--min-free-disk')
  /** The backup written by this run: until it verified, a failure removes it (nothing looks complete). */
  let written: {id: string; dir: string; verified: boolean} | undefined
  try {
    const services = await docker.listServices({filters: stackFilter(options.stack), signal})
    let volumeBytes = 0
    if (options.backupVolumes) {
      const selection = await selectVolumes(docker, {stack: options.stack, services, extraVolumes: options.extraVolumes, signal})
      volumeBytes = (await estimateVolumeBytes(docker, selection.volumes.map((volume) => volume.Name), signal)).bytes
    }
    const estimate = await estimateBackupBytes({configDir: options.configDir, serviceCount: services.length, volumeBytes})
    const free = await freeBytesAt(options.backupDir)
    // the backup must fit and still leave --min-free-disk free, as in a deploy's preflight
    const needed = estimate + minFreeBytes
    if (free < needed) {
      throw new RefusedError(
        `not enough free disk for ${options.backupDir}: ${formatBytes(free)} free, ${formatBytes(needed)} needed (backup estimate ${formatBytes(estimate)} + --min-free-disk ${formatBytes(minFreeBytes)})`,
      )
    }
    const probes = options.probes ?? (await newestProbes(options.backupDir, options.stack))

    const lock = await acquireStackLock(docker, {stack: options.stack, command: 'clinical backup create', signal})
    try {
      const backup = await createBackup(docker, {
        stack: options.stack,
        backupDir: options.backupDir,
        configDir: options.configDir,
        configDirRequired: options.configDirRequired,
        appVersion: options.appVersion,
        probes: probes ?? NO_PROBES,
        backupVolumes: options.backupVolumes,
        extraVolumes: options.extraVolumes,
        takenBy: 'clinical backup create',
        onProgress: report,
        onWarning: options.onWarning ?? ((message) => report(`warning: ${message}`)),
        signal,
        env: options.env,
        redactor: options.redactor,
      })
      written = {id: backup.id, dir: backup.dir, verified: false}
      report(`backup ${backup.id}: ${backup.services.length} service spec(s), ${backup.manifest.volumes.length} volume archive(s) in ${backup.dir}`)
      const verified = await verifyBackup(backup.dir)
      const stackDir = join(options.backupDir, options.stack)
      const {manifest} = backup
      const result: TakeBackupResult = {
        stack: options.stack,
        id: backup.id,
        dir: backup.dir,
        createdAt: manifest.createdAt,
        services: manifest.services,
        volumes: manifest.volumes.map((volume) => ({
          name: volume.name,
          entries: volume.entries,
          sizeBytes: manifest.files.find((file) => file.path === volume.file)?.size ?? 0,
        })),
        // as clinical backup list counts it: the files and the manifest
        sizeBytes: manifest.files.reduce((sum, file) => sum + file.size, (await stat(join(backup.dir, MANIFEST_FILE))).size),
        verified: verified.ok,
        problems: verified.problems,
        notes: probes ? manifest.notes : [...manifest.notes, 'no probe settings recorded (no earlier backup, no --health-url): a rollback to it only waits for convergence unless given --health-url'],
      }
      if (!verified.ok) {
        written = undefined // removed here, or named as left behind by the error
        await removeUnverified(backup.dir, verified.problems)
        return {...result, removed: true}
      }
      await writeVerifyRecord(stackDir, {id: backup.id, verifiedAt: new Date().toISOString(), ok: true, problems: []})
      written.verified = true
      if (options.keep !== undefined) {
        const retention = await applyRetention(options.backupDir, options.stack, options.keep, {knownGoodId: backup.id})
        result.retention = {kept: retention.keep, removed: retention.remove, removedBytes: retention.removedBytes}
        if (retention.remove.length > 0) report(`retention --keep ${options.keep}: removed ${retention.remove.join(', ')}`)
      }
      return result
    } finally {
      await lock.release()
    }
  } catch (error) {
    if (written && !written.verified) {
      const dir = written.dir
      const removal = await removeBackupDir(dir).then(
        () => `backup ${written!.id} was not verified and was removed (its manifest first)`,
        (removeError: Error) => `backup ${written!.id} was not verified and could not be removed (${removeError.message}): remove it (rm -r ${dir})`,
      )
      written = undefined
      throw asBackupFailure(error, signal, removal)
    }
    throw asBackupFailure(error, signal, written ? `backup ${written.id} in ${written.dir} was written and verified` : undefined)
  }
}

/** Remove a backup that does not verify, manifest first; when that fails too, say what is left and the problems. */
async function removeUnverified(dir: string, problems: readonly VerifyProblem[]): Promise<void> {
  try {
    await removeBackupDir(dir)
  } catch (error) {
    const listed = problems.map((problem) => `${problem.path}: ${problem.problem}`).join('; ')
    throw new RefusedError(
      `backup ${dir} does not verify (${listed}) and could not be removed (${(error as Error).message}); it may look complete: remove it (rm -r ${dir})`,
      {cause: error},
    )
  }
}

/** The probe settings of the stack's newest backup, or undefined when it has none. */
async function newestProbes(backupDir: string, stack: string): Promise<ProbeSettings | undefined> {
  const [newest] = await listBackups(backupDir, stack)
  if (!newest) return undefined
  return (await readManifest(newest.dir)).manifest.probes
}

/**
 * Nothing in the stack changed: every failure of a backup is "refused" (2), except a held lock (3) and Ctrl-C (130).
 * `written` says what became of a backup this run had already written (renamed to `<id>/`); without it none was.
 */
function asBackupFailure(error: unknown, signal?: AbortSignal, written?: string): unknown {
  if (signal?.aborted) {
    if (written) return new ClinicalError(`interrupted: ${written}`, ExitCode.Interrupted)
    // only before the rename is nothing complete-looking left; a backup dir whose removal failed is named
    if (error instanceof BackupLeftBehindError) return new ClinicalError(`interrupted: ${error.message}`, ExitCode.Interrupted, {cause: error})
    return new ClinicalError('interrupted: the backup was not completed (nothing was written that looks complete)', ExitCode.Interrupted)
  }
  const suffix = written ? `; ${written}` : ''
  if (error instanceof ClinicalError && (error.exitCode === ExitCode.Refused || error.exitCode === ExitCode.Locked)) {
    return suffix ? new ClinicalError(`${error.message}${suffix}`, error.exitCode, {cause: error}) : error
  }
  const message = error instanceof Error ? error.message : String(error)
  return new RefusedError(`backup failed: ${message}${suffix}; nothing in the stack was changed`, {cause: error})
}
