import {execFile} from 'node:child_process'
import {promisify} from 'node:util'
import {request} from 'undici'
import {afterAll, beforeAll, expect, it} from 'vitest'
import {CLIENT_API_VERSION, compareApiVersions, DockerClient} from '../../src/docker/client.js'
import {DockerConflictError, DockerNotFoundError, DockerUpdateOutOfSequenceError} from '../../src/docker/errors.js'
import {STACK_NAMESPACE_LABEL} from '../../src/docker/stack.js'
import type {DockerEvent, Service, ServiceSpec, Task} from '../../src/docker/types.js'
import {describeOnSwarm, freePort, httpdCommand, removeStack, TEST_IMAGE, uniqueStackName} from '../helpers/swarm.js'

const run = promisify(execFile)
const WAIT_MS = 90_000
const POLL_MS = 500

async function until<T>(what: string, probe: () => Promise<T | undefined>, timeoutMs = WAIT_MS): Promise<T> {
  const deadlineMs = Date.now() + timeoutMs
  let last: unknown
  while (Date.now() < deadlineMs) {
    try {
      const value = await probe()
      if (value !== undefined) return value
    } catch (error) {
      last = error
    }
    await new Promise((resolve) => setTimeout(resolve, POLL_MS))
  }
  throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}${last ? ` (last error: ${(last as Error).message})` : ''}`)
}

/** GET http://127.0.0.1:<port>/version (the image tag), or undefined while nothing answers. */
async function servedVersion(port: number): Promise<string | undefined> {
  try {
    const response = await request(`http://127.0.0.1:${port}/version`, {headersTimeout: 2000, bodyTimeout: 2000})
    const text = (await response.body.text()).trim()
    return response.statusCode === 200 ? text : undefined
  } catch {
    return undefined
  }
}

