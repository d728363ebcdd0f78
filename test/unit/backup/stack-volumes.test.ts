import {describe, expect, it} from 'vitest'
import {selectVolumes} from '../../../src/backup/stack-volumes.js'
import type {DockerClient} from '../../../src/docker/client.js'
import type {Service, Task, Volume} from '../../../src/docker/types.js'

function serviceMounting(name: string, source: string): Service {
  return {
    ID: `id-${name}`,
    Version: {Index: 1},
    CreatedAt: 'c',
    UpdatedAt: 'u',
    Spec: {Name: name, TaskTemplate: {ContainerSpec: {Image: 'img:v1', Mounts: [{Type: 'volume', Source: source, Target: '/data'}]}}},
  } as Service
}

/**
 * Fault injection: a stand-in for the Engine API with tasks on a second node, which the single-node test swarm
 * cannot have (the real selection is covered by test/integration/backup-volume-selection.test.ts).
 */
function engineWithTasksOn(nodes: Record<string, string[]>): DockerClient {
  const volume = (name: string): Volume => ({Name: name, Driver: 'local', Mountpoint: `/v/${name}`, Labels: {}, Scope: 'local'}) as Volume
  return {
    listVolumes: async () => [volume('shop_db')],
    inspectVolume: async (name: string) => volume(name),
    info: async () => ({Swarm: {NodeID: 'local-node-0000'}}),
    listTasks: async ({filters}: {filters: {service: string[]}}) =>
      (nodes[filters.service[0]!] ?? []).map((node, index) => ({ID: `t${index}`, NodeID: node}) as Task),
  } as unknown as DockerClient
}

describe('selectVolumes: a stack volume archived here while its service runs on another node', () => {
  it('is archived and reported: the copy on this node may be stale', async () => {
    const docker = engineWithTasksOn({'id-shop_db': ['other-node-12345678']})
    const selection = await selectVolumes(docker, {stack: 'shop', services: [serviceMounting('shop_db', 'shop_db')]})
    expect(selection.volumes.map((volume) => volume.Name)).toEqual(['shop_db'])
    expect(selection.alsoElsewhere).toEqual([
      {
        name: 'shop_db',
        reason:
          'archived from this node, but service shop_db runs tasks on node(s) other-node-1, each with its own volume of that name: the copy here may be stale; back it up there too',
      },
    ])
  })

  it('says nothing when the service runs only here', async () => {
    const docker = engineWithTasksOn({'id-shop_db': ['local-node-0000']})
    const selection = await selectVolumes(docker, {stack: 'shop', services: [serviceMounting('shop_db', 'shop_db')]})
    expect(selection.alsoElsewhere).toEqual([])
    expect(selection.notArchived).toEqual([])
  })
})
