/**
 * Volume backups on the real local swarm, through the built CLI as a user runs it: a stack whose `web` service
 * mounts the volume `data`, holding files written into it. The deploy's backup archives the volume; `backup
 * verify` passes, then names the archive after one byte is changed; `rollback --restore-volumes --yes` brings a
 * changed volume back byte for byte; an archive with a `../` entry is refused before anything changes.
 */
import {createHash, randomBytes} from 'node:crypto'
import {existsSync} from 'node:fs'
import {cp, lstat, mkdir, mkdtemp, readFile, readdir, readlink, rm, stat, symlink, unlink, writeFile} from 'node:fs/promises'
import {tmpdir} from 'node:os'
import {join} from 'node:path'
import {Readable} from 'node:stream'
import {gzipSync} from 'node:zlib'
import {Header, list} from 'tar'
import {request} from 'undici'
import {afterAll, beforeAll, expect, it} from 'vitest'
import {HELPER_LABEL, withHelperContainer} from '../../src/backup/helper-container.js'
import {readManifest, serializeManifest} from '../../src/backup/manifest.js'
import {readStackLock} from '../../src/deploy/lock.js'
import {DockerClient} from '../../src/docker/client.js'
import {DockerApiError} from '../../src/docker/errors.js'
import {stackFilter} from '../../src/docker/stack.js'
import {describeOnSwarm, dockerStackDeploy, freePort, removeStack, runClinical, uniqueStackName, webWithVolumeCompose, writeComposeFile} from '../helpers/swarm.js'


/** Every entry under a directory: relative path → sha256 of a file, `dir`, or `-> target` of a link. */
async function snapshotTree(root: string): Promise<Record<string, string>> {
  const found: Record<string, string> = {}
  const walk = async (relative: string): Promise<void> => {
    for (const name of (await readdir(join(root, relative))).sort()) {
      const path = relative ? `${relative}/${name}` : name
      const info = await lstat(join(root, path))
      if (info.isSymbolicLink()) found[path] = `-> ${await readlink(join(root, path))}`
      else if (info.isDirectory()) {
        found[path] = `dir ${(info.mode & 0o777).toString(8)}`
        await walk(path)
      } else found[path] = createHash('sha256').update(await readFile(join(root, path))).digest('hex')
    }
  }
  await walk('')
  return found
}

async function waitFor<T>(what: string, probe: () => Promise<T | undefined>, timeoutMs = 60_000): Promise<T> {
  const deadline = Date.now() + timeoutMs
  while (Date.now() < deadline) {
    const value = await probe()
    if (value !== undefined) return value
    await new Promise((resolve) => setTimeout(resolve, 250))
  }
  throw new Error(`timed out waiting for ${what}`)
}

async function served(port: number): Promise<number | undefined> {
  try {
    const response = await request(`http://127.0.0.1:${port}/version`, {headersTimeout: 2000, bodyTimeout: 2000})
    await response.body.dump()
    return response.statusCode
  } catch {
    return undefined
  }
}

