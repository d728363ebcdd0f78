import {createHash} from 'node:crypto'
import {createReadStream} from 'node:fs'
import {lstat, readdir} from 'node:fs/promises'
import {join} from 'node:path'
import {MANIFEST_FILE, readManifest} from './manifest.js'

export interface VerifyProblem {
  /** Relative to the backup directory, with `/`. */
  path: string
  problem: string
}

/**
 * Re-hash every file of a backup against its manifest: files missing, changed (size or sha256) or not in the
 * manifest are each named. Never throws for a damaged backup; `ok` is true only without any problem.
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
    const problem = await fileProblem(join(dir, file.path), file.size, file.sha256)
    if (problem) problems.push({path: file.path, problem})
  }
  for (const path of await filesUnder(dir)) {
    if (!listed.has(path)) problems.push({path, problem: 'not in the manifest (added after the backup was taken)'})
  }
  return {ok: problems.length === 0, problems}
}

async function fileProblem(path: string, size: number, sha256: string): Promise<string | undefined> {
  const info = await lstat(path).catch((error: NodeJS.ErrnoException) => error)
  if (info instanceof Error) return info.code === 'ENOENT' ? 'missing' : `cannot be read: ${info.message}`
  if (!info.isFile()) return 'not a regular file'
  let actual: string
  try {
    actual = await sha256Of(path)
  } catch (error) {
    return `cannot be read: ${(error as Error).message}`
  }
  if (actual === sha256 && info.size === size) return undefined
  const sizes = info.size === size ? '' : `, size ${info.size} bytes (manifest: ${size})`
  return `changed: sha256 ${actual} (manifest: ${sha256})${sizes}`
}

/** sha256 of a file, streamed (memory stays flat for large archives). */
export async function sha256Of(path: string): Promise<string> {
  const hash = createHash('sha256')
  for await (const chunk of createReadStream(path)) hash.update(chunk as Buffer)
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
