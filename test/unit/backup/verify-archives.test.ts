/**
 * verifyBackup reads each .tar.gz through: an archive whose bytes match the manifest can still be unreadable,
 * incomplete, hold another number of entries than the manifest says, or hold entries outside its volume.
 * Each case rewrites the manifest to match the bad archive, so that only the archive check can catch it.
 */
import {createHash} from 'node:crypto'
import {mkdir, readFile, writeFile} from 'node:fs/promises'
import {join} from 'node:path'
import {gzipSync} from 'node:zlib'
import {Header} from 'tar'
import {afterEach, beforeEach, describe, expect, it} from 'vitest'
import {readManifest, serializeManifest} from '../../../src/backup/manifest.js'
import type {Backup, BackupManifest} from '../../../src/backup/types.js'
import {verifyBackup} from '../../../src/backup/verify-backup.js'
import {writeBackup} from '../../../src/backup/write-backup.js'
import {PROBES, dirVolumeSource, fakeService, tempDir} from './fixtures.js'

const ARCHIVE = 'volumes/shop_data.tar.gz'
let root: string
let cleanup: () => Promise<void>
let backup: Backup
beforeEach(async () => {
  ;({dir: root, cleanup} = await tempDir())
  const volumeDir = join(root, 'volume')
  await mkdir(volumeDir)
  await writeFile(join(volumeDir, 'a.txt'), 'a')
  backup = await writeBackup({
    stack: 'shop',
    backupDir: join(root, 'backups'),
    configDirRequired: false,
    probes: PROBES,
    services: [fakeService('shop_web')],
    volumeSources: [dirVolumeSource('shop_data', volumeDir)],
  })
})
afterEach(async () => {
  await cleanup()
})

/** Replace the archive with `bytes` and make the manifest match it (size, sha256; `change` edits the rest). */
async function replaceArchive(bytes: Buffer, change: (manifest: BackupManifest) => void = () => undefined): Promise<void> {
  await writeFile(join(backup.dir, ARCHIVE), bytes)
  const {manifest} = await readManifest(backup.dir)
  const sha256 = createHash('sha256').update(bytes).digest('hex')
  manifest.files = manifest.files.map((file) => (file.path === ARCHIVE ? {path: ARCHIVE, size: bytes.length, sha256} : file))
  change(manifest)
  await writeFile(join(backup.dir, 'manifest.json'), serializeManifest(manifest))
}

function tarOf(paths: string[], options: {end?: boolean} = {}): Buffer {
  const blocks = paths.map((path) => {
    const header = Buffer.alloc(512)
    new Header({path, type: path.endsWith('/') ? 'Directory' : 'File', size: 0, mode: 0o644, mtime: new Date(0)}).encode(header, 0)
    return header
  })
  return Buffer.concat([...blocks, ...(options.end === false ? [] : [Buffer.alloc(1024)])])
}

describe('verifyBackup of archives', () => {
  it('passes the archives as written: complete, the entry count of the manifest', async () => {
    expect(await verifyBackup(backup.dir)).toEqual({ok: true, problems: []})
  })

  it('names an archive holding another number of entries than its manifest says', async () => {
    await replaceArchive(gzipSync(tarOf(['./', './a.txt', './b.txt'])))
    expect((await verifyBackup(backup.dir)).problems).toEqual([{path: ARCHIVE, problem: 'archive holds 3 entries (manifest: 2)'}])
  })

  it('names an archive that is not gzip', async () => {
    await replaceArchive(Buffer.from('not gzip at all'))
    expect((await verifyBackup(backup.dir)).problems).toEqual([{path: ARCHIVE, problem: expect.stringMatching(/^archive cannot be read: /)}])
  })

  it('names a gzip cut short', async () => {
    const gz = await readFile(join(backup.dir, ARCHIVE))
    await replaceArchive(gz.subarray(0, gz.length - 20))
    expect((await verifyBackup(backup.dir)).problems).toEqual([{path: ARCHIVE, problem: expect.stringMatching(/^archive cannot be read: /)}])
  })

  it('names a tar without its end-of-archive blocks', async () => {
    await replaceArchive(gzipSync(tarOf(['./', './a.txt'], {end: false})))
    expect((await verifyBackup(backup.dir)).problems).toEqual([{path: ARCHIVE, problem: 'archive is incomplete (no end-of-archive blocks)'}])
  })

  it('names an archive with an entry outside its volume', async () => {
    await replaceArchive(gzipSync(tarOf(['./', '../../etc/cron.d/evil'])))
    const {problems} = await verifyBackup(backup.dir)
    expect(problems).toHaveLength(1)
    expect(problems[0]!.problem).toMatch(/^archive holds 1 entry outside its target: .*\.\.\/\.\.\/etc\/cron\.d\/evil/)
  })

  it('refuses a manifest whose volume is not among its files, or whose file is not volumes/<name>.tar.gz', async () => {
    const {manifest} = await readManifest(backup.dir)
    await writeFile(join(backup.dir, 'manifest.json'), serializeManifest({...manifest, files: manifest.files.filter((file) => file.path !== ARCHIVE)}))
    expect((await verifyBackup(backup.dir)).problems[0]!.problem).toContain('volume shop_data: volumes/shop_data.tar.gz is not in files')
    await writeFile(join(backup.dir, 'manifest.json'), serializeManifest({...manifest, volumes: [{...manifest.volumes[0]!, file: '../x.tar.gz'}]}))
    expect((await verifyBackup(backup.dir)).problems[0]!.problem).toContain('is not volumes/shop_data.tar.gz')
  })
})
