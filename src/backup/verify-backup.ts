import {createHash} from 'node:crypto'
import {createReadStream} from 'node:fs'
import {lstat, readdir} from 'node:fs/promises'
import {join} from 'node:path'
import {Transform, Writable} from 'node:stream'
import {pipeline} from 'node:stream/promises'
import {createGunzip} from 'node:zlib'
import {MANIFEST_FILE, readManifest} from './manifest.js'
import {type TarScanResult, TarScanner} from './tar-scan.js'
import type {BackupManifest} from './types.js'

const READ_CHUNK_BYTES = 1024 * 1024

export interface VerifyProblem {
  /** Relative to the backup directory, with `/`. */
  path: string
  problem: string
}

/**
 * Re-hash every file of a backup against its manifest: files missing, changed (size or sha256) or not in the
 * manifest are each named. Each `.tar.gz` is also read through (gunzip and every tar header) in the same pass:
 * it must be a complete archive, a volume archive must hold the number of entries its manifest says, and no
 * entry may land outside its volume. Never throws for a damaged backup; `ok` is true only without any problem.
 */
export async function verifyBackup(dir: string): Promise<{ok: boolean; problems: VerifyProblem[]}> {
  let manifest
  try {
    manifest = (await readManifest(dir)).manifest
  } catch (error) {
    return {ok: false, problems: [{path: MANIFEST_FILE, problem: (error as Error).message}]}
  }
  const problems: VerifyProblem[] = []
  const listed = new Set<string>([MANIFEST_FILE])
  for (const file of manifest.files) {
    if (listed.has(file.path)) {
      problems.push({path: file.path, problem: 'listed twice in the manifest'})
      continue
    }
    listed.add(file.path)
    const problem = await fileProblem(join(dir, file.path), file, archiveExpectation(manifest, file.path))
    if (problem) problems.push({path: file.path, problem})
  }
  for (const path of await filesUnder(dir)) {
    if (!listed.has(path)) problems.push({path, problem: 'not in the manifest (added after the backup was taken)'})
  }
  return {ok: problems.length === 0, problems}
}

/** What a `.tar.gz` of the manifest must hold: undefined for other files; entries only for volume archives. */
function archiveExpectation(manifest: BackupManifest, path: string): {entries?: number} | undefined {
  if (!path.endsWith('.tar.gz')) return undefined
  const volume = manifest.volumes.find((candidate) => candidate.file === path)
  return volume ? {entries: volume.entries} : {}
}

async function fileProblem(path: string, expected: {size: number; sha256: string}, archive?: {entries?: number}): Promise<string | undefined> {
  const info = await lstat(path).catch((error: NodeJS.ErrnoException) => error)
  if (info instanceof Error) return info.code === 'ENOENT' ? 'missing' : `cannot be read: ${info.message}`
  if (!info.isFile()) return 'not a regular file'
  let actual: string
  let scan: TarScanResult | Error | undefined
  try {
    if (archive) ({sha256: actual, scan} = await hashAndScanArchive(path))
    else actual = await sha256Of(path)
  } catch (error) {
    return `cannot be read: ${(error as Error).message}`
  }
  if (actual !== expected.sha256 || info.size !== expected.size) {
    const sizes = info.size === expected.size ? '' : `, size ${info.size} bytes (manifest: ${expected.size})`
    return `changed: sha256 ${actual} (manifest: ${expected.sha256})${sizes}`
  }
  if (!archive || !scan) return undefined
  if (scan instanceof Error) return `archive cannot be read: ${scan.message}`
  if (!scan.complete) return 'archive is incomplete (no end-of-archive blocks)'
  if (scan.unsafeCount > 0) return `archive holds ${scan.unsafeCount} entr${scan.unsafeCount === 1 ? 'y' : 'ies'} outside its target: ${scan.unsafe.join('; ')}`
  if (archive.entries !== undefined && scan.entries !== archive.entries) return `archive holds ${scan.entries} entries (manifest: ${archive.entries})`
  return undefined
}

/**
 * sha256 of a .tar.gz and a scan of its tar headers, in one read. A gzip or tar error does not stop the hashing:
 * a changed file is reported as changed, not as unreadable.
 */
export async function hashAndScanArchive(path: string): Promise<{sha256: string; scan: TarScanResult | Error}> {
  const hash = createHash('sha256')
  const hashing = new Transform({
    transform(chunk: Buffer, _encoding, callback) {
      hash.update(chunk)
      callback(null, chunk)
    },
  })
  const scanner = new TarScanner()
  const discard = new Writable({write: (_chunk, _encoding, callback) => callback()})
  try {
    await pipeline(createReadStream(path, {highWaterMark: READ_CHUNK_BYTES}), hashing, createGunzip(), scanner, discard)
    return {sha256: hash.digest('hex'), scan: scanner.result()}
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code
    if (code === 'ENOENT' || code === 'EACCES' || code === 'EISDIR' || code === 'EIO') throw error
    return {sha256: await sha256Of(path), scan: error as Error}
  }
}

/** sha256 of a file, streamed (memory stays flat for large archives). */
export async function sha256Of(path: string): Promise<string> {
  const hash = createHash('sha256')
  for await (const chunk of createReadStream(path, {highWaterMark: READ_CHUNK_BYTES})) hash.update(chunk as Buffer)
  return hash.digest('hex')
}

/** Every entry that is not a directory, relative with `/` (symlinks and other types included, not followed). */
async function filesUnder(root: string): Promise<string[]> {
  const found: string[] = []
  const pending: string[] = ['']
  while (pending.length > 0) {
    const relative = pending.pop()!
    const entries = await readdir(join(root, relative), {withFileTypes: true}).catch(() => [])
    for (const entry of entries) {
      const path = relative ? `${relative}/${entry.name}` : entry.name
      if (entry.isDirectory()) pending.push(path)
      else found.push(path)
    }
  }
  return found.sort()
}
