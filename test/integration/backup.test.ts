/**
 * Backups on the real local swarm: a 2-service stack deployed with `docker stack deploy`, backed up with
 * createBackup, checked against what the Engine API returns, verified, damaged by one byte, and loaded.
 */
import {createHash} from 'node:crypto'
import {mkdir, mkdtemp, readFile, rm, stat, writeFile} from 'node:fs/promises'
import {tmpdir} from 'node:os'
import {join} from 'node:path'
import {list} from 'tar'
import {afterAll, beforeAll, expect, it} from 'vitest'
import {loadBackup, listBackups} from '../../src/backup/backup-store.js'
import {createBackup} from '../../src/backup/create-backup.js'
import type {Backup} from '../../src/backup/types.js'
import {verifyBackup} from '../../src/backup/verify-backup.js'
import {DockerClient} from '../../src/docker/client.js'
import {stackFilter} from '../../src/docker/stack.js'
import {TEST_IMAGE, describeOnSwarm, dockerStackDeploy, freePort, httpdCommand, removeStack, uniqueStackName, writeComposeFile} from '../helpers/swarm.js'

function compose(port: number): string {
  return `version: "3.8"
services:
  web:
    image: ${TEST_IMAGE.v1}
    command: ${JSON.stringify(httpdCommand(port))}
    environment:
      GRAFANA_PASSWORD: backup-it-secret-value
    networks: [hostnet]
  worker:
    image: ${TEST_IMAGE.v1}
    command: ["sleep", "3600"]
    networks: [hostnet]
networks:
  hostnet: {external: true, name: host}
`
}

describeOnSwarm('backups of a real stack', () => {
  const docker = new DockerClient()
  const stack = uniqueStackName('bak')
  let work = ''
  let backupDir = ''
  let cleanupCompose: () => Promise<void> = async () => {}
  let backup: Backup

  beforeAll(async () => {
    work = await mkdtemp(join(tmpdir(), 'clinical-backup-it-'))
    backupDir = join(work, 'backups')
    const configDir = join(work, 'config')
    await mkdir(join(configDir, 'grafana'), {recursive: true})
    await writeFile(join(configDir, 'app.yml'), 'replicas: 2\n')
    await writeFile(join(configDir, 'grafana', 'grafana.ini'), '[server]\nhttp_port = 3000\n')

    const file = await writeComposeFile(compose(await freePort()))
    cleanupCompose = file.cleanup
    await dockerStackDeploy(file.file, stack)

    backup = await createBackup(docker, {
      stack,
      backupDir,
      configDir,
      configDirRequired: true,
      appVersion: 'v1',
      probes: {healthUrls: [], appProbe: 'off'},
      signal: AbortSignal.timeout(60_000),
    })
  })

  afterAll(async () => {
    await removeStack(docker, stack)
    await cleanupCompose()
    await rm(work, {recursive: true, force: true})
    await docker.close()
  })

  it('saves each service with the exact Spec the Engine API returns', async () => {
    expect(backup.manifest.services).toEqual([`${stack}_web`, `${stack}_worker`])
    for (const name of [`${stack}_web`, `${stack}_worker`]) {
      const inspected = await docker.inspectService(name)
      const saved = JSON.parse(await readFile(join(backup.dir, 'services', `${name}.json`), 'utf8'))
      expect(saved).toEqual({
        id: inspected.ID,
        name,
        version: inspected.Version.Index,
        createdAt: inspected.CreatedAt,
        updatedAt: inspected.UpdatedAt,
        spec: inspected.Spec,
      })
    }
    const web = backup.services.find((snapshot) => snapshot.name === `${stack}_web`)
    expect(web?.spec.TaskTemplate.ContainerSpec?.Image).toBe(TEST_IMAGE.v1)
  })

  it('writes a manifest whose sha256s match the files, with no env value in it, all private', async () => {
    expect(backup.manifest.files.map((file) => file.path)).toEqual(['config.tar.gz', `services/${stack}_web.json`, `services/${stack}_worker.json`])
    for (const file of backup.manifest.files) {
      const bytes = await readFile(join(backup.dir, file.path))
      expect({path: file.path, size: bytes.length, sha256: createHash('sha256').update(bytes).digest('hex')}).toEqual(file)
      expect((await stat(join(backup.dir, file.path))).mode & 0o777).toBe(0o600)
    }
    expect((await stat(backup.dir)).mode & 0o777).toBe(0o700)
    const manifestText = await readFile(join(backup.dir, 'manifest.json'), 'utf8')
    expect(manifestText).not.toContain('backup-it-secret-value')
    expect(await readFile(join(backup.dir, 'services', `${stack}_web.json`), 'utf8')).toContain('backup-it-secret-value')
    // the stack has no volumes: none archived, none reported as skipped
    expect(backup.manifest.volumes).toEqual([])
    expect(backup.manifest.notes.filter((note) => note.includes('volume'))).toEqual([])

    const entries: string[] = []
    await list({file: join(backup.dir, 'config.tar.gz'), onReadEntry: (entry) => entries.push(entry.path)})
    expect(entries.sort()).toEqual(['./', './app.yml', './grafana/', './grafana/grafana.ini'])
  })

  it('lists and loads the backup with its snapshots', async () => {
    expect((await listBackups(backupDir, stack)).map((summary) => summary.id)).toEqual([backup.id])
    const loaded = await loadBackup(backupDir, stack)
    expect(loaded.id).toBe(backup.id)
    expect(loaded.services).toEqual(backup.services)
    expect(loaded.manifest).toEqual(backup.manifest)
  })

  it('verifies, then names the one file whose byte was changed', async () => {
    expect(await verifyBackup(backup.dir)).toEqual({ok: true, problems: []})
    const path = `services/${stack}_worker.json`
    const bytes = await readFile(join(backup.dir, path))
    bytes[5] = bytes[5]! ^ 0x01
    await writeFile(join(backup.dir, path), bytes)
    const result = await verifyBackup(backup.dir)
    expect(result.ok).toBe(false)
    expect(result.problems.map((problem) => problem.path)).toEqual([path])
    await expect(loadBackup(backupDir, stack, backup.id)).rejects.toThrow(`${join(backup.dir, path)} does not match its manifest`)
  })

  it('backs up a stack without services (first deploy) as an empty backup', async () => {
    const empty = await createBackup(docker, {
      stack: uniqueStackName('none'),
      backupDir,
      configDir: join(work, 'no-config'),
      configDirRequired: false,
      probes: {healthUrls: [], appProbe: 'off'},
    })
    expect(empty.services).toEqual([])
    expect(empty.manifest.files).toEqual([])
    expect(await docker.listServices({filters: stackFilter(empty.manifest.stack)})).toEqual([])
    expect((await verifyBackup(empty.dir)).ok).toBe(true)
  })
})
