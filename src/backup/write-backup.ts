import {readdir, rename, rm, stat} from 'node:fs/promises'
import {join, resolve} from 'node:path'
import type {Service} from '../docker/types.js'
import {STACK_NAME_PATTERN} from '../docker/stack.js'
import {ClinicalError, RefusedError} from '../errors.js'
import {PARTIAL_SUFFIX, isBackupId, newBackupId} from './backup-id.js'
import {writeDirArchive} from './config-archive.js'
import type {CreateBackupOptions} from './create-backup.js'
import {backupWriteError, ensurePrivateDirs, isInside, makePrivateDir, syncDir, writeFileDurable} from './durable-fs.js'
import {CONFIG_ARCHIVE, MANIFEST_FILE, SERVICES_DIR, SERVICE_NAME_PATTERN, VOLUMES_DIR, serializeManifest, serviceFilePath, volumeFilePath} from './manifest.js'
import {probesForManifest} from './probe-metadata.js'
import {removeBackupDir} from './remove-backup.js'
import type {Backup, BackupManifest, ManifestFile, ManifestVolume, ServiceSnapshot} from './types.js'
import type {VolumeArchive} from './volume-archive.js'
import {backupAuthor} from './who.js'

/** A volume to archive into the backup; `archive` writes `file` (through a .partial file, fsynced, renamed). */
export interface VolumeSource {
  name: string
  driver?: string
  labels?: Record<string, string>
  archive: (file: string, signal?: AbortSignal) => Promise<VolumeArchive>
}

/** How many times a new id is tried when another process creates the same one at the same moment. */
const MAX_ID_ATTEMPTS = 5

export interface WriteBackupOptions extends CreateBackupOptions {
  /** The stack's services as the Engine API listed them. */
  services: Service[]
  /** Volumes to archive under volumes/, in this order. */
  volumeSources?: VolumeSource[]
  /** What the backup says about volumes it does not hold (skipped, on other nodes, external...). */
  volumeNotes?: string[]
}

/** A snapshot of one service: the whole spec and version as the Engine API returned them (pure). */
export function snapshotOf(service: Service): ServiceSnapshot {
  return {
    id: service.ID,
    name: service.Spec.Name,
    version: service.Version.Index,
    createdAt: service.CreatedAt,
    updatedAt: service.UpdatedAt,
    spec: service.Spec,
  }
}

/**
 * Write a backup of the given services (no Docker needed): into `<id>.partial/`, every file 0600 and fsynced,
 * the manifest last, then renamed to `<id>/` and the rename fsynced. On failure the partial directory is removed
 * (or, after the rename, `<id>/`, manifest first: nothing that looks complete is left) and a ClinicalError names
 * the file or directory at fault (an abort before the rename rethrows the signal's reason).
 */
