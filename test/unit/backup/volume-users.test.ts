import {describe, expect, it} from 'vitest'
import {HELPER_LABEL} from '../../../src/backup/helper-container.js'
import {volumeMounts} from '../../../src/backup/stack-volumes.js'
import {SWARM_SERVICE_ID_LABEL, foreignContainers, isActive, servicesToStop, volumeRefusal} from '../../../src/backup/volume-users.js'
import type {ContainerSummary, Service, Volume} from '../../../src/docker/types.js'

function service(name: string, mounts: Array<{Type?: string; Source?: string; Target?: string}>, mode: Service['Spec']['Mode'] = {Replicated: {Replicas: 2}}): Service {
  return {ID: `id-${name}`, Version: {Index: 1}, CreatedAt: '', UpdatedAt: '', Spec: {Name: name, TaskTemplate: {ContainerSpec: {Image: 'i', Mounts: mounts}}, Mode: mode}}
}

function container(name: string, state: string, labels: Record<string, string>): ContainerSummary {
  return {Id: `c-${name}`, Names: [`/${name}`], Image: 'i', State: state, Status: '', Labels: labels}
}

const volume = (options: Partial<Volume> = {}): Volume => ({Name: 'shop_data', Driver: 'local', Mountpoint: '/m', Labels: null, Scope: 'local', ...options})
const archive = {name: 'shop_data', file: 'volumes/shop_data.tar.gz', entries: 3}

describe('volumeMounts', () => {
  it('lists named and anonymous volume mounts, not binds or tmpfs', () => {
    const mounts = volumeMounts([
      service('shop_web', [
        {Type: 'volume', Source: 'shop_data', Target: '/srv'},
        {Type: 'bind', Source: '/etc', Target: '/etc'},
        {Type: 'volume', Target: '/cache'},
        {Type: 'tmpfs', Target: '/tmp'},
      ]),
    ])
    expect(mounts).toEqual([
      {service: 'shop_web', serviceId: 'id-shop_web', source: 'shop_data', target: '/srv'},
      {service: 'shop_web', serviceId: 'id-shop_web', source: undefined, target: '/cache'},
    ])
  })
})

describe('servicesToStop', () => {
  it('finds every replicated service mounting one of the volumes, with its replicas', () => {
    const {services, refusals} = servicesToStop(
      [service('shop_web', [{Type: 'volume', Source: 'shop_data'}]), service('shop_worker', [{Type: 'volume', Source: 'other'}]), service('x_api', [{Type: 'volume', Source: 'shop_data'}], {Replicated: {}})],
      ['shop_data'],
    )
    expect(refusals).toEqual([])
    expect(services).toEqual([
      {id: 'id-shop_web', name: 'shop_web', replicas: 2, volumes: ['shop_data']},
      {id: 'id-x_api', name: 'x_api', replicas: 1, volumes: ['shop_data']},
    ])
  })

  it('refuses a global service: it cannot be scaled to 0', () => {
    const {refusals} = servicesToStop([service('shop_agent', [{Type: 'volume', Source: 'shop_data'}], {Global: {}})], ['shop_data'])
    expect(refusals).toEqual([expect.stringContaining('service shop_agent uses volume shop_data and is not a replicated service')])
  })
})

describe('foreignContainers and isActive', () => {
  it('accepts tasks of the services being stopped, helpers and stopped tasks of other services; anything else is foreign', () => {
    const containers = [
      container('shop_web.1.abc', 'running', {[SWARM_SERVICE_ID_LABEL]: 'id-shop_web'}),
      container('helper', 'created', {[HELPER_LABEL]: 'true'}),
      container('someones-psql', 'exited', {}),
      container('other_task', 'running', {[SWARM_SERVICE_ID_LABEL]: 'id-other'}),
      container('other_old_task', 'exited', {[SWARM_SERVICE_ID_LABEL]: 'id-other'}),
    ]
    expect(foreignContainers(containers, new Set(['id-shop_web'])).map((found) => found.Names[0])).toEqual(['/someones-psql', '/other_task'])
    expect(containers.map(isActive)).toEqual([true, false, false, true, false])
  })
})

describe('volumeRefusal', () => {
  it('restores local volumes without driver options, and volumes that are gone', () => {
    expect(volumeRefusal({name: 'shop_data', archive, current: volume(), labels: {}})).toBeUndefined()
    expect(volumeRefusal({name: 'shop_data', archive, current: volume({Options: {}}), labels: {}})).toBeUndefined()
    expect(volumeRefusal({name: 'shop_data', archive, labels: {}})).toBeUndefined()
  })

  it('refuses other drivers and driver options: removing the volume may not remove its data', () => {
    expect(volumeRefusal({name: 'shop_data', archive, current: volume({Driver: 'rexray'}), labels: {}})).toMatch(/driver rexray/)
    expect(volumeRefusal({name: 'shop_data', archive, current: volume({Options: {type: 'nfs', o: 'addr=10.0.0.1'}}), labels: {}})).toMatch(/driver options \(type, o\)/)
  })
})
