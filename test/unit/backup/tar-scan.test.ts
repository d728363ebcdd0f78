import {Readable, Writable} from 'node:stream'
import {pipeline} from 'node:stream/promises'
import {Header} from 'tar'
import {describe, expect, it} from 'vitest'
import {TarScanner, UnsafeArchiveError, normaliseEntryPath, unsafeEntryReason} from '../../../src/backup/tar-scan.js'

type Entry = {path: string; type?: 'File' | 'Directory' | 'SymbolicLink' | 'Link'; body?: string; linkpath?: string}

/** A tar archive built header by header (tar's Header), so that unsafe entries can be made on purpose. */
function tarOf(entries: Entry[], options: {endBlocks?: boolean} = {}): Buffer {
  const blocks: Buffer[] = []
  for (const entry of entries) {
    const body = Buffer.from(entry.body ?? '')
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
})