export async function writeBackup(options: WriteBackupOptions): Promise<Backup> {
  const {signal} = options
  signal?.throwIfAborted()
  if (!STACK_NAME_PATTERN.test(options.stack)) throw new RefusedError(`stack name ${JSON.stringify(options.stack)} is not a valid stack name`)
  const snapshots = checkedSnapshots(options.services)
  const notes: string[] = []
  const configDir = await checkConfigDir(options, notes)

  const backupDir = resolve(options.backupDir)
  const stackDir = join(backupDir, options.stack)
  try {
    await ensurePrivateDirs(stackDir)
  } catch (error) {
    throw backupWriteError(error, stackDir)
  }

  const now = options.now ?? new Date()
  const {id, partialDir} = await claimPartialDir(stackDir, now)
  const dir = join(stackDir, id)
  let current = partialDir
  let renamed = false
  try {
    const files: ManifestFile[] = []
    const servicesDir = join(partialDir, SERVICES_DIR)
    current = servicesDir
    await makePrivateDir(servicesDir)
    for (const snapshot of snapshots) {
      signal?.throwIfAborted()
      const path = serviceFilePath(snapshot.name)
      current = join(partialDir, path)
      files.push({path, ...(await writeFileDurable(current, `${JSON.stringify(snapshot, null, 2)}\n`))})
    }
    current = servicesDir
    await syncDir(servicesDir)

    if (configDir) {
      current = join(partialDir, CONFIG_ARCHIVE)
      const written = await writeDirArchive({
        dir: configDir,
        file: current,
        exclude: stackDir,
        signal,
        onWarning: (message) => notes.push(`${CONFIG_ARCHIVE}: ${message}`),
      })
      files.push({path: CONFIG_ARCHIVE, ...written})
    }
    signal?.throwIfAborted()

    const volumes: ManifestVolume[] = []
    if (options.volumeSources && options.volumeSources.length > 0) {
      const volumesDir = join(partialDir, VOLUMES_DIR)
      current = volumesDir
      await makePrivateDir(volumesDir)
      for (const source of options.volumeSources) {
        signal?.throwIfAborted()
        const path = volumeFilePath(source.name)
        current = join(partialDir, path)
        const archive = await archiveOrExplain(source, current, signal)
        files.push({path, size: archive.size, sha256: archive.sha256})
        volumes.push({
          name: source.name,
          file: path,
          entries: archive.entries,
          tarBytes: archive.tarBytes,
          ...(source.driver ? {driver: source.driver} : {}),
          ...(source.labels && Object.keys(source.labels).length > 0 ? {labels: source.labels} : {}),
        })
      }
      current = volumesDir
      await syncDir(volumesDir)
    }
    notes.push(...(options.volumeNotes ?? []))
    const {probes, removedCredentials} = probesForManifest(options.probes)
    if (removedCredentials) notes.push('probe URL passwords were replaced with *** (no secret goes into a manifest); give --health-url to roll back with them')
    const metadata = {
      who: backupAuthor(options.env),
      ...(options.appVersion !== undefined ? {appVersion: options.appVersion} : {}),
      probes,
      notes,
      // labels are free text; names and paths are not redacted (a manifest must keep naming its own files)
      volumeLabels: volumes.map((volume) => volume.labels),
    }
    const safe = options.redactor ? options.redactor.redactValue(metadata) : metadata
    const manifest: BackupManifest = {
      formatVersion: 1,
      stack: options.stack,
      id,
      createdAt: now.toISOString(),
      who: safe.who,
      ...(safe.appVersion !== undefined ? {appVersion: safe.appVersion} : {}),
      services: snapshots.map((snapshot) => snapshot.name),
      volumes: volumes.map((volume, index) => {
        const labels = safe.volumeLabels[index]
        return labels ? {...volume, labels} : volume
      }),
      ...(options.takenBy ? {takenBy: options.takenBy} : {}),
      probes: safe.probes,
      notes: safe.notes,
      files: files.sort((a, b) => (a.path < b.path ? -1 : a.path > b.path ? 1 : 0)),
    }
    current = join(partialDir, MANIFEST_FILE)
    await writeFileDurable(current, serializeManifest(manifest))
    current = partialDir
    await syncDir(partialDir)

    current = dir
    await rename(partialDir, dir)
    renamed = true
    current = stackDir
    await syncDir(stackDir)
    return {id, dir, manifest, services: snapshots}
  } catch (error) {
    // before the rename, nothing looks complete: the partial dir goes; after it, <id>/ does, manifest first
    const removal = await (renamed ? removeBackupDir(dir) : rm(partialDir, {recursive: true, force: true})).then(
      () => undefined,
      (removeError: unknown) => removeError as Error,
    )
    if (signal?.aborted && !(renamed && removal)) throw signal.reason
    const failure = configReadError(error, configDir, stackDir) ?? backupWriteError(error, current)
    if (!renamed) throw failure
    throw removedAfterRename(failure, dir, removal)
  }
}

/**
 * The error of a backup that failed after `<id>.partial/` was renamed to `<id>/`: says whether the backup was
 * removed (manifest first), or that it could not be and must be removed by hand, since it may look complete.
 */
function removedAfterRename(failure: ClinicalError, dir: string, removal: Error | undefined): ClinicalError {
  if (removal) return new BackupLeftBehindError(failure, dir, removal)
  return new ClinicalError(`${failure.message}; the backup ${dir} was removed (its manifest first)`, failure.exitCode, {cause: failure.cause ?? failure})
}

/** A backup failed after its rename to `<id>/` and could not be removed: `dir` may look complete. */
export class BackupLeftBehindError extends ClinicalError {
  override readonly name = 'BackupLeftBehindError'
  constructor(
    failure: ClinicalError,
    readonly dir: string,
    removal: Error,
  ) {
    super(`${failure.message}; the backup ${dir} could not be removed (${removal.message}) and may look complete: remove it (rm -r ${dir})`, failure.exitCode, {
      cause: failure.cause ?? failure,
    })
  }
}

/** fs error codes of writing the archive (as opposed to reading the volume through Docker). */
const WRITE_SIDE_CODES = new Set(['ENOSPC', 'EDQUOT', 'EFBIG', 'EROFS', 'EACCES', 'EPERM', 'EIO'])

