import {execFile} from 'node:child_process'
import {promisify} from 'node:util'
import {afterAll, beforeAll, describe, expect, it} from 'vitest'
import {DockerClient} from '../../src/docker/client.js'
import {readStackStatus, type ServiceStatus, type StackStatus} from '../../src/status/stack-status.js'
import {
  describeOnSwarm,
  dockerStackDeploy,
  freePort,
  removeStack,
  runClinical,
  TEST_IMAGE,
  uniqueStackName,
  writeComposeFile,
} from '../helpers/swarm.js'

const run = promisify(execFile)
const WAIT_MS = 120_000
const POLL_MS = 1000

/** The stack under test: a replicated httpd, a global service, a service scaled to 0, one whose command exits 3. */
function composeFile(webPort: number): string {
  return `version: "3.8"
services:
  web:
    image: ${TEST_IMAGE.v1}
    command: ["httpd", "-f", "-p", "127.0.0.1:${webPort}", "-h", "/www"]
    networks: [hostnet]
    deploy:
      replicas: 1
  agent:
    image: ${TEST_IMAGE.v2}
    command: ["sleep", "3600"]
    networks: [hostnet]
    deploy:
      mode: global
  idle:
    image: ${TEST_IMAGE.v1}
    command: ["sleep", "3600"]
    networks: [hostnet]
    deploy:
      replicas: 0
  crash:
    image: ${TEST_IMAGE.v3}
    command: ["sh", "-c", "exit 3"]
    networks: [hostnet]
    deploy:
      replicas: 1
      restart_policy:
        condition: none
networks:
  hostnet:
    external: true
    name: host
`
}

function imageOf(tag: string): RegExp {
  // docker stack deploy may pin a digest when it can resolve one
  return new RegExp(`^${tag.replace(/[./]/g, '\\$&')}(@sha256:[0-9a-f]{64})?$`)
}

/** `docker service ls` for the stack, as the docker CLI prints it: name → {id (short), mode, replicas "running/desired"}. */
async function dockerServiceLs(stack: string): Promise<Map<string, {id: string; mode: string; replicas: string}>> {
  const {stdout} = await run(
    'docker',
    ['service', 'ls', '--filter', `label=com.docker.stack.namespace=${stack}`, '--format', '{{.ID}} {{.Name}} {{.Mode}} {{.Replicas}}'],
    {timeout: 30_000},
  )
  return new Map(
    stdout
      .trim()
      .split('\n')
      .filter(Boolean)
      .map((line) => {
        const [id = '', name = '', mode = '', replicas = ''] = line.split(' ')
        return [name, {id, mode, replicas}]
      }),
  )
}

