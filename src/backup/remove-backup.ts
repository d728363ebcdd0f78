import {rm, unlink} from 'node:fs/promises'
import {dirname, join} from 'node:path'
import {syncDir} from './durable-fs.js'
import {MANIFEST_FILE} from './manifest.js'

/**
 * Remove a backup directory: its manifest first, made durable (from then on it is not a backup), then the rest,
 * so that an interrupted removal never leaves something that looks complete.
 */
export async function removeBackupDir(dir: string): Promise<void> {
  await unlink(join(dir, MANIFEST_FILE)).catch((error: NodeJS.ErrnoException) => {
    if (error.code !== 'ENOENT') throw error
  })
  await syncDir(dir)
  await rm(dir, {recursive: true, force: true})
  await syncDir(dirname(dir))
}
