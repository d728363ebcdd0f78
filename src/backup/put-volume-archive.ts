import {createHash} from 'node:crypto'
import {createReadStream} from 'node:fs'
import {Transform, pipeline} from 'node:stream'
import {createGunzip} from 'node:zlib'
import type {DockerClient} from '../docker/client.js'
import {HELPER_MOUNT, withHelperContainer} from './helper-container.js'
import {TarScanner} from './tar-scan.js'

const READ_CHUNK_BYTES = 1024 * 1024
/** Docker answers a PUT only once everything is extracted: allow at least this long, more for big archives. */
const MIN_PUT_TIMEOUT_MS = 10 * 60_000
/** A slow disk still extracts this fast; the PUT timeout grows with the archive at this rate. */
const SLOWEST_EXTRACT_BYTES_PER_MS = 10 * 1024

export interface PutArchiveResult {
  entries: number
  tarBytes: number
}

/**
 * Extract a volume archive of a backup into a volume through a helper container (created, never started, the
 * volume mounted read-write at /data): `PUT /containers/{id}/archive?path=/data`. Nothing is extracted on this
 * host. The archive is streamed from disk, gunzipped and checked on the way: every tar header is read before the
 * chunk holding it is sent, and the first entry that would land outside the volume (absolute, `..`, through a
 * symbolic link, a hard link to outside) stops the stream. Docker itself confines extraction to the container's
 * root filesystem and refuses `..` entries, but only after extracting what came before them: the backup's archives
 * are checked in full before any volume is touched, so this check and Docker's are second lines.
 * The file's sha256 and entry count are compared with the manifest at the end. Once the volume is restored, a
 * helper that cannot be removed is an `onWarning` (naming it and `docker rm -f`), not a failed restore.
 */
export async function putVolumeArchive(
  docker: DockerClient,
  options: {volume: string; file: string; sha256: string; entries: number; tarBytes?: number; onWarning?: (message: string) => void},
): Promise<PutArchiveResult> {
  const {volume, file} = options
  return withHelperContainer(docker, {volume, readOnly: false, onWarning: options.onWarning}, async (containerId) => {
    const hash = createHash('sha256')
    const hashing = new Transform({
      highWaterMark: READ_CHUNK_BYTES,
      transform(chunk: Buffer, _encoding, callback) {
        hash.update(chunk)
        callback(null, chunk)
      },
    })
    const scanner = new TarScanner({refuseUnsafe: true})
    let streamError: Error | undefined
    const body = pipeline(createReadStream(file, {highWaterMark: READ_CHUNK_BYTES}), hashing, createGunzip(), scanner, (error) => {
      if (error) streamError = error
    })
    const timeoutMs = Math.max(MIN_PUT_TIMEOUT_MS, Math.ceil((options.tarBytes ?? 0) / SLOWEST_EXTRACT_BYTES_PER_MS))
    try {
      await docker.putArchive(containerId, HELPER_MOUNT, body, {timeoutMs})
    } catch (error) {
      throw streamError ?? error
    }
    if (streamError) throw streamError
    const scan = scanner.result()
    const sha256 = hash.digest('hex')
    if (sha256 !== options.sha256) throw new Error(`${file} changed while it was restored (sha256 ${sha256}, manifest ${options.sha256})`)
    if (!scan.complete || scan.entries !== options.entries) {
      throw new Error(`${file} held ${scan.entries} entries${scan.complete ? '' : ' and no end-of-archive blocks'} (manifest: ${options.entries})`)
    }
    return {entries: scan.entries, tarBytes: scan.tarBytes}
  })
}
