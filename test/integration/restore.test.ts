import {execa} from 'execa'
import {request} from 'undici'
import {afterAll, beforeAll, expect, it} from 'vitest'
import type {ServiceSnapshot} from '../../src/backup/types.js'
import {type RestoreProgressEvent, restoreServices} from '../../src/deploy/restore.js'
import {DockerClient} from '../../src/docker/client.js'
import {STACK_IMAGE_LABEL, stackFilter} from '../../src/docker/stack.js'
import type {Service, ServiceSpec} from '../../src/docker/types.js'
import {describeOnSwarm, dockerStackDeploy, freePort, removeStack, TEST_IMAGE, uniqueStackName, writeComposeFile} from '../helpers/swarm.js'

const HOSTNET = `networks:
  hostnet:
    external: true
    name: host
`

function httpd(image: string, port: number): string {
  return `    image: ${image}
    command: ["httpd", "-f", "-p", "127.0.0.1:${port}", "-h", "/www"]
    networks: [hostnet]
`
}

function sleeper(image: string): string {
  return `    image: ${image}
    command: ["sleep", "3600"]
    networks: [hostnet]
`
}

/** v1: web (httpd v1), worker, idle. */
function composeV1(port: number): string {
  return `version: "3.8"
services:
  web:
${httpd(TEST_IMAGE.v1, port)}  worker:
${sleeper(TEST_IMAGE.v1)}  idle:
${sleeper(TEST_IMAGE.v1)}${HOSTNET}`
}

/** v2: web on a new image, worker removed (deployed with --prune), idle untouched, extra new. */
function composeV2(port: number): string {
  return `version: "3.8"
services:
  web:
${httpd(TEST_IMAGE.v2, port)}  idle:
${sleeper(TEST_IMAGE.v1)}  extra:
${sleeper(TEST_IMAGE.v2)}${HOSTNET}`
}

/** GET http://127.0.0.1:<port>/version until it answers `want` (bounded); returns the last answer. */
async function waitForVersion(port: number, want: string, timeoutMs = 90_000): Promise<string> {
  const deadline = Date.now() + timeoutMs
  let last = ''
  while (Date.now() < deadline) {
    try {
      const response = await request(`http://127.0.0.1:${port}/version`, {headersTimeout: 2000, bodyTimeout: 2000})
      last = (await response.body.text()).trim()
      if (response.statusCode === 200 && last === want) return last
    } catch (error) {
      last = (error as Error).message
    }
    await new Promise((resolve) => setTimeout(resolve, 500))
  }
  return last
}

function byName(services: Service[]): Map<string, Service> {
  return new Map(services.map((service) => [service.Spec.Name, service]))
}

/** The saved spec as it should be after restore: only ForceUpdate may differ (kept at the current value). */
function withoutForceUpdate(spec: ServiceSpec): ServiceSpec {
  const copy = structuredClone(spec)
  delete copy.TaskTemplate.ForceUpdate
  return copy
}

