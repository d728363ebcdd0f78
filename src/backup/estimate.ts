import {lstat, readdir} from 'node:fs/promises'
import {join} from 'node:path'
import type {DockerClient} from '../docker/client.js'

/** Room allowed for one service's spec file (real ones are a few KiB). */
export const SPEC_ALLOWANCE_BYTES = 64 * 1024
/** Room allowed for the manifest. */
export const MANIFEST_ALLOWANCE_BYTES = 64 * 1024

/** Room per volume archive besides its data: tar headers and padding, gzip framing. */
export const VOLUME_ALLOWANCE_BYTES = 1024 * 1024

/**
 * The disk a backup will need, for the preflight's free-space check: the config dir's size uncompressed (an upper
 * bound of its archive), an allowance per service spec, and the volumes' estimate (estimateVolumeBytes).
 */
export async function estimateBackupBytes(options: {configDir?: string; serviceCount: number; volumeBytes?: number}): Promise<number> {
  const configBytes = options.configDir ? await treeBytes(options.configDir) : 0
  return configBytes + options.serviceCount * SPEC_ALLOWANCE_BYTES + MANIFEST_ALLOWANCE_BYTES + (options.volumeBytes ?? 0)
}

/**
 * An upper bound of the archives of volumes (pure): each volume's data as `/system/df` counts it, plus 1 % (gzip
 * of data that does not compress grows a little) and VOLUME_ALLOWANCE_BYTES. Sizes Docker could not compute (-1,
 * or a volume missing from the answer) count 0 and are named in `unknown`.
 */
export function volumeArchiveBytes(sizes: ReadonlyMap<string, number>, names: readonly string[]): {bytes: number; unknown: string[]} {
  let bytes = 0
  const unknown: string[] = []
  for (const name of names) {
    const size = sizes.get(name)
    if (size === undefined || size < 0) unknown.push(name)
    bytes += Math.ceil(Math.max(0, size ?? 0) * 1.01) + VOLUME_ALLOWANCE_BYTES
  }
  return {bytes, unknown}
}

/** volumeArchiveBytes with the sizes of `GET /system/df` (asked only when there are volumes). */
export async function estimateVolumeBytes(docker: DockerClient, names: readonly string[], signal?: AbortSignal): Promise<{bytes: number; unknown: string[]}> {
  if (names.length === 0) return {bytes: 0, unknown: []}
  const df = await docker.systemDf(signal)
  const sizes = new Map((df.Volumes ?? []).map((volume) => [volume.Name, volume.UsageData?.Size ?? -1]))
  return volumeArchiveBytes(sizes, names)
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