describeOnSwarm('clinical status on a real stack', () => {
  const stack = uniqueStackName('st')
  const docker = new DockerClient()
  let cleanupCompose: (() => Promise<void>) | undefined

  beforeAll(async () => {
    const port = await freePort()
    const compose = await writeComposeFile(composeFile(port))
    cleanupCompose = compose.cleanup
    await dockerStackDeploy(compose.file, stack)

    // bounded wait until Swarm has converged: web and agent 1/1, idle 0/0, crash failed with exit 3
    const deadlineMs = Date.now() + WAIT_MS
    let last: StackStatus | undefined
    while (Date.now() < deadlineMs) {
      last = await readStackStatus(docker, stack).catch(() => undefined)
      const by = new Map(last?.services.map((service) => [service.name, service]))
      const settled =
        by.get(`${stack}_web`)?.running === 1 &&
        by.get(`${stack}_agent`)?.running === 1 &&
        by.get(`${stack}_idle`)?.desired === 0 &&
        (by.get(`${stack}_crash`)?.lastTaskError ?? null) !== null
      if (settled) return
      await new Promise((resolve) => setTimeout(resolve, POLL_MS))
    }
    throw new Error(`stack ${stack} did not settle in ${WAIT_MS} ms: ${JSON.stringify(last)}`)
  })

  afterAll(async () => {
    await removeStack(docker, stack)
    await cleanupCompose?.()
    await docker.close()
  })

  it('--json lists every service truly: names, images, modes, replicas, and the task error of the failing one', async () => {
    const {exitCode, stdout, stderr} = await runClinical(['status', '--stack', stack, '--json'])
    expect(exitCode, stderr).toBe(0)
    const status = JSON.parse(stdout) as StackStatus
    expect(status.stack).toBe(stack)
    expect(status.services.map((service) => service.name)).toEqual([`${stack}_agent`, `${stack}_crash`, `${stack}_idle`, `${stack}_web`])
    const by = new Map<string, ServiceStatus>(status.services.map((service) => [service.name.slice(stack.length + 1), service]))

    expect(by.get('web')).toMatchObject({mode: 'replicated', desired: 1, running: 1, updateState: null, lastTaskError: null})
    expect(by.get('web')!.image).toMatch(imageOf(TEST_IMAGE.v1))
    expect(by.get('agent')).toMatchObject({mode: 'global', desired: 1, running: 1, lastTaskError: null})
    expect(by.get('agent')!.image).toMatch(imageOf(TEST_IMAGE.v2))
    expect(by.get('idle')).toMatchObject({mode: 'replicated', desired: 0, running: 0, lastTaskError: null})
    expect(by.get('crash')).toMatchObject({mode: 'replicated', desired: 1, running: 0})
    expect(by.get('crash')!.image).toMatch(imageOf(TEST_IMAGE.v3))
    expect(by.get('crash')!.lastTaskError).toMatchObject({state: 'failed', error: 'task: non-zero exit (3)', slot: 1})
    expect(Date.parse(by.get('crash')!.lastTaskError!.at)).toBeGreaterThan(Date.now() - 10 * 60_000)

    // the same services, ids and counts as the docker CLI sees them
    const cli = await dockerServiceLs(stack)
    expect([...cli.keys()].sort()).toEqual(status.services.map((service) => service.name))
    for (const service of status.services) {
      const seen = cli.get(service.name)!
      expect(service.id.startsWith(seen.id), `${service.name}: ${service.id} vs ${seen.id}`).toBe(true)
      expect({mode: seen.mode, replicas: seen.replicas}, service.name).toEqual({mode: service.mode, replicas: `${service.running}/${service.desired}`})
    }
  })

  it('the table names every service and shows the task error of the failing one', async () => {
    const {exitCode, stdout, stderr} = await runClinical(['status', '--stack', stack])
    expect(exitCode, stderr).toBe(0)
    const lines = stdout.split('\n')
    expect(lines[0]).toBe(`Stack ${stack}: 4 service(s)`)
    expect(lines).toContainEqual(expect.stringMatching(/^SERVICE +IMAGE +MODE +REPLICAS +UPDATE$/))
    expect(lines).toContainEqual(expect.stringMatching(new RegExp(`^${stack}_web +clinical-test/busybox:v1 +replicated +1/1 +-$`)))
    expect(lines).toContainEqual(expect.stringMatching(new RegExp(`^${stack}_agent +clinical-test/busybox:v2 +global +1/1 +-$`)))
    expect(lines).toContainEqual(expect.stringMatching(new RegExp(`^${stack}_idle +clinical-test/busybox:v1 +replicated +0/0 +-$`)))
    expect(lines).toContainEqual(expect.stringMatching(new RegExp(`^${stack}_crash +clinical-test/busybox:v3 +replicated +0/1 +-$`)))
    expect(lines).toContain('Last errors:')
    expect(lines).toContainEqual(expect.stringMatching(new RegExp(`^  ${stack}_crash slot 1: failed \\d+[smh] ago: task: non-zero exit \\(3\\)$`)))
  })

  it('--stack of an unknown stack exits 2 with one line that names the stacks there are', async () => {
    const unknown = uniqueStackName('none')
    const {exitCode, stdout, stderr} = await runClinical(['status', '--stack', unknown])
    expect(exitCode).toBe(2)
    expect(stdout).toBe('')
    expect(stderr.trim().split('\n')).toHaveLength(1)
    expect(stderr).toContain(`clinical: no services in stack '${unknown}'. Stacks on this swarm: `)
    expect(stderr).toContain(stack)
  })
})

describe('clinical status when Docker cannot be reached', () => {
  it('DOCKER_HOST=unix:///nonexistent.sock exits 2 with one line naming Docker and the socket', async () => {
    const {exitCode, stdout, stderr} = await runClinical(['status', '--stack', 'any'], {env: {DOCKER_HOST: 'unix:///nonexistent.sock'}})
    expect(exitCode).toBe(2)
    expect(stdout).toBe('')
    expect(stderr.trim().split('\n')).toEqual([
      'clinical: Docker is not reachable at unix:///nonexistent.sock: no socket there (ENOENT). Start the Docker daemon or set DOCKER_HOST to a reachable engine.',
    ])
  })

  it('DOCKER_HOST=tcp://127.0.0.1:<free port> exits 2 (connection refused)', async () => {
    const port = await freePort()
    const {exitCode, stdout, stderr} = await runClinical(['status', '--stack', 'any'], {env: {DOCKER_HOST: `tcp://127.0.0.1:${port}`}})
    expect(exitCode).toBe(2)
    expect(stdout).toBe('')
    expect(stderr.trim().split('\n')).toEqual([
      `clinical: Docker is not reachable at tcp://127.0.0.1:${port}: connection refused (ECONNREFUSED). Start the Docker daemon or set DOCKER_HOST to a reachable engine.`,
    ])
  })
})
