import {lstat, readdir} from 'node:fs/promises'
import {join} from 'node:path'

/** Room allowed for one service's spec file (real ones are a few KiB). */
export const SPEC_ALLOWANCE_BYTES = 64 * 1024
/** Room allowed for the manifest. */
export const MANIFEST_ALLOWANCE_BYTES = 64 * 1024

/**
 * The disk a backup will need, for the preflight's free-space check: the config dir's size uncompressed (an upper
 * bound of its archive) plus an allowance per service spec. Volumes come with volume backups.
 */
export async function estimateBackupBytes(options: {configDir?: string; serviceCount: number}): Promise<number> {
  const configBytes = options.configDir ? await treeBytes(options.configDir) : 0
  return configBytes + options.serviceCount * SPEC_ALLOWANCE_BYTES + MANIFEST_ALLOWANCE_BYTES
}

/** Total size of the regular files under a path (symlinks not followed; a missing or unreadable entry counts 0). */
export async function treeBytes(root: string): Promise<number> {
  let total = 0
  const pending = [root]
  while (pending.length > 0) {
    const path = pending.pop()!
    const info = await lstat(path).catch(() => undefined)
    if (!info) continue
    if (info.isFile()) total += info.size
    else if (info.isDirectory()) {
      const entries = await readdir(path).catch(() => [] as string[])
      for (const entry of entries) pending.push(join(path, entry))
    }
  }
  return total
}
