import {createHash} from 'node:crypto'
import {chmod, mkdir, open} from 'node:fs/promises'
import {dirname, isAbsolute, relative, sep} from 'node:path'
import {ClinicalError} from '../errors.js'
import {ExitCode} from '../exit-codes.js'

/** Modes of everything a backup writes (DESIGN.md §2), set explicitly so the umask does not matter. */
export const DIR_MODE = 0o700
export const FILE_MODE = 0o600

export interface WrittenFile {
  size: number
  sha256: string
}

/** Create a new file (never overwrite), mode 0600, write `data`, fsync, close. */
export async function writeFileDurable(path: string, data: string | Uint8Array): Promise<WrittenFile> {
  const bytes = typeof data === 'string' ? Buffer.from(data, 'utf8') : data
  const handle = await open(path, 'wx', FILE_MODE)
  try {
    await handle.chmod(FILE_MODE)
    await handle.writeFile(bytes)
    await handle.sync()
  } finally {
    await handle.close()
  }
  return {size: bytes.byteLength, sha256: createHash('sha256').update(bytes).digest('hex')}
}

/**
 * Create a new file (never overwrite), mode 0600, and write a stream into it chunk by chunk (memory stays flat),
 * hashing what is written; fsync, close. Stops with the signal's reason when aborted.
 */
export async function writeStreamDurable(path: string, source: AsyncIterable<Uint8Array>, signal?: AbortSignal): Promise<WrittenFile> {
  const hash = createHash('sha256')
  let size = 0
  const handle = await open(path, 'wx', FILE_MODE)
  try {
    await handle.chmod(FILE_MODE)
    for await (const chunk of source) {
      signal?.throwIfAborted()
      hash.update(chunk)
      size += chunk.byteLength
      let written = 0
      while (written < chunk.byteLength) {
        const {bytesWritten} = await handle.write(chunk, written, chunk.byteLength - written)
        written += bytesWritten
      }
    }
    await handle.sync()
  } finally {
    await handle.close()
  }
  return {size, sha256: hash.digest('hex')}
}

/** fsync a directory, so a rename or a new entry in it survives a crash (no-op where the filesystem cannot). */
export async function syncDir(path: string): Promise<void> {
  const handle = await open(path, 'r')
  try {
    await handle.sync().catch((error: unknown) => {
      const code = (error as NodeJS.ErrnoException).code
      if (code !== 'EINVAL' && code !== 'ENOTSUP' && code !== 'EISDIR') throw error
    })
  } finally {
    await handle.close()
  }
}

/** Create one new directory (EEXIST when it exists), mode 0700. */
export async function makePrivateDir(path: string): Promise<void> {
  await mkdir(path, {mode: DIR_MODE})
  await chmod(path, DIR_MODE)
}

/**
 * `mkdir -p`: every directory it creates gets mode 0700 and is made durable (the parent of each is fsynced, so the
 * new entry survives a crash); existing ones are left as they are.
 */
export async function ensurePrivateDirs(path: string): Promise<void> {
  const firstCreated = await mkdir(path, {recursive: true, mode: DIR_MODE})
  if (firstCreated === undefined) return
  const created: string[] = []
  for (let dir = path; ; dir = dirname(dir)) {
    created.push(dir)
    if (dir === firstCreated || dirname(dir) === dir) break
  }
  for (const dir of created.reverse()) {
    await chmod(dir, DIR_MODE)
    await syncDir(dirname(dir))
  }
}

/** `child` is `parent` or inside it (both absolute). */
export function isInside(parent: string, child: string): boolean {
  const rel = relative(parent, child)
  return rel === '' || (rel !== '..' && !rel.startsWith(`..${sep}`) && !isAbsolute(rel))
}

/**
 * A failed write of a backup as one line naming the file or directory at fault and what to do next.
 * Nothing has been changed in the stack when a backup fails, so the exit code is "refused" (2).
 */
export function backupWriteError(error: unknown, fallbackPath: string): ClinicalError {
  if (error instanceof ClinicalError) return error
  const errno = error as NodeJS.ErrnoException
  const path = typeof errno?.path === 'string' ? errno.path : fallbackPath
  const message = error instanceof Error ? error.message : String(error)
  switch (errno?.code) {
    case 'ENOSPC':
    case 'EDQUOT':
      return new ClinicalError(`disk full writing ${path}: free space there or choose another --backup-dir (${message})`, ExitCode.Refused, {cause: error})
    case 'EACCES':
    case 'EPERM':
    case 'EROFS':
      return new ClinicalError(
        `cannot write backup to ${path}: ${message}; check the owner and mode of that directory or choose another --backup-dir`,
        ExitCode.Refused,
        {cause: error},
      )
    default:
      return new ClinicalError(`cannot write backup to ${path}: ${message}`, ExitCode.Refused, {cause: error})
  }
}
