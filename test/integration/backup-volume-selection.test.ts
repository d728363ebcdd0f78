/**
 * Which volumes a backup archives, on the real swarm: the stack's own volume; an external volume the stack mounts
 * is reported (not silently skipped) until `--volume` names it; an anonymous volume is reported; a `--volume` that
 * does not exist on this node is refused with exit 2; `--no-backup-volumes` says so in the manifest.
 */
import {mkdtemp, rm, writeFile} from 'node:fs/promises'
import {tmpdir} from 'node:os'
import {join} from 'node:path'
import {afterAll, beforeAll, expect, it} from 'vitest'
import {readManifest} from '../../src/backup/manifest.js'
import {DockerClient} from '../../src/docker/client.js'
import {stackFilter} from '../../src/docker/stack.js'
import {TEST_IMAGE, describeOnSwarm, dockerStackDeploy, removeStack, runClinical, uniqueStackName, writeComposeFile} from '../helpers/swarm.js'

describeOnSwarm('the volumes a backup archives, on a real swarm', () => {
  const docker = new DockerClient()
  const stack = uniqueStackName('sel')
  const external = `${stack}-shared`
  let work = ''
  let cleanupCompose: () => Promise<void> = async () => {}

  beforeAll(async () => {
    work = await mkdtemp(join(tmpdir(), 'clinical-selection-'))
    const shared = await docker.createVolume({Name: external})
    await writeFile(join(shared.Mountpoint, 'shared.txt'), 'shared by several stacks')
    const file = await writeComposeFile(`version: "3.8"
services:
  worker:
    image: ${TEST_IMAGE.v1}
    command: ["sleep", "3600"]
    volumes: ["data:/srv/data", "shared:/srv/shared", "/srv/scratch"]
    networks: [hostnet]
    stop_grace_period: 1s
volumes:
  data: {}
  shared: {external: true, name: ${external}}
networks:
  hostnet: {external: true, name: host}
`)
    cleanupCompose = file.cleanup
    await dockerStackDeploy(file.file, stack)
    const deadline = Date.now() + 60_000
    while (Date.now() < deadline && (await docker.listVolumes({filters: stackFilter(stack)})).length === 0) await new Promise((resolve) => setTimeout(resolve, 250))
  })

  afterAll(async () => {
    await removeStack(docker, stack)
    for (let attempt = 0; attempt < 60; attempt++) {
      const removed = await docker.removeVolume(external, {force: true}).then(
        () => true,
        () => false,
      )
      if (removed) break
      await new Promise((resolve) => setTimeout(resolve, 500))
    }
    await docker.close()
    await cleanupCompose()
    await rm(work, {recursive: true, force: true})
  })

  const create = (...extra: string[]) =>
    runClinical(['backup', 'create', '--stack', stack, '--backup-dir', join(work, 'backups'), '--config-dir', work, '--allow-root', '--json', ...extra], {env: {CI: 'true'}})

  it("archives the stack's volume and reports the external and the anonymous ones", async () => {
    const result = await create()
    expect(result.exitCode, result.stderr + result.stdout).toBe(0)
    const backup = JSON.parse(result.stdout)
    expect(backup.volumes.map((volume: {name: string}) => volume.name)).toEqual([`${stack}_data`])
    expect(backup.notes).toContainEqual(expect.stringContaining(`volume ${external} not archived: mounted by service ${stack}_worker but not a volume of stack ${stack} (external): add --volume ${external}`))
    expect(backup.notes).toContainEqual(expect.stringContaining(`service ${stack}_worker mounts an anonymous volume at /srv/scratch`))
  })

  it('archives an external volume named with --volume, and refuses a --volume that is not on this node (exit 2)', async () => {
    await new Promise((resolve) => setTimeout(resolve, 1100)) // a new second: a new backup id
    const result = await create('--volume', external)
    expect(result.exitCode, result.stderr + result.stdout).toBe(0)
    const backup = JSON.parse(result.stdout)
    expect(backup.volumes.map((volume: {name: string}) => volume.name)).toEqual([external, `${stack}_data`].sort())

    const missing = await create('--volume', `${stack}-nowhere`)
    expect(missing.exitCode).toBe(2)
    expect(missing.stderr).toContain(`--volume ${stack}-nowhere: there is no volume of that name on this node`)
  })

  it('--no-backup-volumes archives none and says so in the manifest', async () => {
    await new Promise((resolve) => setTimeout(resolve, 1100))
    const result = await create('--no-backup-volumes')
    expect(result.exitCode, result.stderr + result.stdout).toBe(0)
    const backup = JSON.parse(result.stdout)
    expect(backup.volumes).toEqual([])
    const {manifest} = await readManifest(backup.dir)
    expect(manifest.notes).toContain('volumes were not backed up (--no-backup-volumes)')
  })
})
