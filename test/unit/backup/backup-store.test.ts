import {mkdir, readFile, rm, writeFile} from 'node:fs/promises'
import {join} from 'node:path'
import {afterEach, beforeEach, describe, expect, it} from 'vitest'
import {listBackups, loadBackup} from '../../../src/backup/backup-store.js'
import {writeBackup} from '../../../src/backup/write-backup.js'
import {ClinicalError, RefusedError} from '../../../src/errors.js'
import {ExitCode} from '../../../src/exit-codes.js'
import {PROBES, fakeService, tempDir} from './fixtures.js'

let root: string
let cleanup: () => Promise<void>
beforeEach(async () => {
  ;({dir: root, cleanup} = await tempDir())
})
afterEach(async () => {
  await cleanup()
})

async function backupAt(iso: string, services = [fakeService('shop_web')], appVersion?: string) {
  return writeBackup({stack: 'shop', backupDir: root, configDirRequired: false, probes: PROBES, now: new Date(iso), services, appVersion})
}

describe('listBackups', () => {
  it('lists complete backups newest first with their counts and sizes', async () => {
    const older = await backupAt('2024-01-01T10:00:00Z', [fakeService('shop_web'), fakeService('shop_db')], '1.0')
    const newer = await backupAt('2024-02-01T10:00:00Z', [], '2.0')
    const list = await listBackups(root, 'shop')
    expect(list.map((summary) => summary.id)).toEqual([newer.id, older.id])
    const manifestBytes = (await readFile(join(older.dir, 'manifest.json'))).length
    expect(list[1]).toEqual({
      id: '20240101-100000',
      dir: older.dir,
      createdAt: '2024-01-01T10:00:00.000Z',
      services: 2,
      volumes: 0,
      sizeBytes: older.manifest.files.reduce((sum, file) => sum + file.size, manifestBytes),
      appVersion: '1.0',
    })
  })

  it('ignores partial dirs, dirs without a manifest, broken manifests, other names and other stacks', async () => {
    const good = await backupAt('2024-01-01T10:00:00Z')
    const stackDir = join(root, 'shop')
    await mkdir(join(stackDir, '20240301-000000.partial'))
    await writeFile(join(stackDir, '20240301-000000.partial', 'manifest.json'), JSON.stringify(good.manifest))
    await mkdir(join(stackDir, '20240302-000000')) // died before the manifest
    await mkdir(join(stackDir, '20240303-000000'))
    await writeFile(join(stackDir, '20240303-000000', 'manifest.json'), '{"formatVersion": 1, "stack": "sh') // half-written
    await mkdir(join(stackDir, '20240304-000000'))
    await writeFile(join(stackDir, '20240304-000000', 'manifest.json'), JSON.stringify({...good.manifest, stack: 'other'}))
    await mkdir(join(stackDir, 'notes'))
    expect((await listBackups(root, 'shop')).map((summary) => summary.id)).toEqual([good.id])
  })

  it('is empty when the stack has no backup dir', async () => {
    expect(await listBackups(join(root, 'nowhere'), 'shop')).toEqual([])
  })
})

describe('loadBackup', () => {
  it('loads the newest backup when no id is given, and a given one by id', async () => {
    const older = await backupAt('2024-01-01T10:00:00Z', [fakeService('shop_web', 'img:old')])
    const newer = await backupAt('2024-02-01T10:00:00Z', [fakeService('shop_web', 'img:new'), fakeService('shop_db')])
    const newest = await loadBackup(root, 'shop')
    expect(newest.id).toBe(newer.id)
    expect(newest.dir).toBe(newer.dir)
    expect(newest.manifest).toEqual(newer.manifest)
    expect(newest.services).toEqual(newer.services)
    const byId = await loadBackup(root, 'shop', older.id)
    expect(byId.services.map((snapshot) => snapshot.spec.TaskTemplate.ContainerSpec?.Image)).toEqual(['img:old'])
  })

  it('refuses an unknown id, listing the ids that exist', async () => {
    await backupAt('2024-01-01T10:00:00Z')
    await backupAt('2024-02-01T10:00:00Z')
    const attempt = loadBackup(root, 'shop', '20230101-000000')
    await expect(attempt).rejects.toBeInstanceOf(RefusedError)
    await expect(attempt).rejects.toThrow(
      `backup 20230101-000000 not found in ${join(root, 'shop')}; backups of stack shop: 20240201-100000, 20240101-100000`,
    )
  })

  it('refuses when there are no backups, saying where it looked', async () => {
    await expect(loadBackup(root, 'shop')).rejects.toThrow(`no backups of stack shop in ${join(root, 'shop')}`)
    await expect(loadBackup(root, 'shop', 'latest')).rejects.toThrow(`backup latest not found: there are no backups of stack shop in ${join(root, 'shop')}`)
    await expect(loadBackup(root, 'shop', 'latest')).rejects.toMatchObject({exitCode: ExitCode.Refused})
  })

  it('says a backup is incomplete when its dir exists without a manifest', async () => {
    await mkdir(join(root, 'shop', '20240302-000000'), {recursive: true})
    await expect(loadBackup(root, 'shop', '20240302-000000')).rejects.toThrow(/backup 20240302-000000 in .* is not a complete backup of stack shop: .*manifest\.json: it is missing/)
  })

  it('refuses a service file whose sha256 does not match the manifest, naming the file', async () => {
    const backup = await backupAt('2024-01-01T10:00:00Z', [fakeService('shop_web'), fakeService('shop_db')])
    const file = join(backup.dir, 'services', 'shop_web.json')
    const text = await readFile(file, 'utf8')
    await writeFile(file, text.replace('clinical-test', 'clinical-tesu'))
    const attempt = loadBackup(root, 'shop', backup.id)
    await expect(attempt).rejects.toBeInstanceOf(ClinicalError)
    await expect(attempt).rejects.toThrow(`backup ${backup.id} is damaged: ${file} does not match its manifest`)
  })

  it('refuses a backup whose service file is missing, naming the file', async () => {
    const backup = await backupAt('2024-01-01T10:00:00Z')
    const file = join(backup.dir, 'services', 'shop_web.json')
    await rm(file)
    await expect(loadBackup(root, 'shop')).rejects.toThrow(`backup ${backup.id} is damaged: ${file} cannot be read`)
  })
})
