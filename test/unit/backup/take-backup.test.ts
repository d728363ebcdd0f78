import {readdir} from 'node:fs/promises'
import {join} from 'node:path'
import {afterEach, beforeEach, describe, expect, it, vi} from 'vitest'
import {takeBackup} from '../../../src/backup/take-backup.js'
import {verifyBackup} from '../../../src/backup/verify-backup.js'
import type {DockerClient} from '../../../src/docker/client.js'
import {RefusedError} from '../../../src/errors.js'
import {ExitCode} from '../../../src/exit-codes.js'
import {PROBES, fakeService, tempDir} from './fixtures.js'

// no swarm here: the stack lock is a stub, and verification is made to fail on purpose (fault injection)
vi.mock('../../../src/deploy/lock.js', () => ({acquireStackLock: vi.fn(async () => ({release: async () => undefined}))}))
vi.mock('../../../src/backup/verify-backup.js', () => ({verifyBackup: vi.fn()}))

/** Just what takeBackup asks of Docker with --no-backup-volumes: the stack's services. */
const docker = {listServices: async () => [fakeService('shop_web')]} as unknown as DockerClient

let root: string
let cleanup: () => Promise<void>
beforeEach(async () => {
  ;({dir: root, cleanup} = await tempDir())
  vi.mocked(verifyBackup).mockResolvedValue({ok: true, problems: []})
})
afterEach(async () => {
  await cleanup()
})

function options(extra: Partial<Parameters<typeof takeBackup>[1]> = {}): Parameters<typeof takeBackup>[1] {
  return {stack: 'shop', backupDir: root, configDirRequired: false, backupVolumes: false, extraVolumes: [], probes: PROBES, minFreeDiskBytes: 0, ...extra}
}

/** The backup directories of the stack (complete or partial). */
async function backupDirs(): Promise<string[]> {
  return readdir(join(root, 'shop')).then(
    (names) => names.filter((name) => /^\d{8}-\d{6}/.test(name)),
    () => [],
  )
}

describe('takeBackup', () => {
  it('refuses when the free disk cannot hold the estimate plus --min-free-disk, naming the dir, the free bytes and what is needed', async () => {
    const attempt = takeBackup(docker, options({minFreeDiskBytes: 1024 ** 5}))
    await expect(attempt).rejects.toBeInstanceOf(RefusedError)
    await expect(attempt).rejects.toThrow(
      new RegExp(`^not enough free disk for ${root}: [\\d.]+ [KMGTP]?B free, [\\d.]+ [KMGTP]?B needed \\(backup estimate [\\d.]+ [KMGTP]?B \\+ --min-free-disk 1 PB\\)$`),
    )
    expect(await backupDirs()).toEqual([])
  })

  it('writes and verifies the backup when the disk holds it and --min-free-disk', async () => {
    const result = await takeBackup(docker, options())
    expect(result).toMatchObject({verified: true, services: ['shop_web']})
    expect(result.removed).toBeUndefined()
    expect(await backupDirs()).toEqual([result.id])
  })

  it('removes a backup that does not verify (manifest first), so that nothing looks complete', async () => {
    vi.mocked(verifyBackup).mockResolvedValue({ok: false, problems: [{path: 'services/shop_web.json', problem: 'sha256 differs'}]})
    const result = await takeBackup(docker, options())
    expect(result).toMatchObject({verified: false, removed: true, problems: [{path: 'services/shop_web.json'}]})
    expect(await backupDirs()).toEqual([])
  })

  it('removes the backup when its verification cannot run, and says so (exit 2)', async () => {
    vi.mocked(verifyBackup).mockRejectedValue(new Error('EIO: i/o error, read'))
    const attempt = takeBackup(docker, options())
    await expect(attempt).rejects.toMatchObject({exitCode: ExitCode.Refused})
    await expect(attempt).rejects.toThrow(/^backup failed: EIO: i\/o error, read; backup \d{8}-\d{6} was not verified and was removed \(its manifest first\);/)
    expect(await backupDirs()).toEqual([])
  })
})
