import {mkdtemp, rm, writeFile} from 'node:fs/promises'
import {tmpdir} from 'node:os'
import {join} from 'node:path'
import {list} from 'tar'
import {writeDirArchive} from '../../../src/backup/config-archive.js'
import type {VolumeSource} from '../../../src/backup/write-backup.js'
import type {ProbeSettings} from '../../../src/backup/types.js'
import type {Service} from '../../../src/docker/types.js'

export const PROBES: ProbeSettings = {healthUrls: ['http://127.0.0.1:1/health'], appProbe: 'warn'}

/** A service as the Engine API lists it, with a secret in its env (as real specs hold them). */
export function fakeService(name: string, image = 'clinical-test/busybox:v1', index = 17): Service {
  return {
    ID: `id-${name}`,
    Version: {Index: index},
    CreatedAt: '2024-01-01T00:00:00.000000001Z',
    UpdatedAt: '2024-01-02T00:00:00.000000002Z',
    Spec: {
      Name: name,
      Labels: {'com.docker.stack.namespace': 'shop', 'com.docker.stack.image': image},
      TaskTemplate: {
        ContainerSpec: {Image: image, Env: ['GRAFANA_PASSWORD=hunter2-secret', 'MODE=prod'], Args: ['httpd', '-f']},
        ForceUpdate: 0,
      },
      Mode: {Replicated: {Replicas: 1}},
    },
  } as unknown as Service
}

export async function tempDir(): Promise<{dir: string; cleanup: () => Promise<void>}> {
  const dir = await mkdtemp(join(tmpdir(), 'clinical-backup-'))
  return {dir, cleanup: () => rm(dir, {recursive: true, force: true})}
}

/**
 * A volume source for writeBackup without Docker: archives a local directory (tar package, same `./` entry
 * names as Docker's archive of /data/.) and counts its entries. `failWith` makes it fail half-way, after writing a partial file.
 */
export function dirVolumeSource(name: string, dir: string, options: {failWith?: Error} = {}): VolumeSource {
  return {
    name,
    driver: 'local',
    labels: {'com.docker.stack.namespace': 'shop'},
    archive: async (file: string) => {
      if (options.failWith) {
        await writeFile(`${file}.partial`, 'half an archive')
        throw options.failWith
      }
      const written = await writeDirArchive({dir, file})
      let entries = 0
      await list({file, onReadEntry: () => entries++})
      return {...written, entries, tarBytes: 0}
    },
  }
}
