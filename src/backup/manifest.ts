import {readFile} from 'node:fs/promises'
import {join} from 'node:path'
import {ClinicalError} from '../errors.js'
import {ExitCode} from '../exit-codes.js'
import {isBackupId} from './backup-id.js'
import type {BackupManifest, ManifestFile} from './types.js'

export const MANIFEST_FILE = 'manifest.json'
export const SERVICES_DIR = 'services'
export const CONFIG_ARCHIVE = 'config.tar.gz'
export const VOLUMES_DIR = 'volumes'

/** Service names as Docker accepts them; anything else could not be a safe file name. */
export const SERVICE_NAME_PATTERN = /^[a-zA-Z0-9][a-zA-Z0-9_.-]*$/

/** `services/<name>.json`, refusing a name that could leave the services directory. */
export function serviceFilePath(name: string): string {
  if (!SERVICE_NAME_PATTERN.test(name)) throw new Error(`service name ${JSON.stringify(name)} is not a valid Docker service name`)
  return `${SERVICES_DIR}/${name}.json`
}

/** Docker volume names (`[a-zA-Z0-9][a-zA-Z0-9_.-]+`); anything else could not be a safe file name. */
export const VOLUME_NAME_PATTERN = /^[a-zA-Z0-9][a-zA-Z0-9_.-]*$/

/** `volumes/<name>.tar.gz`, refusing a name that could leave the volumes directory. */
export function volumeFilePath(name: string): string {
  if (!VOLUME_NAME_PATTERN.test(name)) throw new Error(`volume name ${JSON.stringify(name)} is not a valid Docker volume name`)
  return `${VOLUMES_DIR}/${name}.tar.gz`
}

/** A manifest path is relative, uses `/`, and has no empty, `.` or `..` segment. */
export function isSafeManifestPath(path: string): boolean {
  if (path === '' || path.startsWith('/') || path.includes('\\') || path.includes('\0')) return false
  return path.split('/').every((segment) => segment !== '' && segment !== '.' && segment !== '..')
}

/** The manifest as written: stable key order, two-space indent, trailing newline. */
export function serializeManifest(manifest: BackupManifest): string {
  return `${JSON.stringify(manifest, null, 2)}\n`
}

/** Thrown when a manifest cannot be read or is not one of ours; `code` is the fs code when reading failed. */
export class ManifestError extends ClinicalError {
  override readonly name: string = 'ManifestError'
  constructor(
    message: string,
    readonly code?: string,
    options?: {cause?: unknown},
  ) {
    super(message, ExitCode.Refused, options)
  }
}

/** Read and check `<dir>/manifest.json`. */
export async function readManifest(dir: string): Promise<{manifest: BackupManifest; sizeBytes: number}> {
  const path = join(dir, MANIFEST_FILE)
  let text: string
  try {
    text = await readFile(path, 'utf8')
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code
    const reason = code === 'ENOENT' ? 'it is missing (the backup was not completed)' : (error as Error).message
    throw new ManifestError(`cannot read backup manifest ${path}: ${reason}`, code, {cause: error})
  }
  return {manifest: parseManifest(text, path), sizeBytes: Buffer.byteLength(text)}
}

/** Parse and check a manifest's text (pure); `where` names it in errors. */
export function parseManifest(text: string, where: string): BackupManifest {
  let value: unknown
  try {
    value = JSON.parse(text)
  } catch (error) {
    throw new ManifestError(`backup manifest ${where} is not valid JSON: ${(error as Error).message}`, undefined, {cause: error})
  }
  const problem = manifestProblem(value)
  if (problem) throw new ManifestError(`backup manifest ${where} is not a clinical backup manifest: ${problem}`)
  return value as BackupManifest
}

function manifestProblem(value: unknown): string | undefined {
  if (!isObject(value)) return 'not a JSON object'
  if (value.formatVersion !== 1) return `formatVersion ${JSON.stringify(value.formatVersion)} is not 1`
  if (typeof value.stack !== 'string' || !value.stack) return 'no stack'
  if (typeof value.id !== 'string' || !isBackupId(value.id)) return `id ${JSON.stringify(value.id)} is not YYYYMMDD-HHMMSS`
  if (typeof value.createdAt !== 'string') return 'no createdAt'
  if (!isObject(value.who)) return 'no who'
  if (!Array.isArray(value.services) || !value.services.every((name) => typeof name === 'string' && SERVICE_NAME_PATTERN.test(name))) {
    return 'services is not a list of service names'
  }
  if (!Array.isArray(value.volumes)) return 'volumes is not a list'
  for (const volume of value.volumes as unknown[]) {
    const problem = volumeEntryProblem(volume)
    if (problem) return problem
  }
  if (!Array.isArray(value.notes)) return 'notes is not a list'
  if (!isObject(value.probes)) return 'no probes'
  if (!Array.isArray(value.files)) return 'files is not a list'
  for (const file of value.files as unknown[]) {
    if (!isManifestFile(file)) return `bad file entry ${JSON.stringify(file)}`
    if (!isSafeManifestPath(file.path) || file.path === MANIFEST_FILE) return `file path ${JSON.stringify(file.path)} is not allowed`
  }
  const paths = new Set((value.files as ManifestFile[]).map((file) => file.path))
  for (const volume of value.volumes as Array<{name: string; file: string}>) {
    if (!paths.has(volume.file)) return `volume ${volume.name}: ${volume.file} is not in files`
  }
  return undefined
}

function volumeEntryProblem(volume: unknown): string | undefined {
  if (!isObject(volume) || typeof volume.name !== 'string' || !VOLUME_NAME_PATTERN.test(volume.name)) return `bad volume entry ${JSON.stringify(volume)}`
  if (volume.file !== volumeFilePath(volume.name)) return `volume ${volume.name}: file ${JSON.stringify(volume.file)} is not ${volumeFilePath(volume.name)}`
  if (typeof volume.entries !== 'number' || !Number.isSafeInteger(volume.entries) || volume.entries < 0) return `volume ${volume.name}: bad entries count`
  return undefined
}

function isManifestFile(value: unknown): value is ManifestFile {
  return (
    isObject(value) &&
    typeof value.path === 'string' &&
    typeof value.size === 'number' &&
    Number.isSafeInteger(value.size) &&
    value.size >= 0 &&
    typeof value.sha256 === 'string' &&
    /^[0-9a-f]{64}$/.test(value.sha256)
  )
}

function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value)
}
