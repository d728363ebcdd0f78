import {Transform, type TransformCallback} from 'node:stream'
import {Parser} from 'tar'
import {TarEndTracker} from './tar-end.js'

/** How many unsafe entries a scan keeps for its message (the count is always exact). */
const KEPT_UNSAFE = 5

export interface TarScanResult {
  /** Every entry of the archive (directories, the root `./`, files, links), meta entries (pax, long names) excluded. */
  entries: number
  /** Bytes of the (uncompressed) tar stream. */
  tarBytes: number
  /** Up to KEPT_UNSAFE entries that would land outside the target, each with the reason. */
  unsafe: string[]
  unsafeCount: number
  /**
   * The two zero blocks of a complete tar archive follow the end of its last entry (header + body rounded up to 512
   * bytes, meta headers included), and only zeros come after them (TarEndTracker).
   */
  complete: boolean
}

/**
 * Why a tar entry would land outside the directory it is extracted into, or undefined when it stays inside (pure).
 * `symlinks` holds the (normalised) paths of the symbolic links seen earlier in the same archive, and of the hard
 * links to them (a hard link to a symbolic link is one): an entry below one of them would be written through the
 * link, and a hard link whose target lies below one would link to what the symbolic link points at. Absolute paths,
 * `..` segments and hard links pointing outside are refused.
 */
export function unsafeEntryReason(entry: {path: string; type: string; linkpath?: string}, symlinks: ReadonlySet<string>): string | undefined {
  const path = normaliseEntryPath(entry.path)
  if (path === undefined) return `${JSON.stringify(entry.path)} leaves the target directory (absolute path or ..)`
  const segments = path === '' ? [] : path.split('/')
  for (let depth = 1; depth < segments.length; depth++) {
    const parent = segments.slice(0, depth).join('/')
    if (symlinks.has(parent)) return `${JSON.stringify(entry.path)} is written through the symbolic link ${JSON.stringify(parent)}`
  }
  if (entry.type === 'Link') {
    const target = normaliseEntryPath(entry.linkpath ?? '')
    if (target === undefined || target === '') return `hard link ${JSON.stringify(entry.path)} points outside the target (${JSON.stringify(entry.linkpath)})`
    const targetSegments = target.split('/')
    for (let depth = 1; depth < targetSegments.length; depth++) {
      const parent = targetSegments.slice(0, depth).join('/')
      if (symlinks.has(parent)) {
        return `hard link ${JSON.stringify(entry.path)} points through the symbolic link ${JSON.stringify(parent)} (${JSON.stringify(entry.linkpath)})`
      }
    }
  }
  return undefined
}

/**
 * Whether a safe entry makes its own path a symbolic link for the entries after it (pure): a symbolic link, or a
 * hard link to one of `symlinks` (linking a symbolic link links the link itself, not what it points at).
 */
export function makesSymlink(entry: {type: string; linkpath?: string}, symlinks: ReadonlySet<string>): boolean {
  if (entry.type === 'SymbolicLink') return true
  if (entry.type !== 'Link') return false
  const target = normaliseEntryPath(entry.linkpath ?? '')
  return target !== undefined && symlinks.has(target)
}

/**
 * An entry path relative to the target with `/`, without `./` segments and trailing slashes ('' for the target
 * itself), or undefined when it is absolute or has a `..` segment (pure).
 */
export function normaliseEntryPath(raw: string): string | undefined {
  if (raw.startsWith('/') || raw.includes('\0')) return undefined
  const segments = raw.split('/').filter((segment) => segment !== '' && segment !== '.')
  if (segments.includes('..')) return undefined
  return segments.join('/')
}

