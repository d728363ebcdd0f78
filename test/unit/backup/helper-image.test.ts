import {Readable} from 'node:stream'
import {pipeline} from 'node:stream/promises'
import {Parser} from 'tar'
import {describe, expect, it} from 'vitest'
import {HELPER_LABEL, HELPER_MOUNT, helperContainerSpec} from '../../../src/backup/helper-container.js'
import {HELPER_FILE, HELPER_IMAGE, helperRootfsTar} from '../../../src/backup/helper-image.js'

describe('the helper image', () => {
  it('is a tar made in memory holding one small text file (no registry, nothing to run)', async () => {
    const tar = helperRootfsTar()
    expect(tar.length % 512).toBe(0)
    const entries: Array<{path: string; type: string; body: string}> = []
    const parser = new Parser({
      strict: true,
      onReadEntry: (entry) => {
        const chunks: Buffer[] = []
        entry.on('data', (chunk: Buffer) => chunks.push(chunk))
        entry.on('end', () => entries.push({path: entry.path, type: entry.type, body: Buffer.concat(chunks).toString()}))
      },
    })
    await pipeline(Readable.from([tar]), parser as unknown as NodeJS.WritableStream)
    expect(entries).toEqual([{path: HELPER_FILE, type: 'File', body: expect.stringContaining('never started')}])
    expect(helperRootfsTar().equals(tar)).toBe(true)
  })

  it('gives containers that mount the volume at /data, read-only for backups, without network, labelled as helpers', () => {
    const spec = helperContainerSpec('shop_data', {readOnly: true}) as {
      Image: string
      Labels: Record<string, string>
      HostConfig: {NetworkMode: string; Mounts: Array<Record<string, unknown>>}
    }
    expect(spec.Image).toBe(HELPER_IMAGE)
    expect(spec.Labels).toEqual({[HELPER_LABEL]: 'true', [`${HELPER_LABEL}.volume`]: 'shop_data'})
    expect(spec.HostConfig.NetworkMode).toBe('none')
    expect(spec.HostConfig.Mounts).toEqual([{Type: 'volume', Source: 'shop_data', Target: HELPER_MOUNT, ReadOnly: true, VolumeOptions: {NoCopy: true}}])
    expect((helperContainerSpec('shop_data', {readOnly: false}) as typeof spec).HostConfig.Mounts[0]!.ReadOnly).toBe(false)
  })
})
