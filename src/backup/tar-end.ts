import {Header, Pax} from 'tar'

const BLOCK_BYTES = 512
/** A tar stream ends with two zero blocks (Go's archive/tar, GNU tar and node-tar all write them). */
export const END_OF_ARCHIVE_BYTES = 2 * BLOCK_BYTES
/** node-tar's parser skips meta entries (pax, long names) bigger than this (its maxMetaEntrySize): so does this. */
const MAX_META_BYTES = 1024 * 1024
/** Meta entries whose body can change the size of the entry that follows them. */
const PAX_TYPES: ReadonlySet<string> = new Set(['ExtendedHeader', 'OldExtendedHeader', 'GlobalExtendedHeader'])
const META_TYPES: ReadonlySet<string> = new Set([...PAX_TYPES, 'NextFileHasLongPath', 'NextFileHasLongLinkpath', 'OldGnuLongPath'])

/**
 * Where the last entry of a tar stream ends, and whether the end-of-archive blocks follow it: fed the stream chunk
 * by chunk, it reads each header block (tar's own Header and Pax decode it, so pax `size` records count as they do
 * for the parser), skips bodies by arithmetic (header offset + 512 + size rounded up to 512; pax and long-name meta
 * headers are entries here too) and holds at most one header block and one pax body. A stream is complete when, after
 * the end of the last entry, come two zero blocks at header positions and nothing but zero bytes after them: a stream
 * cut right after the body of a file whose last KiB is zero is not.
 */
export class TarEndTracker {
  /** Bytes seen so far. */
  private offsetBytes = 0
  /** Offset of the next header block. */
  private nextHeaderAt = 0
  private readonly header = Buffer.alloc(BLOCK_BYTES)
  private headerFill = 0
  /** Offset just past the last (meta or real) entry's body. */
  private lastEntryEnd = 0
  /** Zero blocks read at header positions since the last entry. */
  private zeroBlocks = 0
  /** A non-zero byte came after the end-of-archive blocks, or a header did not decode. */
  private damaged = false
  private meta: {type: string; bodyAt: number; size: number; chunks: Buffer[]; filled: number} | undefined
  private extended: Pax | undefined
  private globalExtended: Pax | undefined

  update(chunk: Buffer): void {
    let at = 0
    while (at < chunk.byteLength && !this.damaged) {
      const position = this.offsetBytes + at
      if (this.zeroBlocks >= 2) {
        // after the end-of-archive blocks: GNU tar pads its last record with zeros; anything else is not a tar end
        for (let index = at; index < chunk.byteLength; index++) {
          if (chunk[index] !== 0) {
            this.damaged = true
            break
          }
        }
        break
      }
      if (position < this.nextHeaderAt) {
        const end = Math.min(chunk.byteLength, this.nextHeaderAt - this.offsetBytes)
        if (this.meta) this.collectMeta(chunk, at, end)
        at = end
        continue
      }
      const take = Math.min(BLOCK_BYTES - this.headerFill, chunk.byteLength - at)
      chunk.copy(this.header, this.headerFill, at, at + take)
      this.headerFill += take
      at += take
      if (this.headerFill === BLOCK_BYTES) {
        this.headerFill = 0
        this.onHeader(this.offsetBytes + at - BLOCK_BYTES)
      }
    }
    this.offsetBytes += chunk.byteLength
  }

  /** Offset just past the body of the last entry (meta entries included) seen so far. */
  get lastEntryEndBytes(): number {
    return this.lastEntryEnd
  }

  /** The stream so far ends with the end-of-archive blocks right after its last entry, and only zeros after them. */
  get complete(): boolean {
    return !this.damaged && this.zeroBlocks >= 2 && this.offsetBytes >= this.lastEntryEnd + END_OF_ARCHIVE_BYTES
  }

  private onHeader(headerAt: number): void {
    this.nextHeaderAt = headerAt + BLOCK_BYTES
    if (this.header.every((byte) => byte === 0)) {
      this.zeroBlocks++
      return
    }
    this.zeroBlocks = 0
    let header: Header
    try {
      header = new Header(this.header, 0, this.extended, this.globalExtended)
    } catch {
      this.damaged = true
      return
    }
    if (!header.cksumValid) {
      this.damaged = true
      return
    }
    const size = header.size ?? 0
    this.nextHeaderAt += Math.ceil(size / BLOCK_BYTES) * BLOCK_BYTES
    this.lastEntryEnd = this.nextHeaderAt
    this.meta = undefined
    if (!META_TYPES.has(header.type)) {
      this.extended = undefined // pax records apply to the next real entry only, as in the parser
      return
    }
    if (PAX_TYPES.has(header.type) && size > 0 && size <= MAX_META_BYTES) {
      this.meta = {type: header.type, bodyAt: headerAt + BLOCK_BYTES, size, chunks: [], filled: 0}
    }
  }

  /** Keep the part of chunk[from, to) that lies in the pax body being read; parse it once whole. */
  private collectMeta(chunk: Buffer, from: number, to: number): void {
    const meta = this.meta!
    const bodyStart = Math.max(from, meta.bodyAt + meta.filled - this.offsetBytes)
    const bodyEnd = Math.min(to, meta.bodyAt + meta.size - this.offsetBytes)
    if (bodyEnd <= bodyStart) return
    meta.chunks.push(Buffer.from(chunk.subarray(bodyStart, bodyEnd)))
    meta.filled += bodyEnd - bodyStart
    if (meta.filled < meta.size) return
    const text = Buffer.concat(meta.chunks).toString('utf8')
    if (meta.type === 'GlobalExtendedHeader') this.globalExtended = Pax.parse(text, this.globalExtended, true)
    else this.extended = Pax.parse(text, this.extended, false)
    this.meta = undefined
  }
}
