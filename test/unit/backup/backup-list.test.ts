import {writeFile} from 'node:fs/promises'
import {join} from 'node:path'
import {afterEach, beforeEach, describe, expect, it} from 'vitest'
import {listBackupsWithStatus, verifyBackupById} from '../../../src/backup/backup-list.js'
import {formatBackupTable} from '../../../src/backup/backup-table.js'
import {writeBackup} from '../../../src/backup/write-backup.js'
import {RefusedError} from '../../../src/errors.js'
import {PROBES, fakeService, tempDir} from './fixtures.js'

let root: string
let cleanup: () => Promise<void>
beforeEach(async () => {
  ;({dir: root, cleanup} = await tempDir())
})
afterEach(async () => {
  await cleanup()
})

const backupAt = (iso: string) =>
  writeBackup({stack: 'shop', backupDir: root, configDirRequired: false, probes: PROBES, now: new Date(iso), services: [fakeService('shop_web')], appVersion: '2.1', takenBy: 'clinical deploy'})

describe('backup verify and list', () => {
  it('verifies by id, records the result, and lists it with each backup (never verified: null)', async () => {
    const older = await backupAt('2024-01-01T00:00:00Z')
    const newer = await backupAt('2024-01-02T00:00:00Z')
    expect(await verifyBackupById(root, 'shop', older.id)).toEqual({id: older.id, dir: older.dir, ok: true, problems: []})
    await writeFile(join(newer.dir, 'services', 'shop_web.json'), '{}')
    const damaged = await verifyBackupById(root, 'shop', newer.id)
    expect(damaged.ok).toBe(false)
    expect(damaged.problems.map((problem) => problem.path)).toEqual(['services/shop_web.json'])

    const third = await backupAt('2024-01-03T00:00:00Z')
    const listed = await listBackupsWithStatus(root, 'shop')
    expect(listed.map((backup) => [backup.id, backup.verified?.ok ?? null])).toEqual([
      [third.id, null],
      [newer.id, false],
      [older.id, true],
    ])
    const table = formatBackupTable('shop', listed)
    expect(table.split('\n')[0]).toMatch(/^ID\s+CREATED\s+TAKEN BY\s+APP VERSION\s+SIZE\s+SERVICES\s+VOLUMES\s+VERIFIED$/)
    expect(table).toMatch(new RegExp(`${newer.id}\\s+2024-01-02T00:00:00Z\\s+clinical deploy\\s+2\\.1\\s+\\S+ \\S+\\s+1\\s+0\\s+NO`))
    expect((await listBackupsWithStatus(root, 'shop', {verifyNow: true})).map((backup) => backup.verified?.ok)).toEqual([true, false, true])
  })

  it('refuses an unknown id (exit 2) listing the ids there are, and a string that is no id', async () => {
    const only = await backupAt('2024-01-01T00:00:00Z')
    await expect(verifyBackupById(root, 'shop', '20230101-000000')).rejects.toThrow(`backup 20230101-000000 not found in ${join(root, 'shop')}; backups of stack shop: ${only.id}`)
    await expect(verifyBackupById(root, 'shop', '../etc')).rejects.toBeInstanceOf(RefusedError)
    expect(formatBackupTable('shop', [])).toBe('no backups of stack shop')
  })
})