/**
 * Archive one volume; a failure that is not the backup dir's (Docker refused, the stream broke, an entry outside the
 * volume) is named as the volume's. Nothing has been changed in the stack, so it is refused (exit 2).
 */
async function archiveOrExplain(source: VolumeSource, file: string, signal?: AbortSignal): Promise<VolumeArchive> {
  try {
    return await source.archive(file, signal)
  } catch (error) {
    // the backup dir's own failures (disk full, permissions) are named as such by the caller
    if (signal?.aborted || WRITE_SIDE_CODES.has((error as NodeJS.ErrnoException).code ?? '')) throw error
    throw new RefusedError(`cannot archive volume ${source.name}: ${(error as Error).message}; check the volume and the Docker daemon, then try again`, {
      cause: error,
    })
  }
}

/** A file of the config dir that could not be read is a config problem, not a backup-dir one. */
export function configReadError(error: unknown, configDir: string | undefined, stackDir: string): ClinicalError | undefined {
  const path = (error as NodeJS.ErrnoException | undefined)?.path
  if (!configDir || typeof path !== 'string' || !isInside(configDir, path) || isInside(stackDir, path)) return undefined
  return new RefusedError(
    `cannot archive config dir ${configDir}: ${(error as Error).message}; make it readable by this user or choose another --config-dir`,
    {cause: error},
  )
}

function checkedSnapshots(services: Service[]): ServiceSnapshot[] {
  const snapshots = services.map(snapshotOf).sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0))
  const seen = new Set<string>()
  for (const snapshot of snapshots) {
    if (!SERVICE_NAME_PATTERN.test(snapshot.name)) {
      throw new RefusedError(`service ${JSON.stringify(snapshot.name)} (${snapshot.id}) has a name that cannot be a backup file name`)
    }
    if (seen.has(snapshot.name)) throw new RefusedError(`two services are named ${snapshot.name}; cannot back up both under one name`)
    seen.add(snapshot.name)
  }
  return snapshots
}

/** The config dir to archive, or undefined with a note; refused when it was required (--config-dir) and is missing. */
async function checkConfigDir(options: CreateBackupOptions, notes: string[]): Promise<string | undefined> {
  if (options.configDir === undefined) {
    if (options.configDirRequired) throw new RefusedError('a config dir is required (--config-dir) but none was given')
    notes.push(`no config dir was given: the backup holds no ${CONFIG_ARCHIVE}`)
    return undefined
  }
  const configDir = resolve(options.configDir)
  const info = await stat(configDir).catch((error: NodeJS.ErrnoException) => {
    if (error.code === 'ENOENT' || error.code === 'ENOTDIR') return undefined
    throw new RefusedError(`cannot read config dir ${configDir}: ${error.message}`, {cause: error})
  })
  if (info?.isDirectory()) return configDir
  const what = info ? 'is not a directory' : 'not found'
  if (options.configDirRequired) {
    throw new RefusedError(`config dir ${configDir} ${what} (--config-dir, CLINICAL_CONFIG_DIR); give an existing directory`)
  }
  notes.push(`config dir ${configDir} ${what}: the backup holds no ${CONFIG_ARCHIVE}`)
  return undefined
}

/**
 * Create `<stackDir>/<id>.partial/` for a new id, later than every id of a backup or of a partial one (a run that
 * died keeps its partial directory), so that a new backup sorts newest even when the clock stepped back
 * (newBackupId). Another process creating the same id at once makes mkdir fail with EEXIST: the next id is tried.
 */
async function claimPartialDir(stackDir: string, now: Date): Promise<{id: string; partialDir: string}> {
  const taken = new Set<string>()
  try {
    for (const name of await readdir(stackDir)) {
      const id = name.endsWith(PARTIAL_SUFFIX) ? name.slice(0, -PARTIAL_SUFFIX.length) : name
      if (isBackupId(id)) taken.add(id)
    }
  } catch (error) {
    throw backupWriteError(error, stackDir)
  }
  for (let attempt = 1; ; attempt++) {
    const id = newBackupId(now, taken)
    const partialDir = join(stackDir, `${id}${PARTIAL_SUFFIX}`)
    try {
      await makePrivateDir(partialDir)
      return {id, partialDir}
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'EEXIST' || attempt >= MAX_ID_ATTEMPTS) throw backupWriteError(error, partialDir)
      taken.add(id)
    }
  }
}
