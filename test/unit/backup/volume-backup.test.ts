/**
 * writeBackup with volume archives (no Docker: the volume sources archive local directories; the real helper
 * container path is tested on the swarm in test/integration/backup-volumes.test.ts).
 */
import {mkdir, readFile, readdir, stat, writeFile} from 'node:fs/promises'
import {join} from 'node:path'
import {afterEach, beforeEach, describe, expect, it} from 'vitest'
import {listBackups} from '../../../src/backup/backup-store.js'
import {parseManifest} from '../../../src/backup/manifest.js'
import {verifyBackup} from '../../../src/backup/verify-backup.js'
import {writeBackup} from '../../../src/backup/write-backup.js'
import {ClinicalError} from '../../../src/errors.js'
import {ExitCode} from '../../../src/exit-codes.js'
import {Redactor} from '../../../src/secrets/redact.js'
import {PROBES, dirVolumeSource, fakeService, tempDir} from './fixtures.js'

let root: string
let cleanup: () => Promise<void>
let volumeDir: string
beforeEach(async () => {
  ;({dir: root, cleanup} = await tempDir())
  volumeDir = join(root, 'volume')
  await mkdir(join(volumeDir, 'notes'), {recursive: true})
  await writeFile(join(volumeDir, 'notes', 'a.csv'), 'patient,visit\n1,2\n')
  await writeFile(join(volumeDir, 'b.bin'), Buffer.alloc(5000, 7))
})
afterEach(async () => {
  await cleanup()
})

const base = () => ({stack: 'shop', backupDir: join(root, 'backups'), configDirRequired: false, probes: PROBES, services: [fakeService('shop_web')]})

describe('writeBackup with volumes', () => {
  it('writes volumes/<name>.tar.gz, lists it in files (size, sha256) and in volumes (entries, driver, labels), and verifies', async () => {
    const backup = await writeBackup({...base(), takenBy: 'clinical deploy', volumeSources: [dirVolumeSource('shop_data', volumeDir)]})
    expect(await readdir(join(backup.dir, 'volumes'))).toEqual(['shop_data.tar.gz'])
    expect((await stat(join(backup.dir, 'volumes'))).mode & 0o777).toBe(0o700)
    expect((await stat(join(backup.dir, 'volumes', 'shop_data.tar.gz'))).mode & 0o777).toBe(0o600)
    // 4 entries: ./, ./b.bin, ./notes/, ./notes/a.csv
    expect(backup.manifest.volumes).toEqual([
      {name: 'shop_data', file: 'volumes/shop_data.tar.gz', entries: 4, tarBytes: 0, driver: 'local', labels: {'com.docker.stack.namespace': 'shop'}},
    ])
    expect(backup.manifest.takenBy).toBe('clinical deploy')
    expect(backup.manifest.files.map((file) => file.path)).toEqual(['services/shop_web.json', 'volumes/shop_data.tar.gz'])
    expect(await verifyBackup(backup.dir)).toEqual({ok: true, problems: []})
    expect(parseManifest(await readFile(join(backup.dir, 'manifest.json'), 'utf8'), 'm')).toEqual(backup.manifest)
  })

  it('a volume that fails half-way fails the backup (exit 2, naming the volume) and leaves no backup, partial or complete', async () => {
    const attempt = writeBackup({...base(), volumeSources: [dirVolumeSource('shop_data', volumeDir, {failWith: new Error('Docker stream cut')})]})
    await expect(attempt).rejects.toBeInstanceOf(ClinicalError)
    await expect(attempt).rejects.toMatchObject({exitCode: ExitCode.Refused})
    await expect(attempt).rejects.toThrow('cannot archive volume shop_data: Docker stream cut')
    expect(await readdir(join(root, 'backups', 'shop'))).toEqual([])
    expect(await listBackups(join(root, 'backups'), 'shop')).toEqual([])
  })

  it('a disk-full error while writing an archive is named as the backup dir filling up', async () => {
    const full = Object.assign(new Error('ENOSPC: no space left on device, write'), {code: 'ENOSPC', syscall: 'write'})
    const attempt = writeBackup({...base(), volumeSources: [dirVolumeSource('shop_data', volumeDir, {failWith: full})]})
    await expect(attempt).rejects.toThrow(/^disk full writing .*volumes\/shop_data\.tar\.gz: free space there or choose another --backup-dir/)
    expect(await readdir(join(root, 'backups', 'shop'))).toEqual([])
  })

  it('redacts secret values in volume labels, never in volume names or paths (the manifest must keep naming its files)', async () => {
    const source = {...dirVolumeSource('shop_hunter2pw_data', volumeDir), labels: {'backup.password': 'hunter2pw'}}
    const backup = await writeBackup({...base(), volumeSources: [source], redactor: new Redactor(['hunter2pw'])})
    expect(backup.manifest.volumes[0]).toMatchObject({name: 'shop_hunter2pw_data', file: 'volumes/shop_hunter2pw_data.tar.gz', labels: {'backup.password': '***'}})
    expect(await verifyBackup(backup.dir)).toEqual({ok: true, problems: []})
  })

  it('puts the volume notes (skipped, not on this node) into the manifest', async () => {
    const backup = await writeBackup({...base(), volumeNotes: ['volume shop_cache not archived: mounted by service shop_web but not on this node']})
    expect(backup.manifest.notes).toContain('volume shop_cache not archived: mounted by service shop_web but not on this node')
    expect(backup.manifest.volumes).toEqual([])
  })
})
