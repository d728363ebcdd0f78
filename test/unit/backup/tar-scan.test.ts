import {Readable, Writable} from 'node:stream'
import {pipeline} from 'node:stream/promises'
import {Header, Pax} from 'tar'
import {describe, expect, it} from 'vitest'
import {TarScanner, UnsafeArchiveError, makesSymlink, normaliseEntryPath, unsafeEntryReason} from '../../../src/backup/tar-scan.js'

type Entry = {path: string; type?: 'File' | 'Directory' | 'SymbolicLink' | 'Link'; body?: string | Buffer; linkpath?: string}

/** A tar archive built header by header (tar's Header), so that unsafe entries can be made on purpose. */
function tarOf(entries: Entry[], options: {endBlocks?: boolean} = {}): Buffer {
  const blocks: Buffer[] = []
  for (const entry of entries) {
    const body = Buffer.isBuffer(entry.body) ? entry.body : Buffer.from(entry.body ?? '')
    const header = Buffer.alloc(512)
    new Header({
      path: entry.path,
      type: entry.type ?? 'File',
      size: body.length,
      mode: 0o644,
      mtime: new Date(0),
      uid: 0,
      gid: 0,
      linkpath: entry.linkpath,
    }).encode(header, 0)
    blocks.push(header)
    if (body.length > 0) blocks.push(body, Buffer.alloc((512 - (body.length % 512)) % 512))
  }
  if (options.endBlocks !== false) blocks.push(Buffer.alloc(1024))
  return Buffer.concat(blocks)
}

/** Stream `bytes` through a scanner in chunks of `chunkBytes`; returns what came out and the scan. */
async function scan(bytes: Buffer, options: ConstructorParameters<typeof TarScanner>[0] = {}, chunkBytes = 700) {
  const scanner = new TarScanner(options)
  const out: Buffer[] = []
  const chunks: Buffer[] = []
  for (let offset = 0; offset < bytes.length; offset += chunkBytes) chunks.push(bytes.subarray(offset, offset + chunkBytes))
  const sink = new Writable({
    write(chunk: Buffer, _encoding, callback) {
      out.push(chunk)
      callback()
    },
  })
  const error = await pipeline(Readable.from(chunks), scanner, sink).then(
    () => undefined,
    (failure: Error) => failure,
  )
  return {error, output: Buffer.concat(out), outputChunks: out.length, result: scanner.result()}
}

describe('normaliseEntryPath', () => {
  it('makes entry paths relative to the target and refuses absolute and .. paths', () => {
    expect(normaliseEntryPath('./')).toBe('')
    expect(normaliseEntryPath('./a/b/')).toBe('a/b')
    expect(normaliseEntryPath('a//./b')).toBe('a/b')
    expect(normaliseEntryPath('../x')).toBeUndefined()
    expect(normaliseEntryPath('./a/../../x')).toBeUndefined()
    expect(normaliseEntryPath('/etc/passwd')).toBeUndefined()
    expect(normaliseEntryPath('a..b/c..')).toBe('a..b/c..')
  })
})

describe('unsafeEntryReason', () => {
  it('refuses entries written through a symbolic link of the same archive, and hard links to outside', () => {
    const links = new Set(['esc'])
    expect(unsafeEntryReason({path: './esc/passwd', type: 'File'}, links)).toMatch(/through the symbolic link "esc"/)
    expect(unsafeEntryReason({path: './escape.txt', type: 'File'}, links)).toBeUndefined()
    expect(unsafeEntryReason({path: './esc', type: 'File'}, links)).toBeUndefined()
    expect(unsafeEntryReason({path: './h', type: 'Link', linkpath: '../../etc/shadow'}, new Set())).toMatch(/hard link/)
    expect(unsafeEntryReason({path: './h', type: 'Link', linkpath: './a.txt'}, new Set())).toBeUndefined()
    expect(unsafeEntryReason({path: './s', type: 'SymbolicLink', linkpath: '/etc/passwd'}, new Set())).toBeUndefined()
  })

  it('refuses a hard link whose target lies below a symbolic link of the archive', () => {
    const links = new Set(['l'])
    expect(unsafeEntryReason({path: './h', type: 'Link', linkpath: 'l/passwd'}, links)).toMatch(/hard link "\.\/h" points through the symbolic link "l"/)
    expect(unsafeEntryReason({path: './h', type: 'Link', linkpath: 'l'}, links)).toBeUndefined()
  })
})

describe('makesSymlink', () => {
  it('counts symbolic links and hard links to a known symbolic link', () => {
    expect(makesSymlink({type: 'SymbolicLink', linkpath: '/etc'}, new Set())).toBe(true)
    expect(makesSymlink({type: 'Link', linkpath: './l'}, new Set(['l']))).toBe(true)
    expect(makesSymlink({type: 'Link', linkpath: './a.txt'}, new Set(['l']))).toBe(false)
    expect(makesSymlink({type: 'File'}, new Set(['l']))).toBe(false)
  })
})