/**
 * A pass-through stream that reads the tar headers going by (bodies are skipped, not copied), counts the entries,
 * and finds those that would land outside the target. With `refuseUnsafe`, the first unsafe entry fails the stream
 * before the chunk holding its header is passed on. `result()` is complete once the stream has finished.
 *
 * With `batchBytes`, chunks are passed on in batches of at least that many bytes, and `bufferBytes` sets how much
 * it accepts before asking its source to pause. Both matter when the source is an undici body: pausing and resuming
 * it for every 32 KiB chunk cost ~16 ms each here (1 MiB/s into gzip), and gzip pays per chunk it is given
 * (scripts/bench-backup.ts measures it). Memory stays bounded by these two sizes.
 */
export class TarScanner extends Transform {
  private readonly parser: Parser
  private readonly symlinks = new Set<string>()
  private readonly state: TarScanResult = {entries: 0, tarBytes: 0, unsafe: [], unsafeCount: 0, complete: false}
  private readonly archiveEnd = new TarEndTracker()
  private parseError: Error | undefined
  private pending: Buffer[] = []
  private pendingBytes = 0

  constructor(private readonly options: {refuseUnsafe?: boolean; batchBytes?: number; bufferBytes?: number} = {}) {
    super({writableHighWaterMark: options.bufferBytes, readableHighWaterMark: options.batchBytes})
    this.parser = new Parser({
      strict: true,
      brotli: false,
      zstd: false,
      filter: (path, entry) => {
        this.onEntry(path, entry as unknown as {type: string; linkpath?: string})
        return false // skip the body: nothing is buffered or copied
      },
    })
    this.parser.on('error', (error: Error) => {
      this.parseError ??= new Error(`not a readable tar archive: ${error.message}`)
    })
  }

  /** The scan so far; final after 'finish'. */
  result(): TarScanResult {
    return {...this.state, unsafe: [...this.state.unsafe]}
  }

  private onEntry(path: string, entry: {type: string; linkpath?: string}): void {
    this.state.entries++
    const reason = unsafeEntryReason({path, type: entry.type, linkpath: entry.linkpath}, this.symlinks)
    if (reason) {
      this.state.unsafeCount++
      if (this.state.unsafe.length < KEPT_UNSAFE) this.state.unsafe.push(reason)
      return
    }
    if (makesSymlink(entry, this.symlinks)) this.symlinks.add(normaliseEntryPath(path)!)
  }

  override _transform(chunk: Buffer, _encoding: BufferEncoding, callback: TransformCallback): void {
    this.state.tarBytes += chunk.byteLength
    this.archiveEnd.update(chunk)
    const proceed = (): void => {
      if (this.parseError) return callback(this.parseError)
      if (this.options.refuseUnsafe && this.state.unsafeCount > 0) return callback(new UnsafeArchiveError(this.state.unsafe))
      if (!this.options.batchBytes) return callback(null, chunk)
      this.pending.push(chunk)
      this.pendingBytes += chunk.byteLength
      if (this.pendingBytes >= this.options.batchBytes) this.pushPending()
      callback()
    }
    if (this.parser.write(chunk)) proceed()
    else this.parser.once('drain', proceed)
  }

  override _flush(callback: TransformCallback): void {
    this.parser.end(() => {
      this.state.complete = this.archiveEnd.complete
      if (this.parseError) return callback(this.parseError)
      if (this.options.refuseUnsafe && this.state.unsafeCount > 0) return callback(new UnsafeArchiveError(this.state.unsafe))
      this.pushPending()
      callback()
    })
  }

  private pushPending(): void {
    if (this.pendingBytes === 0) return
    const batch = this.pending.length === 1 ? this.pending[0]! : Buffer.concat(this.pending, this.pendingBytes)
    this.pending = []
    this.pendingBytes = 0
    this.push(batch)
  }
}

/** A tar archive holds entries that would land outside the target. */
export class UnsafeArchiveError extends Error {
  override readonly name = 'UnsafeArchiveError'
  constructor(readonly reasons: string[]) {
    super(`the archive holds entries outside its target: ${reasons.join('; ')}`)
  }
}
