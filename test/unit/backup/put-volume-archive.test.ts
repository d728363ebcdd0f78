import {createHash} from 'node:crypto'
import {mkdir, readFile, writeFile} from 'node:fs/promises'
import {join} from 'node:path'
import type {Readable} from 'node:stream'
import {create} from 'tar'
import {afterEach, beforeEach, describe, expect, it} from 'vitest'
import {putVolumeArchive} from '../../../src/backup/put-volume-archive.js'
import type {DockerClient} from '../../../src/docker/client.js'
import {DockerApiError} from '../../../src/docker/errors.js'
import {tempDir} from './fixtures.js'

let root: string
let cleanup: () => Promise<void>
beforeEach(async () => {
  ;({dir: root, cleanup} = await tempDir())
})
afterEach(async () => {
  await cleanup()
})

describe('putVolumeArchive', () => {
  it('reports a volume fully restored as restored when only the removal of its helper fails (a warning, not exit 4)', async () => {
    const source = join(root, 'volume')
    await mkdir(source)
    await writeFile(join(source, 'a.csv'), 'patient,visit\n1,2\n')
    const file = join(root, 'shop_data.tar.gz')
    await create({gzip: true, cwd: source, file, portable: true}, ['.'])
    const sha256 = createHash('sha256').update(await readFile(file)).digest('hex')

    let received = 0
    const docker = {
      inspectImage: async () => ({}),
      createContainer: async () => ({Id: 'b'.repeat(64), Warnings: []}),
      putArchive: async (_id: string, _path: string, tar: Readable) => {
        for await (const chunk of tar) received += (chunk as Buffer).byteLength
      },
      removeContainer: async () => {
        throw new DockerApiError(500, 'DELETE', '/containers/bbbb', 'daemon busy')
      },
    } as unknown as DockerClient
    const warnings: string[] = []
    const result = await putVolumeArchive(docker, {volume: 'shop_data', file, sha256, entries: 2, onWarning: (message) => warnings.push(message)})
    expect(result.entries).toBe(2)
    expect(received).toBe(result.tarBytes)
    expect(warnings).toEqual([expect.stringContaining('remove it with: docker rm -f bbbbbbbbbbbb')])
  })
})
