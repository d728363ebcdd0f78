/**
 * A backup that fails half-way, on the real swarm: the disk fills up while a volume archive is being streamed.
 * `<backup-dir>/<stack>` is a 256 KiB tmpfs (mounted as root) while `<backup-dir>` itself lies on a roomy
 * filesystem, so the preflight's free-space check (made on --backup-dir) passes and the real ENOSPC comes in the
 * middle of the 1 MiB volume archive: a per-stack mount filling up is the real-world case this stands for.
 * The deploy must stop with exit 2 before changing the stack, and leave nothing that looks like a complete backup.
 */
import {execFile} from 'node:child_process'
import {randomBytes} from 'node:crypto'
import {mkdir, mkdtemp, readdir, rm, writeFile} from 'node:fs/promises'
import {tmpdir} from 'node:os'
import {join} from 'node:path'
import {promisify} from 'node:util'
import {afterAll, beforeAll, expect, it} from 'vitest'
import {HELPER_LABEL} from '../../src/backup/helper-container.js'
import {readStackLock} from '../../src/deploy/lock.js'
import {DockerClient} from '../../src/docker/client.js'
import {stackFilter} from '../../src/docker/stack.js'
import {TEST_IMAGE, describeOnSwarm, dockerStackDeploy, freePort, removeStack, runClinical, uniqueStackName, webWithVolumeCompose, writeComposeFile} from '../helpers/swarm.js'

const run = promisify(execFile)


/** Every entry of backup directories (`<id>/`, `<id>.partial/`) under a stack's backup dir (relative paths). */
async function backupEntries(root: string): Promise<string[]> {
  const entries = await readdir(root, {recursive: true, withFileTypes: true})
  return entries.map((entry) => join(entry.parentPath ?? entry.path, entry.name).slice(root.length + 1)).filter((path) => /^\d{8}-\d{6}/.test(path))
}

describeOnSwarm('a backup that fails half-way (disk full) on a real swarm', () => {
  const docker = new DockerClient()
  const stack = uniqueStackName('full')
  let port = 0
  let work = ''
  let backupDir = ''
  let stackBackupDir = ''
  let mounted = false
  let cleanupCompose: () => Promise<void> = async () => {}
  let composeV2 = ''

  beforeAll(async () => {
    port = await freePort()
    work = await mkdtemp(join(tmpdir(), 'clinical-full-'))
    backupDir = join(work, 'backups')
    stackBackupDir = join(backupDir, stack)
    await mkdir(stackBackupDir, {recursive: true})
    await mkdir(join(work, 'config'))
    await writeFile(join(work, 'config', 'app.yml'), 'replicas: 1\n')
    // root is needed to mount; this suite runs on the local swarm as root (scripts/local-swarm.sh)
    await run('mount', ['-t', 'tmpfs', '-o', 'size=256k,mode=0700', 'tmpfs', stackBackupDir])
    mounted = true

    const v1 = await writeComposeFile(webWithVolumeCompose(port, TEST_IMAGE.v1))
    const v2 = await writeComposeFile(webWithVolumeCompose(port, TEST_IMAGE.v2))
    composeV2 = v2.file
    cleanupCompose = async () => {
      await v1.cleanup()
      await v2.cleanup()
    }
    await dockerStackDeploy(v1.file, stack)
    const deadline = Date.now() + 60_000
    let mountpoint: string | undefined
    while (!mountpoint && Date.now() < deadline) {
      mountpoint = (await docker.listVolumes({filters: stackFilter(stack)}))[0]?.Mountpoint
      if (!mountpoint) await new Promise((resolve) => setTimeout(resolve, 250))
    }
    if (!mountpoint) throw new Error('the stack volume was not created')
    await writeFile(join(mountpoint, 'big.bin'), randomBytes(1024 * 1024)) // does not compress: 4× the tmpfs
  })

  afterAll(async () => {
    if (mounted) await run('umount', [stackBackupDir]).catch(() => undefined)
    await removeStack(docker, stack)
    await docker.close()
    await cleanupCompose()
    await rm(work, {recursive: true, force: true})
  })

  it('the deploy stops with exit 2 naming the full disk, changes nothing, and leaves no complete-looking file', async () => {
    const before = await docker.inspectService(`${stack}_web`)
    const result = await runClinical(
      [
        'deploy',
        '--stack',
        stack,
        '--compose-file',
        composeV2,
        '--backup-dir',
        backupDir,
        '--config-dir',
        join(work, 'config'),
        '--require-env',
        'PATH',
        '--min-free-disk',
        '1MB',
        '--health-url',
        'none',
        '--app-probe',
        'off',
        '--resolve-image',
        'never',
        '--allow-root',
        '--json',
      ],
      {env: {CI: 'true'}, timeoutMs: 120_000},
    )
    expect(result.exitCode, result.stderr + result.stdout).toBe(2)
    const json = JSON.parse(result.stdout)
    expect(json.outcome).toBe('refused')
    expect(json.message).toMatch(/disk full writing \S+\/volumes\/\S+_data\.tar\.gz/)
    expect(json.message).toContain('nothing was changed')

    expect(await backupEntries(stackBackupDir)).toEqual([])
    const after = await docker.inspectService(`${stack}_web`)
    expect(after.Version.Index).toBe(before.Version.Index)
    expect(after.Spec.TaskTemplate.ContainerSpec?.Image).toBe(TEST_IMAGE.v1)
    expect(await readStackLock(docker, stack)).toBeUndefined()
    expect(await docker.listContainers({all: true, filters: {label: [`${HELPER_LABEL}.volume=${stack}_data`]}})).toEqual([])
  })

  it('backup create fails the same way: exit 2, nothing left behind', async () => {
    // --min-free-disk as in the deploy above: the free-space check passes on --backup-dir, the tmpfs fills up
    const result = await runClinical(
      ['backup', 'create', '--stack', stack, '--backup-dir', backupDir, '--config-dir', join(work, 'config'), '--min-free-disk', '1MB', '--allow-root'],
      {env: {CI: 'true'}},
    )
    expect(result.exitCode, result.stderr + result.stdout).toBe(2)
    expect(result.stderr).toMatch(/disk full writing/)
    expect(await backupEntries(stackBackupDir)).toEqual([])
    expect(await docker.listContainers({all: true, filters: {label: [`${HELPER_LABEL}.volume=${stack}_data`]}})).toEqual([])
  })
})
