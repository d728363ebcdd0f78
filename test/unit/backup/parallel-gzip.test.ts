import {randomBytes} from 'node:crypto'
import {execFileSync} from 'node:child_process'
import {Readable, Writable} from 'node:stream'
import {pipeline} from 'node:stream/promises'
import {createGunzip, gunzipSync} from 'node:zlib'
import {describe, expect, it} from 'vitest'
import {ParallelGzip} from '../../../src/backup/parallel-gzip.js'

async function compress(input: Buffer, options: {blockBytes: number; concurrency: number; chunkBytes: number}): Promise<Buffer> {
  const chunks: Buffer[] = []
  for (let offset = 0; offset < input.length; offset += options.chunkBytes) chunks.push(input.subarray(offset, offset + options.chunkBytes))
  const out: Buffer[] = []
  await pipeline(
    Readable.from(chunks),
    new ParallelGzip({level: 1, blockBytes: options.blockBytes, concurrency: options.concurrency}),
    new Writable({
      write(chunk: Buffer, _encoding, callback) {
        out.push(chunk)
        callback()
      },
    }),
  )
  return Buffer.concat(out)
}

/** Mixed input: random bytes (does not compress) and repeated text. */
function mixed(size: number): Buffer {
  const text = Buffer.from('2026-11-22,patient-4711,visit-3,glucose,5.83,mmol/L\n'.repeat(Math.ceil(size / 100)))
  return Buffer.concat([randomBytes(Math.floor(size / 2)), text]).subarray(0, size)
}

describe('ParallelGzip', () => {
  const block = 64 * 1024
  for (const size of [0, 1, block - 1, block, block + 1, 5 * block + 123]) {
    for (const concurrency of [1, 3]) {
      it(`gunzips back to the input: ${size} bytes, ${concurrency} at once`, async () => {
        const input = mixed(size)
        const gz = await compress(input, {blockBytes: block, concurrency, chunkBytes: 10_000})
        expect(gunzipSync(gz).equals(input)).toBe(true)
      })
    }
  }

  it('writes one gzip member per block, in input order, which createGunzip and the gzip program read as one stream', async () => {
    const input = mixed(4 * block)
    const gz = await compress(input, {blockBytes: block, concurrency: 4, chunkBytes: 7_000})
    let members = 0
    for (let index = 0; index + 2 < gz.length; index++) if (gz[index] === 0x1f && gz[index + 1] === 0x8b && gz[index + 2] === 0x08) members++
    expect(members).toBeGreaterThanOrEqual(4)
    const out: Buffer[] = []
    await pipeline(Readable.from([gz]), createGunzip(), new Writable({write: (chunk: Buffer, _e, cb) => (out.push(chunk), cb())}))
    expect(Buffer.concat(out).equals(input)).toBe(true)
    expect(execFileSync('gzip', ['-dc'], {input: gz, maxBuffer: 16 * 1024 * 1024}).equals(input)).toBe(true)
  })
})
