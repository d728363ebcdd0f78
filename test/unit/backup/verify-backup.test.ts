import {mkdir, readFile, rm, writeFile} from 'node:fs/promises'
import {join} from 'node:path'
import {afterEach, beforeEach, describe, expect, it} from 'vitest'
import {verifyBackup} from '../../../src/backup/verify-backup.js'
import {writeBackup} from '../../../src/backup/write-backup.js'
import type {Backup} from '../../../src/backup/types.js'
import {PROBES, fakeService, tempDir} from './fixtures.js'

let root: string
let cleanup: () => Promise<void>
let backup: Backup
beforeEach(async () => {
  ;({dir: root, cleanup} = await tempDir())
  const configDir = join(root, 'config')
  await mkdir(configDir)
  await writeFile(join(configDir, 'app.yml'), 'a: 1\n')
  backup = await writeBackup({
    stack: 'shop',
    backupDir: join(root, 'backups'),
    configDir,
    configDirRequired: true,
    probes: PROBES,
    services: [fakeService('shop_web'), fakeService('shop_db')],
  })
})
afterEach(async () => {
  await cleanup()
})

async function flipOneByte(path: string, at: number): Promise<void> {
  const bytes = await readFile(path)
  bytes[at] = bytes[at]! ^ 0x01
  await writeFile(path, bytes)
}

describe('verifyBackup', () => {
  it('passes a backup as written', async () => {
    expect(await verifyBackup(backup.dir)).toEqual({ok: true, problems: []})
  })

  it('names a file with one changed byte (same size)', async () => {
    await flipOneByte(join(backup.dir, 'services', 'shop_db.json'), 10)
    const result = await verifyBackup(backup.dir)
    expect(result.ok).toBe(false)
    expect(result.problems).toHaveLength(1)
    expect(result.problems[0]!.path).toBe('services/shop_db.json')
    expect(result.problems[0]!.problem).toMatch(/^changed: sha256 [0-9a-f]{64} \(manifest: [0-9a-f]{64}\)$/)
  })

  it('names a changed archive, with its size when that changed too', async () => {
    const archive = join(backup.dir, 'config.tar.gz')
    await writeFile(archive, Buffer.concat([await readFile(archive), Buffer.from('x')]))
    const result = await verifyBackup(backup.dir)
    expect(result.problems).toEqual([{path: 'config.tar.gz', problem: expect.stringMatching(/^changed: .*size \d+ bytes \(manifest: \d+\)$/)}])
  })

  it('names a missing file and an extra one', async () => {
    await rm(join(backup.dir, 'services', 'shop_web.json'))
    await writeFile(join(backup.dir, 'services', 'intruder.json'), '{}')
    await writeFile(join(backup.dir, 'notes.txt'), 'hi')
    const result = await verifyBackup(backup.dir)
    expect(result.ok).toBe(false)
    expect(result.problems).toEqual([
      {path: 'services/shop_web.json', problem: 'missing'},
      {path: 'notes.txt', problem: 'not in the manifest (added after the backup was taken)'},
      {path: 'services/intruder.json', problem: 'not in the manifest (added after the backup was taken)'},
    ])
  })

  it('reports a missing manifest as the one problem', async () => {
    await rm(join(backup.dir, 'manifest.json'))
    const result = await verifyBackup(backup.dir)
    expect(result.ok).toBe(false)
    expect(result.problems).toEqual([{path: 'manifest.json', problem: expect.stringContaining('it is missing')}])
  })

  it('rejects a manifest that points outside the backup', async () => {
    const manifest = {...backup.manifest, files: [...backup.manifest.files, {path: '../../etc/passwd', size: 1, sha256: 'a'.repeat(64)}]}
    await writeFile(join(backup.dir, 'manifest.json'), JSON.stringify(manifest))
    const result = await verifyBackup(backup.dir)
    expect(result.ok).toBe(false)
    expect(result.problems).toEqual([{path: 'manifest.json', problem: expect.stringContaining('"../../etc/passwd" is not allowed')}])
  })
})
