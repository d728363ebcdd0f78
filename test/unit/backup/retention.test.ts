import {readdir, rm} from 'node:fs/promises'
import {join} from 'node:path'
import {afterEach, beforeEach, describe, expect, it} from 'vitest'
import {listBackups} from '../../../src/backup/backup-store.js'
import {applyRetention, planRetention} from '../../../src/backup/retention.js'
import type {BackupTrigger} from '../../../src/backup/types.js'
import {readVerifyRecord} from '../../../src/backup/verify-record.js'
import {writeBackup} from '../../../src/backup/write-backup.js'
import {PROBES, fakeService, tempDir} from './fixtures.js'

describe('planRetention', () => {
  const deploy = 'clinical deploy' as const
  const manual = 'clinical backup create' as const
  const backups = (...takenBy: Array<BackupTrigger | undefined>) => takenBy.map((by, index) => ({id: `2024010${9 - index}-000000`, takenBy: by}))

  it('keeps the newest N and removes the rest when the newest is good and was taken by a deploy', () => {
    expect(planRetention(backups(deploy, deploy, deploy, deploy), 2, '20240109-000000')).toEqual({
      keep: [
        {id: '20240109-000000', reasons: ['newest', 'newest good', 'rollback']},
        {id: '20240108-000000', reasons: ['newest']},
      ],
      remove: ['20240107-000000', '20240106-000000'],
    })
  })

  it('keeps the newest good backup beyond N when the newer ones are damaged', () => {
    expect(planRetention(backups(deploy, deploy, deploy), 1, '20240107-000000').keep).toEqual([
      {id: '20240109-000000', reasons: ['newest', 'rollback']},
      {id: '20240107-000000', reasons: ['newest good']},
    ])
  })

  it("keeps the newest backup taken by a deploy (what a rollback of the last deploy needs) behind manual ones; old ones count as a deploy's", () => {
    expect(planRetention(backups(manual, manual, deploy, deploy), 1, '20240109-000000')).toEqual({
      keep: [
        {id: '20240109-000000', reasons: ['newest', 'newest good']},
        {id: '20240107-000000', reasons: ['rollback']},
      ],
      remove: ['20240108-000000', '20240106-000000'],
    })
    expect(planRetention(backups(manual, undefined, deploy), 1, undefined).keep.map((kept) => kept.id)).toEqual(['20240109-000000', '20240108-000000'])
  })

  it('refuses a keep count below 1', () => {
    expect(() => planRetention([], 0, undefined)).toThrow(/--keep/)
  })
})

describe('applyRetention', () => {
  let root: string
  let cleanup: () => Promise<void>
  beforeEach(async () => {
    ;({dir: root, cleanup} = await tempDir())
  })
  afterEach(async () => {
    await cleanup()
  })
  const backupAt = (iso: string, takenBy: BackupTrigger) =>
    writeBackup({stack: 'shop', backupDir: root, configDirRequired: false, probes: PROBES, now: new Date(iso), services: [fakeService('shop_web')], takenBy})

  it('verifies from the newest until one passes, keeps it and the newest deploy backup, removes the others entirely', async () => {
    const oldDeploy = await backupAt('2024-01-01T00:00:00Z', 'clinical deploy')
    const lastDeploy = await backupAt('2024-01-02T00:00:00Z', 'clinical deploy')
    const good = await backupAt('2024-01-03T00:00:00Z', 'clinical backup create')
    const damaged = await backupAt('2024-01-04T00:00:00Z', 'clinical backup create')
    await rm(join(damaged.dir, 'services', 'shop_web.json'))

    const result = await applyRetention(root, 'shop', 1)
    expect(result.keep).toEqual([
      {id: damaged.id, reasons: ['newest']},
      {id: good.id, reasons: ['newest good']},
      {id: lastDeploy.id, reasons: ['rollback']},
    ])
    expect(result.remove).toEqual([oldDeploy.id])
    expect((await listBackups(root, 'shop')).map((backup) => backup.id)).toEqual([damaged.id, good.id, lastDeploy.id])
    expect((await readdir(join(root, 'shop'))).sort()).toEqual(['.verified', damaged.id, good.id, lastDeploy.id].sort())
    expect(await readVerifyRecord(join(root, 'shop'), damaged.id)).toMatchObject({ok: false})
    expect(await readVerifyRecord(join(root, 'shop'), good.id)).toMatchObject({ok: true})
  })
})