describeOnSwarm('volume backups and restores on a real swarm', () => {
  const docker = new DockerClient()
  const stack = uniqueStackName('vol')
  const volume = `${stack}_data`
  let port = 0
  let work = ''
  let backupDir = ''
  let composeFile = ''
  let cleanupCompose: () => Promise<void> = async () => {}
  let mountpoint = ''
  let original: Record<string, string> = {}
  let deployBackupId = ''

  /** Where the backups are: every command's flags. */
  const where = () => ['--stack', stack, '--backup-dir', backupDir]
  /** Commands that change things refuse root unless told (the tests run as root). */
  const common = () => [...where(), '--allow-root']

  beforeAll(async () => {
    port = await freePort()
    work = await mkdtemp(join(tmpdir(), 'clinical-volumes-'))
    backupDir = join(work, 'backups')
    await mkdir(join(work, 'config'))
    const file = await writeComposeFile(webWithVolumeCompose(port))
    composeFile = file.file
    cleanupCompose = file.cleanup
    await dockerStackDeploy(composeFile, stack)
    // the volume is created on this node when the task starts
    const created = await waitFor('the stack volume', async () => (await docker.listVolumes({filters: stackFilter(stack)})).find((v) => v.Name === volume))
    mountpoint = created.Mountpoint
    await mkdir(join(mountpoint, 'notes', 'deep'), {recursive: true})
    await writeFile(join(mountpoint, 'notes', 'visit-1.csv'), 'patient,visit,glucose\n4711,1,5.8\n'.repeat(500))
    await writeFile(join(mountpoint, 'notes', 'deep', 'empty.txt'), '')
    await writeFile(join(mountpoint, 'random.bin'), randomBytes(2560 * 1024)) // > 1 MiB: the archive holds several gzip members
    await symlink('notes/visit-1.csv', join(mountpoint, 'latest.csv'))
    original = await snapshotTree(mountpoint)
    await waitFor('web serving', async () => ((await served(port)) === 200 ? true : undefined))
  })

  afterAll(async () => {
    await removeStack(docker, stack)
    await docker.close()
    await cleanupCompose()
    await rm(work, {recursive: true, force: true})
  })

  it("the deploy's backup holds volumes/<stack>_data.tar.gz listing the volume's files, with its sha256 in the manifest", async () => {
    const result = await runClinical(
      [
        'deploy',
        ...common(),
        '--compose-file',
        composeFile,
        '--config-dir',
        join(work, 'config'),
        '--require-env',
        'APP_VERSION',
        '--min-free-disk',
        '1MB',
        '--health-url',
        `http://127.0.0.1:${port}/version`,
        '--app-probe',
        'off',
        '--resolve-image',
        'never',
        '--timeout',
        '60s',
        '--json',
      ],
      {env: {APP_VERSION: 'v1', CI: 'true'}, timeoutMs: 180_000},
    )
    expect(result.exitCode, result.stderr + result.stdout).toBe(0)
    deployBackupId = JSON.parse(result.stdout).backupId
    const dir = join(backupDir, stack, deployBackupId)
    const archive = join(dir, 'volumes', `${volume}.tar.gz`)
    const entries: string[] = []
    await list({file: archive, onReadEntry: (entry) => entries.push(entry.path)})
    expect(entries.sort()).toEqual(['./', './latest.csv', './notes/', './notes/deep/', './notes/deep/empty.txt', './notes/visit-1.csv', './random.bin'])

    const {manifest} = await readManifest(dir)
    const bytes = await readFile(archive)
    expect(manifest.files).toContainEqual({path: `volumes/${volume}.tar.gz`, size: bytes.length, sha256: createHash('sha256').update(bytes).digest('hex')})
    expect(manifest.volumes).toEqual([
      expect.objectContaining({name: volume, file: `volumes/${volume}.tar.gz`, entries: entries.length, driver: 'local', labels: {'com.docker.stack.namespace': stack}}),
    ])
    expect(manifest.takenBy).toBe('clinical deploy')
    expect((await stat(archive)).mode & 0o777).toBe(0o600)
    expect((await stat(join(dir, 'volumes'))).mode & 0o777).toBe(0o700)
    expect(await docker.listContainers({all: true, filters: {label: [`${HELPER_LABEL}.volume=${volume}`]}})).toEqual([])
  })

  it('backup verify passes on an intact backup and fails naming the file after one byte is changed (exit 2)', async () => {
    const created = await runClinical(['backup', 'create', ...common(), '--config-dir', join(work, 'config'), '--json'], {env: {CI: 'true'}})
    expect(created.exitCode, created.stderr + created.stdout).toBe(0)
    const backup = JSON.parse(created.stdout)
    expect(backup.verified).toBe(true)
    expect(backup.volumes).toEqual([expect.objectContaining({name: volume})])

    const intact = await runClinical(['backup', 'verify', backup.id, ...where()])
    expect(intact.exitCode, intact.stderr + intact.stdout).toBe(0)
    expect(intact.stdout).toContain('intact')

    const path = join(backup.dir, 'volumes', `${volume}.tar.gz`)
    const bytes = await readFile(path)
    const at = Math.floor(bytes.length / 2)
    bytes[at] = bytes[at]! ^ 0x40
    await writeFile(path, bytes)
    const damaged = await runClinical(['backup', 'verify', backup.id, ...where()])
    expect(damaged.exitCode).toBe(2)
    expect(damaged.stdout).toContain(`volumes/${volume}.tar.gz: changed: sha256`)
    expect(damaged.stderr).toContain(`volumes/${volume}.tar.gz`)

    const listed = await runClinical(['backup', 'list', ...where(), '--json'])
    expect(listed.exitCode, listed.stderr).toBe(0)
    const rows = JSON.parse(listed.stdout).backups as Array<{id: string; volumes: number; takenBy: string; verified: {ok: boolean} | null}>
    expect(rows.map((row) => row.id)).toEqual([backup.id, deployBackupId])
    expect(rows[0]).toMatchObject({volumes: 1, takenBy: 'clinical backup create', verified: {ok: false}})

    const unknown = await runClinical(['backup', 'verify', '19990101-000000', ...where()])
    expect(unknown.exitCode).toBe(2)
    expect(unknown.stderr).toContain(deployBackupId)
  })

  it('--restore-volumes without --yes in CI is refused with exit 2, and nothing is touched', async () => {
    const before = await docker.inspectService(`${stack}_web`)
    const result = await runClinical(['rollback', ...common(), '--to', deployBackupId, '--restore-volumes'], {env: {CI: 'true'}})
    expect(result.exitCode).toBe(2)
    expect(result.stderr).toContain('--yes')
    expect((await docker.inspectService(`${stack}_web`)).Version.Index).toBe(before.Version.Index)
    expect(await readStackLock(docker, stack)).toBeUndefined()
  })

  it('a volume changed after the backup is brought back byte for byte by rollback --restore-volumes --yes', async () => {
    await writeFile(join(mountpoint, 'notes', 'visit-1.csv'), 'overwritten after the backup\n')
    await unlink(join(mountpoint, 'random.bin'))
    await writeFile(join(mountpoint, 'created-after-backup.txt'), 'must not survive the restore')
    await mkdir(join(mountpoint, 'dir-after-backup'))
    expect(await snapshotTree(mountpoint)).not.toEqual(original)

    const result = await runClinical(['rollback', ...common(), '--to', deployBackupId, '--restore-volumes', '--yes', '--timeout', '90s', '--json'], {
      env: {CI: 'true'},
      timeoutMs: 180_000,
    })
    expect(result.exitCode, result.stderr + result.stdout).toBe(0)
    expect(JSON.parse(result.stdout).restoredVolumes).toEqual([volume])
    const restored = await docker.inspectVolume(volume)
    expect(restored.Labels).toEqual({'com.docker.stack.namespace': stack})
    expect(await snapshotTree(restored.Mountpoint)).toEqual(original)
    mountpoint = restored.Mountpoint
    expect((await docker.inspectService(`${stack}_web`)).Spec.Mode?.Replicated?.Replicas).toBe(1)
    expect(await served(port)).toBe(200)
    expect(await docker.listContainers({all: true, filters: {label: [`${HELPER_LABEL}.volume=${volume}`]}})).toEqual([])
    expect(await readStackLock(docker, stack)).toBeUndefined()
  })

  it('an archive holding a ../ entry is refused before anything changes (exit 2); Docker alone would extract what precedes it', async () => {
    // a backup whose manifest matches a crafted archive: ./ok.txt, then ../escaped.txt
    const crafted = '20000101-000000'
    const source = join(backupDir, stack, deployBackupId)
    const dir = join(backupDir, stack, crafted)
    await cp(source, dir, {recursive: true})
    const tarBytes = craftedTar([
      {path: './', type: 'Directory'},
      {path: './ok.txt', body: 'ok'},
      {path: '../escaped.txt', body: 'escaped'},
    ])
    const gz = gzipSync(tarBytes)
    await writeFile(join(dir, 'volumes', `${volume}.tar.gz`), gz)
    const {manifest} = await readManifest(dir)
    manifest.id = crafted
    manifest.files = manifest.files.map((file) =>
      file.path === `volumes/${volume}.tar.gz` ? {...file, size: gz.length, sha256: createHash('sha256').update(gz).digest('hex')} : file,
    )
    manifest.volumes = manifest.volumes.map((entry) => ({...entry, entries: 3}))
    await writeFile(join(dir, 'manifest.json'), serializeManifest(manifest))
    await rm(join(backupDir, stack, '.verified', `${crafted}.json`), {force: true})

    const verify = await runClinical(['backup', 'verify', crafted, ...where()])
    expect(verify.exitCode).toBe(2)
    expect(verify.stdout).toContain('../escaped.txt')

    const before = await docker.inspectService(`${stack}_web`)
    const result = await runClinical(['rollback', ...common(), '--to', crafted, '--restore-volumes', '--yes'], {env: {CI: 'true'}, timeoutMs: 120_000})
    expect(result.exitCode, result.stderr + result.stdout).toBe(2)
    expect(result.stderr + result.stdout).toContain('../escaped.txt')
    expect((await docker.inspectService(`${stack}_web`)).Version.Index).toBe(before.Version.Index)
    expect(await snapshotTree(mountpoint)).toEqual(original)

    // Docker's own check (the second line): it refuses the entry, but only after extracting ./ok.txt
    const scratch = `${stack}_scratch`
    await docker.createVolume({Name: scratch})
    try {
      const refused = await withHelperContainer(docker, {volume: scratch, readOnly: false}, (id) =>
        docker.putArchive(id, '/data', Readable.from([tarBytes])).then(
          () => undefined,
          (error: unknown) => error,
        ),
      )
      expect(refused).toBeInstanceOf(DockerApiError)
      expect((refused as Error).message).toContain('outside')
      const scratchDir = (await docker.inspectVolume(scratch)).Mountpoint
      expect(existsSync(join(scratchDir, 'ok.txt'))).toBe(true)
      expect(existsSync(join(scratchDir, '..', 'escaped.txt'))).toBe(false)
    } finally {
      await docker.removeVolume(scratch, {force: true}).catch(() => undefined)
    }
  })

  it('backup create --keep 1 keeps the newest backup and the newest taken by a deploy, removes the rest', async () => {
    const before = JSON.parse((await runClinical(['backup', 'list', ...where(), '--json'])).stdout).backups as Array<{id: string}>
    expect(before.length).toBeGreaterThanOrEqual(3)
    // a second passes so that the new id is the newest
    await new Promise((resolve) => setTimeout(resolve, 1100))
    const result = await runClinical(['backup', 'create', ...common(), '--keep', '1', '--json'], {env: {CI: 'true'}})
    expect(result.exitCode, result.stderr + result.stdout).toBe(0)
    const created = JSON.parse(result.stdout)
    expect(created.retention.kept).toEqual([
      {id: created.id, reasons: ['newest', 'newest good']},
      {id: deployBackupId, reasons: ['rollback']},
    ])
    const after = JSON.parse((await runClinical(['backup', 'list', ...where(), '--json'])).stdout).backups as Array<{id: string}>
    expect(after.map((backup) => backup.id)).toEqual([created.id, deployBackupId])
    expect(created.retention.removed.sort()).toEqual(before.map((backup) => backup.id).filter((id) => id !== deployBackupId).sort())
  })
})

function craftedTar(entries: Array<{path: string; type?: 'File' | 'Directory'; body?: string}>): Buffer {
  const blocks: Buffer[] = []
  for (const entry of entries) {
    const body = Buffer.from(entry.body ?? '')
    const header = Buffer.alloc(512)
    new Header({path: entry.path, type: entry.type ?? 'File', size: body.length, mode: entry.type === 'Directory' ? 0o755 : 0o644, mtime: new Date(0), uid: 0, gid: 0}).encode(header, 0)
    blocks.push(header)
    if (body.length > 0) blocks.push(body, Buffer.alloc((512 - (body.length % 512)) % 512))
  }
  blocks.push(Buffer.alloc(1024))
  return Buffer.concat(blocks)
}

