import * as fs from 'node:fs/promises'
import {mkdir, stat} from 'node:fs/promises'
import {join} from 'node:path'
import {afterEach, beforeEach, describe, expect, it, vi} from 'vitest'
import {ensurePrivateDirs} from '../../../src/backup/durable-fs.js'
import {tempDir} from './fixtures.js'

// every open() goes to the real one; the test reads which directories were opened for an fsync
vi.mock('node:fs/promises', async (importOriginal) => {
  const actual = await importOriginal<typeof import('node:fs/promises')>()
  return {...actual, open: vi.fn(actual.open)}
})

let root: string
let cleanup: () => Promise<void>
beforeEach(async () => {
  ;({dir: root, cleanup} = await tempDir())
  vi.mocked(fs.open).mockClear()
})
afterEach(async () => {
  await cleanup()
})

/** Paths opened read-only: syncDir opens a directory with 'r' to fsync it. */
function syncedDirs(): string[] {
  return vi.mocked(fs.open).mock.calls.filter(([, flags]) => flags === 'r').map(([path]) => String(path))
}

describe('ensurePrivateDirs', () => {
  it('fsyncs the parent of every directory it creates, top down', async () => {
    const deep = join(root, 'a', 'b', 'c')
    await ensurePrivateDirs(deep)
    expect((await stat(deep)).mode & 0o777).toBe(0o700)
    expect(syncedDirs()).toEqual([root, join(root, 'a'), join(root, 'a', 'b')])
  })

  it('fsyncs nothing when every directory exists', async () => {
    await mkdir(join(root, 'x'))
    await ensurePrivateDirs(join(root, 'x'))
    expect(syncedDirs()).toEqual([])
  })
})
