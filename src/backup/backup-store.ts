import {createHash} from 'node:crypto'
import {readFile, readdir, stat} from 'node:fs/promises'
import {join} from 'node:path'
import {ClinicalError, RefusedError} from '../errors.js'
import {ExitCode} from '../exit-codes.js'
import {isBackupId} from './backup-id.js'
import {type ManifestError, readManifest, serviceFilePath} from './manifest.js'
import type {Backup, BackupManifest, ServiceSnapshot} from './types.js'

export interface BackupSummary {
  id: string
  dir: string
  createdAt: string
  services: number
  volumes: number
  /** The files of the manifest plus the manifest itself. */
  sizeBytes: number
  appVersion?: string
  /** What took it; absent in backups written before it was recorded (all taken by deploys). */
  takenBy?: BackupManifest['takenBy']
}

/** How many ids an "unknown backup" message lists. */
const LISTED_IDS = 10

/**
 * The complete backups of a stack, newest first. A directory without a readable manifest of this stack and id
 * (a `.partial` one, a run that died, anything else) is not a backup and is left out.
 */
export async function listBackups(backupDir: string, stack: string): Promise<BackupSummary[]> {
  const stackDir = join(backupDir, stack)
  let names: string[]
  try {
    names = await readdir(stackDir)
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code
    if (code === 'ENOENT' || code === 'ENOTDIR') return []
    throw new RefusedError(`cannot read the backups of stack ${stack} in ${stackDir}: ${(error as Error).message}`, {cause: error})
  }
  const summaries = await Promise.all(
    names.filter(isBackupId).map(async (id): Promise<BackupSummary | undefined> => {
      const dir = join(stackDir, id)
      const read = await readManifest(dir).catch(() => undefined)
      if (!read || read.manifest.id !== id || read.manifest.stack !== stack) return undefined
      return summaryOf(dir, read.manifest, read.sizeBytes)
    }),
  )
  return summaries.filter((summary): summary is BackupSummary => summary !== undefined).sort((a, b) => (a.id < b.id ? 1 : a.id > b.id ? -1 : 0))
}

function summaryOf(dir: string, manifest: BackupManifest, manifestBytes: number): BackupSummary {
  const summary: BackupSummary = {
    id: manifest.id,
    dir,
    createdAt: manifest.createdAt,
    services: manifest.services.length,
    volumes: manifest.volumes.length,
    sizeBytes: manifest.files.reduce((sum, file) => sum + file.size, manifestBytes),
  }
  if (manifest.appVersion !== undefined) summary.appVersion = manifest.appVersion
  if (manifest.takenBy !== undefined) summary.takenBy = manifest.takenBy
  return summary
}

/**
 * A backup with its service snapshots: the newest when `id` is undefined. An unknown id is refused with the ids
 * that exist; a service file that does not match the manifest's sha256 is refused naming the file (a damaged
 * backup is never restored).
 */
export async function loadBackup(backupDir: string, stack: string, id?: string): Promise<Backup> {
  const stackDir = join(backupDir, stack)
  const backups = await listBackups(backupDir, stack)
  const wanted = id ?? backups[0]?.id
  if (wanted === undefined) {
    throw new RefusedError(`no backups of stack ${stack} in ${stackDir}: nothing to roll back to (check --backup-dir and --stack)`)
  }
  if (!backups.some((backup) => backup.id === wanted)) {
    throw await unknownBackupError(stackDir, stack, wanted, backups)
  }
  const dir = join(stackDir, wanted)
  const {manifest} = await readManifest(dir)
  const services: ServiceSnapshot[] = []
  for (const name of manifest.services) services.push(await loadSnapshot(dir, manifest, name))
  return {id: wanted, dir, manifest, services}
}

async function unknownBackupError(stackDir: string, stack: string, id: string, backups: BackupSummary[]): Promise<ClinicalError> {
  // a directory of that id that is not a complete backup says so, rather than "not found"
  if (isBackupId(id)) {
    const dir = join(stackDir, id)
    const isDir = await stat(dir).then(
      (info) => info.isDirectory(),
      () => false,
    )
    if (isDir) {
      const reason = await readManifest(dir).then(
        (read) => `its manifest is of stack ${read.manifest.stack}, id ${read.manifest.id}`,
        (error: ManifestError) => error.message,
      )
      return new RefusedError(`backup ${id} in ${dir} is not a complete backup of stack ${stack}: ${reason}; choose another backup (clinical backup list)`)
    }
  }
  if (backups.length === 0) return new RefusedError(`backup ${id} not found: there are no backups of stack ${stack} in ${stackDir} (check --backup-dir and --stack)`)
  const shown = backups.slice(0, LISTED_IDS).map((backup) => backup.id)
  const more = backups.length > LISTED_IDS ? ` and ${backups.length - LISTED_IDS} older` : ''
  return new RefusedError(`backup ${id} not found in ${stackDir}; backups of stack ${stack}: ${shown.join(', ')}${more}`)
}

async function loadSnapshot(dir: string, manifest: BackupManifest, name: string): Promise<ServiceSnapshot> {
  const path = serviceFilePath(name)
  const file = join(dir, path)
  const damaged = (what: string): ClinicalError =>
    new ClinicalError(
      `backup ${manifest.id} is damaged: ${file} ${what}; run clinical backup verify ${manifest.id}, or choose another backup`,
      ExitCode.Refused,
    )
  const entry = manifest.files.find((candidate) => candidate.path === path)
  if (!entry) throw damaged('is not listed in its manifest')
  let bytes: Buffer
  try {
    bytes = await readFile(file)
  } catch (error) {
    throw damaged(`cannot be read (${(error as Error).message})`)
  }
  const sha256 = createHash('sha256').update(bytes).digest('hex')
  if (sha256 !== entry.sha256) throw damaged(`does not match its manifest (sha256 ${sha256}, manifest ${entry.sha256})`)
  let snapshot: ServiceSnapshot
  try {
    snapshot = JSON.parse(bytes.toString('utf8')) as ServiceSnapshot
  } catch (error) {
    throw damaged(`is not valid JSON (${(error as Error).message})`)
  }
  if (snapshot?.name !== name || typeof snapshot.spec !== 'object' || snapshot.spec === null || snapshot.spec.Name !== name) {
    throw damaged(`does not hold the spec of service ${name}`)
  }
  return snapshot
}