describeOnSwarm('DockerClient against the real swarm', () => {
  const stack = uniqueStackName('dc')
  const docker = new DockerClient()
  let port: number

  beforeAll(async () => {
    port = await freePort()
  })

  afterAll(async () => {
    await docker.removeConfig(`${stack}_lock`).catch(() => undefined)
    await removeStack(docker, stack)
    await docker.close()
  })

  it('negotiates the version the daemon speaks (as the docker CLI reports it), capped at the client maximum', async () => {
    const {stdout} = await run('docker', ['version', '--format', '{{.Server.APIVersion}}'], {timeout: 30_000})
    const daemon = stdout.trim()
    expect(daemon).toMatch(/^\d+\.\d+$/)
    const expected = compareApiVersions(daemon, CLIENT_API_VERSION) < 0 ? daemon : CLIENT_API_VERSION
    expect(await docker.negotiatedApiVersion()).toBe(expected)
    expect((await docker.version()).ApiVersion).toBe(daemon)
  })

  it('info() says this node is an active swarm manager', async () => {
    const info = await docker.info()
    expect(info.Swarm.LocalNodeState).toBe('active')
    expect(info.Swarm.ControlAvailable).toBe(true)
    expect(info.Swarm.NodeID).toMatch(/^\w+$/)
  })

  it('creates, inspects, lists tasks of, updates and removes a service; a stale version index is refused', async () => {
    const name = `${stack}_web`
    const spec: ServiceSpec = {
      Name: name,
      Labels: {[STACK_NAMESPACE_LABEL]: stack},
      TaskTemplate: {
        ContainerSpec: {Image: TEST_IMAGE.v1, Command: httpdCommand(port)},
        Networks: [{Target: 'host'}],
        RestartPolicy: {Condition: 'any', Delay: 1_000_000_000},
      },
      Mode: {Replicated: {Replicas: 1}},
    }

    // watch service events from now on (the stream has no heartbeat: ended with the signal)
    const watching = new AbortController()
    const seen: DockerEvent[] = []
    const watcher = (async () => {
      for await (const event of docker.events({filters: {type: ['service'], scope: ['swarm']}, signal: watching.signal})) {
        seen.push(event)
      }
    })().catch(() => undefined)
    await new Promise((resolve) => setTimeout(resolve, 300))

    const {ID: id} = await docker.createService(spec)
    expect(id).toMatch(/^\w+$/)

    const created = await docker.inspectService(name)
    expect(created.ID).toBe(id)
    expect(created.Spec.Name).toBe(name)
    expect(created.Spec.TaskTemplate.ContainerSpec?.Image).toBe(TEST_IMAGE.v1)
    expect(created.Spec.TaskTemplate.ContainerSpec?.Command).toEqual(httpdCommand(port))
    expect(created.Spec.Labels?.[STACK_NAMESPACE_LABEL]).toBe(stack)

    const listed = await docker.listServices({filters: {label: [`${STACK_NAMESPACE_LABEL}=${stack}`]}, status: true})
    expect(listed.map((service) => service.ID)).toEqual([id])

    const running = await until('a running task of the new service', async () => {
      const tasks = await docker.listTasks({filters: {service: [id], 'desired-state': ['running']}})
      return tasks.find((task) => task.Status.State === 'running')
    })
    expect(running.ServiceID).toBe(id)
    expect(await until('httpd v1 on 127.0.0.1', async () => servedVersion(port))).toBe('v1')

    await until('the service-create event', async () => seen.find((event) => event.Action === 'create' && event.Actor.ID === id))

    // update with the current version index
    const before: Service = await docker.inspectService(id)
    const staleIndex = before.Version.Index
    const v2: ServiceSpec = {...before.Spec, TaskTemplate: {...before.Spec.TaskTemplate, ContainerSpec: {...before.Spec.TaskTemplate.ContainerSpec, Image: TEST_IMAGE.v2}}}
    await docker.updateService(id, staleIndex, v2)
    const after = await docker.inspectService(id)
    expect(after.Version.Index).toBeGreaterThan(staleIndex)
    expect(after.Spec.TaskTemplate.ContainerSpec?.Image).toBe(TEST_IMAGE.v2)
    expect(after.PreviousSpec?.TaskTemplate.ContainerSpec?.Image).toBe(TEST_IMAGE.v1)

    // the same old index again: Docker answers HTTP 500 "update out of sequence"
    const v3: ServiceSpec = {...v2, TaskTemplate: {...v2.TaskTemplate, ContainerSpec: {...v2.TaskTemplate.ContainerSpec, Image: TEST_IMAGE.v3}}}
    const stale = await docker.updateService(id, staleIndex, v3).catch((error: unknown) => error)
    expect(stale).toBeInstanceOf(DockerUpdateOutOfSequenceError)
    expect((stale as DockerUpdateOutOfSequenceError).statusCode).toBe(500)
    expect((await docker.inspectService(id)).Spec.TaskTemplate.ContainerSpec?.Image).toBe(TEST_IMAGE.v2)

    expect(await until('httpd v2 on 127.0.0.1', async () => ((await servedVersion(port)) === 'v2' ? 'v2' : undefined))).toBe('v2')
    const tasks: Task[] = await docker.listTasks({filters: {service: [id]}})
    expect(tasks.length).toBeGreaterThanOrEqual(2)
    expect(tasks.every((task) => task.ServiceID === id)).toBe(true)

    await until('the service-update event', async () => seen.find((event) => event.Action === 'update' && event.Actor.ID === id))
    watching.abort()
    await watcher

    await docker.removeService(id)
    await expect(docker.inspectService(id)).rejects.toBeInstanceOf(DockerNotFoundError)
    await expect(docker.removeService(id)).rejects.toBeInstanceOf(DockerNotFoundError)
  })

  it('creates and removes a config; a duplicate name is a DockerConflictError', async () => {
    const name = `${stack}_lock`
    const data = Buffer.from(JSON.stringify({holder: 'test'})).toString('base64')
    const {ID: id} = await docker.createConfig({Name: name, Labels: {[STACK_NAMESPACE_LABEL]: stack}, Data: data})
    const conflict = await docker.createConfig({Name: name, Data: data}).catch((error: unknown) => error)
    expect(conflict).toBeInstanceOf(DockerConflictError)
    expect((conflict as DockerConflictError).statusCode).toBe(409)

    const config = await docker.inspectConfig(name)
    expect(config.ID).toBe(id)
    expect(config.Spec.Name).toBe(name)
    expect(config.Spec.Data).toBe(data)
    const listed = await docker.listConfigs({filters: {name: [name]}})
    expect(listed.map((entry) => entry.ID)).toEqual([id])

    await docker.removeConfig(id)
    await expect(docker.inspectConfig(id)).rejects.toBeInstanceOf(DockerNotFoundError)
  })
})