describeOnSwarm('restoreServices on the real swarm', () => {
  const stack = uniqueStackName('rs')
  let docker: DockerClient
  let port: number
  let v1File: string
  let v2File: string
  const snapshots: ServiceSnapshot[] = []
  const cleanups: Array<() => Promise<void>> = []

  beforeAll(async () => {
    docker = new DockerClient()
    port = await freePort()
    const v1 = await writeComposeFile(composeV1(port))
    const v2 = await writeComposeFile(composeV2(port))
    cleanups.push(v1.cleanup, v2.cleanup)
    v1File = v1.file
    v2File = v2.file
  })

  afterAll(async () => {
    await removeStack(docker, stack)
    for (const cleanup of cleanups) await cleanup()
    await docker.close()
  })

  it('puts back the saved specs after a deploy that changed, added and removed services; v1 serves again', async () => {
    await dockerStackDeploy(v1File, stack)
    expect(await waitForVersion(port, 'v1')).toBe('v1')

    const listed = await docker.listServices({filters: stackFilter(stack)})
    for (const service of listed) {
      const inspected = await docker.inspectService(service.ID)
      snapshots.push({
        id: inspected.ID,
        name: inspected.Spec.Name,
        version: inspected.Version.Index,
        createdAt: inspected.CreatedAt,
        updatedAt: inspected.UpdatedAt,
        spec: inspected.Spec,
      })
    }
    expect(snapshots.map((snapshot) => snapshot.name).sort()).toEqual([`${stack}_idle`, `${stack}_web`, `${stack}_worker`])

    // the "failed deploy": new image, one service removed, one added
    await execa('docker', ['stack', 'deploy', '--prune', '--resolve-image', 'never', '--compose-file', v2File, stack], {timeout: 60_000})
    expect(await waitForVersion(port, 'v2')).toBe('v2')
    const afterV2 = byName(await docker.listServices({filters: stackFilter(stack)}))
    expect([...afterV2.keys()].sort()).toEqual([`${stack}_extra`, `${stack}_idle`, `${stack}_web`])

    const events: RestoreProgressEvent[] = []
    const result = await restoreServices(docker, {stack, snapshots, onProgress: (event) => events.push(event)})
    expect(result).toEqual({
      updated: [`${stack}_web`],
      created: [`${stack}_worker`],
      removed: [`${stack}_extra`],
      unchanged: [`${stack}_idle`],
      failed: [],
    })
    expect(events.filter((event) => event.status === 'done').map((event) => `${event.action} ${event.service}`).sort()).toEqual([
      `create ${stack}_worker`,
      `remove ${stack}_extra`,
      `unchanged ${stack}_idle`,
      `update ${stack}_web`,
    ])

    const now = byName(await docker.listServices({filters: stackFilter(stack)}))
    expect([...now.keys()].sort()).toEqual([`${stack}_idle`, `${stack}_web`, `${stack}_worker`])
    for (const snapshot of snapshots) {
      const service = now.get(snapshot.name)!
      expect(withoutForceUpdate(service.Spec), snapshot.name).toEqual(withoutForceUpdate(snapshot.spec))
      expect(service.Spec.Labels?.[STACK_IMAGE_LABEL]).toBe(TEST_IMAGE.v1)
    }
    // the unchanged service was not touched by the restore
    expect(now.get(`${stack}_idle`)!.Version.Index).toBe(afterV2.get(`${stack}_idle`)!.Version.Index)
    // the worker is a new service (a new ID), the web service the same one
    expect(now.get(`${stack}_worker`)!.ID).not.toBe(snapshots.find((snapshot) => snapshot.name === `${stack}_worker`)!.id)
    expect(now.get(`${stack}_web`)!.ID).toBe(afterV2.get(`${stack}_web`)!.ID)

    expect(await waitForVersion(port, 'v1')).toBe('v1')

    // a restore of the same snapshots again changes nothing
    const again = await restoreServices(docker, {stack, snapshots})
    expect(again).toEqual({updated: [], created: [], removed: [], unchanged: [`${stack}_idle`, `${stack}_web`, `${stack}_worker`], failed: []})
  })

  it('leaves the image label right: a stack deploy of v1 changes nothing, a deploy of v2 after a restore applies v2', async () => {
    // runs after the restore above
    expect(await waitForVersion(port, 'v1')).toBe('v1')
    const tasksBefore = await runningTaskIds(`${stack}_web`)
    await dockerStackDeploy(v1File, stack)
    const web = await docker.inspectService(`${stack}_web`)
    expect(web.Spec.TaskTemplate.ContainerSpec?.Image).toBe(TEST_IMAGE.v1)
    expect(withoutForceUpdate(web.Spec)).toEqual(withoutForceUpdate(snapshots.find((snapshot) => snapshot.name === `${stack}_web`)!.spec))
    expect(await waitForVersion(port, 'v1')).toBe('v1')
    expect(await runningTaskIds(`${stack}_web`)).toEqual(tasksBefore)

    // fail to v2 again, restore, then deploy the same v2 file once more: with a stale label (v2) on the restored v1
    // spec, docker stack deploy would keep v1 in place (it keeps the image when the compose image equals the label)
    await execa('docker', ['stack', 'deploy', '--prune', '--resolve-image', 'never', '--compose-file', v2File, stack], {timeout: 60_000})
    const restored = await restoreServices(docker, {stack, snapshots})
    expect(restored.failed).toEqual([])
    expect((await docker.inspectService(`${stack}_web`)).Spec.TaskTemplate.ContainerSpec?.Image).toBe(TEST_IMAGE.v1)
    await dockerStackDeploy(v2File, stack)
    const moved = await docker.inspectService(`${stack}_web`)
    expect(moved.Spec.TaskTemplate.ContainerSpec?.Image).toBe(TEST_IMAGE.v2)
    expect(moved.Spec.Labels?.[STACK_IMAGE_LABEL]).toBe(TEST_IMAGE.v2)
    expect(await waitForVersion(port, 'v2')).toBe('v2')
  })

  async function runningTaskIds(service: string): Promise<string[]> {
    const tasks = await docker.listTasks({filters: {service: [service], 'desired-state': ['running']}})
    return tasks.map((task) => task.ID).sort()
  }
})
