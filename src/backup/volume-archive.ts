import {rename, rm} from 'node:fs/promises'
import {pipeline} from 'node:stream/promises'
import type {DockerClient} from '../docker/client.js'
import {PARTIAL_SUFFIX} from './backup-id.js'
import {type WrittenFile, writeStreamDurable} from './durable-fs.js'
import {HELPER_MOUNT, withHelperContainer} from './helper-container.js'
import {GZIP_CONCURRENCY, ParallelGzip} from './parallel-gzip.js'
import {TarScanner} from './tar-scan.js'

/**
 * gzip level of volume archives. Level 1 keeps up with `tar -c | gzip -1` (scripts/bench-backup.ts measures it);
 * level 6 cost 25-40 % of the throughput there for archives 5-10 % smaller on mixed data.
 */
export const VOLUME_GZIP_LEVEL = 1
/** Docker's stream is paused only after this much is buffered: pausing an undici body is slow (see TarScanner). */
const TAR_BUFFER_BYTES = 4 * 1024 * 1024
/** Bound on a silent Docker while it streams an archive (per chunk, not for the whole archive). */
const ARCHIVE_IDLE_TIMEOUT_MS = 120_000

export interface VolumeArchive extends WrittenFile {
  /** Tar entries of the archive, the root `./` included. */
  entries: number
  /** Bytes of the tar stream before compression. */
  tarBytes: number
}

/**
 * Archive a volume's content into `file` (a .tar.gz whose entries are relative to the volume root: `./`, `./a`,
 * ...), without a registry and without running anything: a helper container mounts the volume read-only and is
 * never started; Docker streams `GET /containers/{id}/archive?path=/data/.` (uncompressed), which is compressed
 * (gzip members of 1 MiB compressed in parallel, ParallelGzip), hashed and written on the fly into
 * `<file>.partial`, fsynced, then renamed to `file`. Memory stays flat whatever the volume's size. The helper is
 * removed and the partial file deleted on every failure path; a helper that cannot be removed after a complete
 * archive is an `onWarning`, not a failure.
 */
export async function archiveVolume(
  docker: DockerClient,
  options: {volume: string; file: string; signal?: AbortSignal; gzipLevel?: number; gzipConcurrency?: number; onWarning?: (message: string) => void},
): Promise<VolumeArchive> {
  const {volume, file, signal} = options
  const partial = `${file}${PARTIAL_SUFFIX}`
  try {
    const archive = await withHelperContainer(docker, {volume, readOnly: true, signal, onWarning: options.onWarning}, async (containerId) => {
      const tar = await docker.getArchive(containerId, `${HELPER_MOUNT}/.`, {signal, idleTimeoutMs: ARCHIVE_IDLE_TIMEOUT_MS})
      const scanner = new TarScanner({refuseUnsafe: true, bufferBytes: TAR_BUFFER_BYTES})
      const gzip = new ParallelGzip({level: options.gzipLevel ?? VOLUME_GZIP_LEVEL, concurrency: options.gzipConcurrency ?? GZIP_CONCURRENCY})
      let written: WrittenFile | undefined
      await pipeline(
        tar,
        scanner,
        gzip,
        async (compressed: AsyncIterable<Uint8Array>) => {
          written = await writeStreamDurable(partial, compressed, signal)
        },
        {signal},
      )
      const scan = scanner.result()
      if (!written || !scan.complete) {
        throw new Error(`the archive Docker sent of volume ${volume} ended early (${scan.tarBytes} bytes, no end-of-archive blocks)`)
      }
      return {...written, entries: scan.entries, tarBytes: scan.tarBytes}
    })
    await rename(partial, file)
    return archive
  } catch (error) {
    await rm(partial, {force: true}).catch(() => undefined)
    throw error
  }
}