describe('TarScanner', () => {
  const safe = tarOf([
    {path: './', type: 'Directory'},
    {path: './notes/', type: 'Directory'},
    {path: './notes/a.txt', body: 'x'.repeat(3000)},
    {path: './latest', type: 'SymbolicLink', linkpath: 'notes/a.txt'},
    {path: './empty'},
  ])

  it('passes every byte through unchanged, counting entries and tar bytes, and sees the end-of-archive blocks', async () => {
    const {error, output, result} = await scan(safe)
    expect(error).toBeUndefined()
    expect(output.equals(safe)).toBe(true)
    expect(result).toEqual({entries: 5, tarBytes: safe.length, unsafe: [], unsafeCount: 0, complete: true})
  })

  it('passes chunks on in batches of batchBytes when asked (the last batch may be smaller)', async () => {
    const {output, outputChunks} = await scan(safe, {batchBytes: 2048}, 512)
    expect(output.equals(safe)).toBe(true)
    expect(outputChunks).toBe(Math.ceil(safe.length / 2048))
  })

  it('says the archive is incomplete when the stream stops before the end-of-archive blocks', async () => {
    const {error, result} = await scan(tarOf([{path: './a', body: 'abc'}], {endBlocks: false}))
    expect(error).toBeUndefined()
    expect(result.complete).toBe(false)
  })

  it('fails on bytes that are not a tar archive', async () => {
    const {error} = await scan(Buffer.from('this is not a tar archive at all, just some text'.repeat(40)))
    expect(error?.message).toMatch(/not a readable tar archive/)
  })

  it('records unsafe entries; with refuseUnsafe it stops before passing on the chunk that holds the header', async () => {
    const evil = tarOf([
      {path: './', type: 'Directory'},
      {path: './ok.txt', body: 'ok'},
      {path: '../escaped.txt', body: 'escaped'},
    ])
    const recorded = await scan(evil)
    expect(recorded.error).toBeUndefined()
    expect(recorded.result.unsafeCount).toBe(1)
    expect(recorded.result.unsafe[0]).toContain('../escaped.txt')

    const refused = await scan(evil, {refuseUnsafe: true}, 512)
    expect(refused.error).toBeInstanceOf(UnsafeArchiveError)
    expect(refused.error?.message).toContain('../escaped.txt')
    // './', './ok.txt' header and its body block went on; the block with the ../ header did not
    expect(refused.output.length).toBe(3 * 512)
  })

  it('refuses an entry written through a symbolic link defined earlier in the archive', async () => {
    const {error} = await scan(
      tarOf([
        {path: './esc', type: 'SymbolicLink', linkpath: '/'},
        {path: './esc/etc/cron.d/x', body: 'evil'},
      ]),
      {refuseUnsafe: true},
    )
    expect(error?.message).toContain('symbolic link "esc"')
  })

  it('refuses an entry written through a hard link to a symbolic link (the hard link is a symbolic link too)', async () => {
    const {error} = await scan(
      tarOf([
        {path: './', type: 'Directory'},
        {path: './l', type: 'SymbolicLink', linkpath: '/etc'},
        {path: './h', type: 'Link', linkpath: 'l'},
        {path: './h/passwd', body: 'root::0:0::/:/bin/sh\n'},
      ]),
      {refuseUnsafe: true},
    )
    expect(error).toBeInstanceOf(UnsafeArchiveError)
    expect(error?.message).toContain('"./h/passwd" is written through the symbolic link "h"')
  })

  it('says the archive is incomplete when it stops right after the body of a file whose last KiB is zero', async () => {
    const entries: Entry[] = [
      {path: './', type: 'Directory'},
      {path: './zeros.bin', body: Buffer.alloc(8192)},
    ]
    // 512-byte chunks: the parser reads what it was given (with a body's tail in a short last chunk it says truncated)
    const cut = await scan(tarOf(entries, {endBlocks: false}), {}, 512)
    expect(cut.error).toBeUndefined()
    expect(cut.result.complete).toBe(false)
    // one end block only is not the end either
    const oneBlock = await scan(Buffer.concat([tarOf(entries, {endBlocks: false}), Buffer.alloc(512)]), {}, 512)
    expect(oneBlock.result.complete).toBe(false)
    const whole = await scan(tarOf(entries))
    expect(whole.result).toMatchObject({entries: 2, complete: true})
  })

  it('accepts zero padding after the end-of-archive blocks (GNU tar pads to 10 KiB records), not other bytes', async () => {
    const archive = tarOf([{path: './a', body: 'abc'}])
    expect((await scan(Buffer.concat([archive, Buffer.alloc(9216)]))).result.complete).toBe(true)
    const garbage = Buffer.concat([archive, Buffer.from('not zero'), Buffer.alloc(1016)])
    expect((await scan(garbage)).result.complete).toBe(false)
  })

  it('counts the body size of a pax size record, so zero bytes of that body are not taken for the end blocks', async () => {
    // a pax header giving the size, then a ustar header whose own size field says 0 (as for files over 8 GiB)
    const pax = new Pax({path: './big.bin', size: 8192}).encode()
    const header = Buffer.alloc(512)
    new Header({path: './big.bin', type: 'File', size: 0, mode: 0o644, mtime: new Date(0), uid: 0, gid: 0}).encode(header, 0)
    const cut = Buffer.concat([tarOf([{path: './', type: 'Directory'}], {endBlocks: false}), pax, header, Buffer.alloc(8192)])
    const truncated = await scan(cut, {}, 512)
    expect(truncated.error).toBeUndefined()
    expect(truncated.result).toMatchObject({entries: 2, complete: false})
    const whole = await scan(Buffer.concat([cut, Buffer.alloc(1024)]))
    expect(whole.result).toMatchObject({entries: 2, complete: true})
  })
})
