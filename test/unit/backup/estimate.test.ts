import {mkdir, symlink, writeFile} from 'node:fs/promises'
import {join} from 'node:path'
import {afterEach, beforeEach, describe, expect, it} from 'vitest'
import {MANIFEST_ALLOWANCE_BYTES, SPEC_ALLOWANCE_BYTES, VOLUME_ALLOWANCE_BYTES, estimateBackupBytes, volumeArchiveBytes} from '../../../src/backup/estimate.js'
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

describe('volumeArchiveBytes', () => {
  it("counts each volume's data as /system/df sizes it, +1 % and an allowance; unknown sizes are named", () => {
    const sizes = new Map([
      ['shop_data', 100 * 1024 * 1024],
      ['shop_empty', 0],
      ['shop_uncounted', -1],
    ])
    const estimate = volumeArchiveBytes(sizes, ['shop_data', 'shop_empty', 'shop_uncounted', 'shop_missing'])
    expect(estimate.bytes).toBe(Math.ceil(100 * 1024 * 1024 * 1.01) + 4 * VOLUME_ALLOWANCE_BYTES)
    expect(estimate.unknown).toEqual(['shop_uncounted', 'shop_missing'])
    expect(volumeArchiveBytes(sizes, [])).toEqual({bytes: 0, unknown: []})
  })

  it('adds the volumes to the backup estimate', async () => {
    expect(await estimateBackupBytes({serviceCount: 1, volumeBytes: 5000})).toBe(SPEC_ALLOWANCE_BYTES + MANIFEST_ALLOWANCE_BYTES + 5000)
  })
})
