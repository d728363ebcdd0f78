import {availableParallelism} from 'node:os'
import {Transform, type TransformCallback} from 'node:stream'
import {promisify} from 'node:util'
import {type ZlibOptions, gzip} from 'node:zlib'

const gzipAsync = promisify<Buffer, ZlibOptions, Buffer>(gzip)

/** Bytes of input per gzip member: large enough that restarting the 32 KiB dictionary costs nothing measurable. */
export const GZIP_BLOCK_BYTES = 1024 * 1024
/**
 * Members compressed at once: one per core, at most 3. libuv's threadpool runs them and also every fs call (the
 * archive's writes and fsync); it has 4 threads unless UV_THREADPOOL_SIZE says more, so one is always left free.
 */
export const GZIP_CONCURRENCY = Math.max(1, Math.min(3, availableParallelism()))

/**
 * gzip in parallel, as pigz does: the input is cut into blocks of `blockBytes`, each compressed on its own as one
 * gzip member on the threadpool, up to `concurrency` at once, and the members are written in input order. A
 * gzip file may hold several members one after the other (RFC 1952 §2.2); gunzip, `tar -xz`, Node's createGunzip
 * read them as one stream. Memory is bounded by `concurrency` blocks in and out, whatever the input size.
 * With concurrency 1 it is an ordinary (multi-member) gzip stream.
 */
export class ParallelGzip extends Transform {
  private readonly blockBytes: number
  private readonly concurrency: number
  private readonly zlibOptions: ZlibOptions
  private pending: Buffer[] = []
  private pendingBytes = 0
  /** Blocks being compressed, oldest first; their output is pushed in this order. */
  private readonly inFlight: Array<Promise<Buffer>> = []
  private members = 0

  constructor(options: {level: number; blockBytes?: number; concurrency?: number}) {
    super({readableHighWaterMark: 2 * (options.blockBytes ?? GZIP_BLOCK_BYTES)})
    this.blockBytes = options.blockBytes ?? GZIP_BLOCK_BYTES
    this.concurrency = options.concurrency ?? GZIP_CONCURRENCY
    // memLevel 9: faster at level 1 on data that does not compress (measured by scripts/bench-backup.ts), +256 KiB each
    this.zlibOptions = {level: options.level, memLevel: 9}
  }

  override _transform(chunk: Buffer, _encoding: BufferEncoding, callback: TransformCallback): void {
    this.pending.push(chunk)
    this.pendingBytes += chunk.byteLength
    this.drainBlocks(false).then(() => callback(), callback)
  }

  override _flush(callback: TransformCallback): void {
    this.drainBlocks(true)
      .then(async () => {
        // no input at all: still a valid gzip file (one empty member)
        if (this.members === 0) this.push(await gzipAsync(Buffer.alloc(0), this.zlibOptions))
      })
      .then(() => callback(), callback)
  }

  /** Start a compression for each full block (the rest too when `final`), waiting for the oldest when at the limit. */
  private async drainBlocks(final: boolean): Promise<void> {
    while (this.pendingBytes >= this.blockBytes || (final && this.pendingBytes > 0)) {
      const input = Buffer.concat(this.pending, this.pendingBytes)
      const block = input.subarray(0, Math.min(this.blockBytes, input.byteLength))
      const rest = input.subarray(block.byteLength)
      this.pending = rest.byteLength > 0 ? [rest] : []
      this.pendingBytes = rest.byteLength
      const compressed = gzipAsync(block, this.zlibOptions)
      compressed.catch(() => undefined) // awaited below in order; never an unhandled rejection meanwhile
      this.inFlight.push(compressed)
      this.members++
      while (this.inFlight.length >= this.concurrency) this.push(await this.inFlight.shift()!)
    }
    if (final) while (this.inFlight.length > 0) this.push(await this.inFlight.shift()!)
  }
}
