import * as fs from 'node:fs/promises'
import {readdir} from 'node:fs/promises'
import {join} from 'node:path'
import {afterEach, beforeEach, describe, expect, it, vi} from 'vitest'
import {writeBackup} from '../../../src/backup/write-backup.js'
import {ClinicalError} from '../../../src/errors.js'
import {ExitCode} from '../../../src/exit-codes.js'
import {PROBES, fakeService, tempDir} from './fixtures.js'

// open() is the real one unless a test makes one call fail (fault injection: fsync of a directory failing with EIO)
vi.mock('node:fs/promises', async (importOriginal) => {
  const actual = await importOriginal<typeof import('node:fs/promises')>()
  return {...actual, open: vi.fn(actual.open)}
})

const NOW = new Date('2024-05-06T07:08:09.123Z')

let root: string
let cleanup: () => Promise<void>
beforeEach(async () => {
  ;({dir: root, cleanup} = await tempDir())
})
afterEach(async () => {
  vi.mocked(fs.open).mockRestore()
  await cleanup()
})

/** The next open of `dir` for an fsync (flags 'r') fails with EIO; every other open is real. */
async function failNextDirSync(dir: string): Promise<void> {
  const actual = await vi.importActual<typeof import('node:fs/promises')>('node:fs/promises')
  let failed = false
  vi.mocked(fs.open).mockImplementation(async (...args: Parameters<typeof actual.open>) => {
    const [path, flags] = args
    if (!failed && String(path) === dir && flags === 'r') {
      failed = true
      throw Object.assign(new Error(`EIO: i/o error, fsync '${dir}'`), {code: 'EIO', path: dir})
    }
    return actual.open(...args)
  })
}

describe('writeBackup after the rename', () => {
  it('removes <id>/ (manifest first) when the fsync of the stack dir after the rename fails, and says so', async () => {
    const stackDir = join(root, 'shop')
    await fs.mkdir(stackDir, {mode: 0o700})
    await failNextDirSync(stackDir)
    const attempt = writeBackup({stack: 'shop', backupDir: root, configDirRequired: false, probes: PROBES, now: NOW, services: [fakeService('shop_web')]})
    await expect(attempt).rejects.toBeInstanceOf(ClinicalError)
    await expect(attempt).rejects.toMatchObject({exitCode: ExitCode.Refused})
    await expect(attempt).rejects.toThrow(`cannot write backup to ${stackDir}: EIO`)
    await expect(attempt).rejects.toThrow(`the backup ${join(stackDir, '20240506-070809')} was removed (its manifest first)`)
    // nothing that looks complete: no <id>/, no .partial
    expect(await readdir(stackDir)).toEqual([])
  })
})
