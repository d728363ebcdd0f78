import {mkdir, symlink, writeFile} from 'node:fs/promises'
import {join} from 'node:path'
import {afterEach, beforeEach, describe, expect, it} from 'vitest'
import {MANIFEST_ALLOWANCE_BYTES, SPEC_ALLOWANCE_BYTES, estimateBackupBytes} from '../../../src/backup/estimate.js'
import {tempDir} from './fixtures.js'

let root: string
let cleanup: () => Promise<void>
beforeEach(async () => {
  ;({dir: root, cleanup} = await tempDir())
})
afterEach(async () => {
  await cleanup()
})

describe('estimateBackupBytes', () => {
  it('adds the config dir size (regular files, symlinks not followed) to an allowance per service', async () => {
    await mkdir(join(root, 'sub'))
    await writeFile(join(root, 'a'), Buffer.alloc(1000))
    await writeFile(join(root, 'sub', 'b'), Buffer.alloc(234))
    await symlink('/usr', join(root, 'link-to-usr'))
    expect(await estimateBackupBytes({configDir: root, serviceCount: 3})).toBe(1234 + 3 * SPEC_ALLOWANCE_BYTES + MANIFEST_ALLOWANCE_BYTES)
  })

  it('counts no config bytes for a missing or absent config dir', async () => {
    expect(await estimateBackupBytes({configDir: join(root, 'missing'), serviceCount: 2})).toBe(2 * SPEC_ALLOWANCE_BYTES + MANIFEST_ALLOWANCE_BYTES)
    expect(await estimateBackupBytes({serviceCount: 0})).toBe(MANIFEST_ALLOWANCE_BYTES)
  })
})
