import {Agent, type Dispatcher} from 'undici'
import {afterEach, beforeAll, expect, it} from 'vitest'
import {type ConvergeProgress, type ConvergeResult, isTaskOfSpec, waitForConvergence} from '../../src/deploy/converge.js'
import {DockerClient} from '../../src/docker/client.js'
import {parseDockerHost} from '../../src/docker/host.js'
import {stackFilter} from '../../src/docker/stack.js'
import type {Service, Task, TaskTemplate} from '../../src/docker/types.js'
import {
  describeOnSwarm,
  dockerStackDeploy,
  freePort,
  httpdCommand,
  removeStack,
  TEST_IMAGE,
  uniqueStackName,
  writeComposeFile,
} from '../helpers/swarm.js'

/**
 * The converge phase on the real swarm: every test deploys its own stack with `docker stack deploy` (host
 * network, 127.0.0.1 only), waits with waitForConvergence and removes the stack afterwards.
 * Timings measured here are logged, never asserted beyond generous bounds (speed goes to the benchmark).
 */

interface ServiceYaml {
  image: string
  command: string[]
  mode?: 'global'
  replicas?: number
  constraints?: string[]
  /** update_config.delay between two tasks of the service */
  updateDelay?: string
  /** update_config.failure_action (Swarm's default: pause) */
  failureAction?: 'pause' | 'rollback' | 'continue'
}

function composeYaml(services: Record<string, ServiceYaml>): string {
  const blocks = Object.entries(services).map(([name, service]) => {
    const deploy = [
      service.mode ? `      mode: ${service.mode}` : `      replicas: ${service.replicas ?? 1}`,
      // busybox as PID 1 ignores SIGTERM: without a short grace period every stop waits 10 s
      `      update_config: {monitor: 5s${service.updateDelay ? `, delay: ${service.updateDelay}` : ''}${service.failureAction ? `, failure_action: ${service.failureAction}` : ''}}`,
      service.constraints ? `      placement: {constraints: ${JSON.stringify(service.constraints)}}` : '',
    ].filter(Boolean)
    return [
      `  ${name}:`,
      `    image: ${service.image}`,
      `    command: ${JSON.stringify(service.command)}`,
      '    networks: [hostnet]',
      '    stop_grace_period: 1s',
      '    deploy:',
      ...deploy,
    ].join('\n')
  })
  return `version: "3.8"\nservices:\n${blocks.join('\n')}\nnetworks:\n  hostnet:\n    external: true\n    name: host\n`
}

const STABILITY_MS = 2000
const created: Array<{stack: string; cleanup?: () => Promise<void>}> = []
let docker: DockerClient

async function deploy(stack: string, services: Record<string, ServiceYaml>): Promise<void> {
  const compose = await writeComposeFile(composeYaml(services))
  created.push({stack, cleanup: compose.cleanup})
  await dockerStackDeploy(compose.file, stack)
}

async function stackState(stack: string): Promise<{services: Service[]; tasks: Task[]}> {
  const services = await docker.listServices({filters: stackFilter(stack)})
  const tasks = await docker.listTasks({filters: {service: services.map((service) => service.ID)}})
  return {services, tasks}
}

function expectOk(result: ConvergeResult): asserts result is Extract<ConvergeResult, {ok: true}> {
  if (!result.ok) throw new Error(`expected convergence, got ${result.reason}: ${result.message}`)
}

function expectFailed(result: ConvergeResult): asserts result is Extract<ConvergeResult, {ok: false}> {
  if (result.ok) throw new Error('expected a failed convergence, got ok')
}

describeOnSwarm('waitForConvergence on the real swarm', () => {
  beforeAll(() => {
    docker = new DockerClient()
    return async () => {
      await docker.close()
    }
  })

  afterEach(async () => {
    for (const {stack, cleanup} of created.splice(0)) {
      await removeStack(docker, stack)
      await cleanup?.()
    }
  })

  it('good update v1→v2: old tasks do not count; ready once every v2 task runs', async () => {
    const stack = uniqueStackName()
    const port = await freePort()
    // workers: 2 replicas updated one at a time, 3 s apart. Meanwhile one old and one new task both run and are
    // both desired running: "running == desired" (2/2) would already call that ready.
    const v1 = {
      web: {image: TEST_IMAGE.v1, command: httpdCommand(port)},
      workers: {image: TEST_IMAGE.v1, command: ['sleep', '3600'], replicas: 2, updateDelay: '3s'},
    }
    await deploy(stack, v1)
    expectOk(await waitForConvergence(docker, {stack, deadlineMs: Date.now() + 60_000, stabilityWindowMs: 0}))
    const before = await stackState(stack)
    const oldTasks = before.tasks.filter((task) => task.Status.State === 'running')
    expect(oldTasks).toHaveLength(3)
    for (const task of oldTasks) {
      expect(isTaskOfSpec(task, before.services.find((service) => service.ID === task.ServiceID)!.Spec.TaskTemplate)).toBe(true)
    }

    const deployStartMs = Date.now()
    await deploy(stack, {web: {...v1.web, image: TEST_IMAGE.v2}, workers: {...v1.workers, image: TEST_IMAGE.v2}})
    const progress: ConvergeProgress[] = []
    const result = await waitForConvergence(docker, {
      stack,
      deadlineMs: Date.now() + 90_000,
      stabilityWindowMs: STABILITY_MS,
      onProgress: (update) => progress.push(update),
    })
    expectOk(result)

    // The criterion, pinned: the v1 tasks (as they are now) are not of the new spec, the running v2 tasks are.
    const after = await stackState(stack)
    const templateOf = (task: Task): TaskTemplate => after.services.find((service) => service.ID === task.ServiceID)!.Spec.TaskTemplate
    for (const old of oldTasks) {
      const oldNow = after.tasks.find((task) => task.ID === old.ID)!
      expect(oldNow.Spec.ContainerSpec?.Image).toMatch(/busybox:v1/)
      expect(isTaskOfSpec(oldNow, templateOf(oldNow))).toBe(false)
    }
    const running = after.tasks.filter((task) => task.Status.State === 'running' && task.DesiredState === 'running')
    expect(running).toHaveLength(3)
    for (const task of running) {
      expect(task.Spec.ContainerSpec?.Image).toMatch(/busybox:v2/)
      expect(isTaskOfSpec(task, templateOf(task))).toBe(true)
    }
    // Ready means every new task runs: never reported while an old worker was still wanted (no stabilising →
    // converging bounce), and the last task counted started after this deploy began.
    const phases = progress.map((update) => update.phase)
    expect(phases[0]).toBe('converging')
    expect(phases.slice(phases.indexOf('stabilising'))).not.toContain('converging')
    expect(progress.some((update) => update.services.some((service) => service.name === `${stack}_workers` && service.runningNew === 1))).toBe(true)
    expect(result.lastTaskRunningAtMs).toBeGreaterThan(deployStartMs)
    expect(result.lastTaskRunningAtMs).toBe(Math.max(...running.map((task) => Date.parse(task.Status.Timestamp))))
    expect(result.services).toEqual([
      expect.objectContaining({name: `${stack}_web`, desired: 1, runningNew: 1, state: 'converged'}),
      expect.objectContaining({name: `${stack}_workers`, desired: 2, runningNew: 2, state: 'converged'}),
    ])
    const served = await fetch(`http://127.0.0.1:${port}/version`).then((response) => response.text())
    expect(served.trim()).toBe('v2')
    console.log(
      `[converge] good update: ready ${result.convergedAtMs - result.lastTaskRunningAtMs!} ms after the last task reached running; ` +
        `progress: ${progress.map((update) => `${update.phase}(${update.services.map((service) => `${service.runningNew}/${service.desired}`).join(',')})`).join(' ')}`,
    )

    // A stack deploy that changes nothing moves UpdatedAt but keeps the tasks: it converges at once.
    await deploy(stack, {web: {...v1.web, image: TEST_IMAGE.v2}, workers: {...v1.workers, image: TEST_IMAGE.v2}})
    const again = await stackState(stack)
    const web = (state: {services: Service[]}): Service => state.services.find((service) => service.Spec.Name === `${stack}_web`)!
    expect(Date.parse(web(again).UpdatedAt)).toBeGreaterThan(Date.parse(web(after).UpdatedAt))
    for (const task of running) {
      const kept = again.tasks.find((candidate) => candidate.ID === task.ID)!
      expect(isTaskOfSpec(kept, again.services.find((service) => service.ID === kept.ServiceID)!.Spec.TaskTemplate)).toBe(true)
    }
    const unchanged = await waitForConvergence(docker, {stack, deadlineMs: Date.now() + 30_000, stabilityWindowMs: 0})
    expectOk(unchanged)
    expect(unchanged.lastTaskRunningAtMs).toBe(result.lastTaskRunningAtMs)
  })

  it('an update whose new task exits at once fails fast with the task\'s error', async () => {
    const stack = uniqueStackName()
    const port = await freePort()
    await deploy(stack, {web: {image: TEST_IMAGE.v1, command: httpdCommand(port)}})
    expectOk(await waitForConvergence(docker, {stack, deadlineMs: Date.now() + 60_000, stabilityWindowMs: 0}))

    await deploy(stack, {web: {image: TEST_IMAGE.v2, command: ['sh', '-c', 'exit 3']}})
    const result = await waitForConvergence(docker, {stack, deadlineMs: Date.now() + 90_000, stabilityWindowMs: STABILITY_MS})
    expectFailed(result)
    expect(result.reason).toBe('task-failed')
    expect(result.message).toContain('non-zero exit (3)')
    expect(result.failures[0]).toMatchObject({service: `${stack}_web`, state: 'failed', error: 'task: non-zero exit (3)'})
    expect(result.failures[0]!.taskId).toBeTruthy()
    expect(result.firstFailureAtMs).toBeDefined()
    const delayMs = result.detectedAtMs - result.firstFailureAtMs!
    console.log(`[converge] crash on start: detected ${delayMs} ms after the first failed task of the new spec; ${result.message}`)
    expect(delayMs).toBeLessThan(15_000)
  })

  it('an update that Swarm rolls back itself (failure_action: rollback) fails with the task\'s error, no hang', async () => {
    const stack = uniqueStackName()
    const port = await freePort()
    const web = {image: TEST_IMAGE.v1, command: httpdCommand(port), failureAction: 'rollback' as const}
    await deploy(stack, {web})
    expectOk(await waitForConvergence(docker, {stack, deadlineMs: Date.now() + 60_000, stabilityWindowMs: 0}))

    await deploy(stack, {web: {...web, image: TEST_IMAGE.v2, command: ['sh', '-c', 'exit 3']}})
    const result = await waitForConvergence(docker, {stack, deadlineMs: Date.now() + 90_000, stabilityWindowMs: STABILITY_MS})
    expectFailed(result)
    // Which is seen first depends on timing: the failed task, or Swarm's rollback that makes it a task of the PreviousSpec.
    expect(['task-failed', 'update-rolled-back']).toContain(result.reason)
    expect(result.failures.map((failure) => failure.error)).toContain('task: non-zero exit (3)')
    expect(result.message).toContain('non-zero exit (3)')
    console.log(`[converge] automatic rollback by Swarm: ${result.reason} after ${result.detectedAtMs - result.firstFailureAtMs!} ms; ${result.message}`)
  })

  it('a global service and a service scaled to 0 converge without hanging, also through an update', async () => {
    const stack = uniqueStackName()
    const services = {
      agent: {image: TEST_IMAGE.v1, command: ['sleep', '3600'], mode: 'global' as const},
      idle: {image: TEST_IMAGE.v1, command: ['sleep', '3600'], replicas: 0},
    }
    await deploy(stack, services)
    const first = await waitForConvergence(docker, {stack, deadlineMs: Date.now() + 60_000, stabilityWindowMs: STABILITY_MS})
    expectOk(first)
    expect(first.services).toEqual([
      expect.objectContaining({name: `${stack}_agent`, desired: 1, runningNew: 1, state: 'converged'}),
      expect.objectContaining({name: `${stack}_idle`, desired: 0, runningNew: 0, state: 'converged'}),
    ])

    await deploy(stack, {...services, agent: {...services.agent, image: TEST_IMAGE.v2}})
    const updated = await waitForConvergence(docker, {stack, deadlineMs: Date.now() + 60_000, stabilityWindowMs: STABILITY_MS})
    expectOk(updated)
    const {tasks} = await stackState(stack)
    const running = tasks.filter((task) => task.Status.State === 'running' && task.DesiredState === 'running')
    expect(running.map((task) => task.Spec.ContainerSpec?.Image)).toEqual([expect.stringMatching(/busybox:v2/)])
  })

  it('a deadline that passes while a task can never be placed ends in a timeout naming the service', async () => {
    const stack = uniqueStackName()
    await deploy(stack, {
      ok: {image: TEST_IMAGE.v1, command: ['sleep', '3600']},
      stuck: {image: TEST_IMAGE.v1, command: ['sleep', '3600'], constraints: ['node.labels.nope==1']},
    })
    const result = await waitForConvergence(docker, {stack, deadlineMs: Date.now() + 8000, stabilityWindowMs: STABILITY_MS})
    expectFailed(result)
    expect(result.reason).toBe('timeout')
    expect(result.message).toContain(`${stack}_stuck 0/1 running the new spec`)
    expect(result.message).toContain('no suitable node')
    expect(result.message).not.toContain(`${stack}_ok`)
    expect(result.failures.map((failure) => failure.service)).toEqual([`${stack}_stuck`])
  })

  it('an abort via the signal ends the wait at once', async () => {
    const stack = uniqueStackName()
    await deploy(stack, {stuck: {image: TEST_IMAGE.v1, command: ['sleep', '3600'], constraints: ['node.labels.nope==1']}})
    const controller = new AbortController()
    setTimeout(() => controller.abort(), 1500)
    const startedAtMs = Date.now()
    const result = await waitForConvergence(docker, {stack, deadlineMs: Date.now() + 60_000, signal: controller.signal})
    expectFailed(result)
    expect(result.reason).toBe('aborted')
    const afterAbortMs = Date.now() - startedAtMs - 1500
    console.log(`[converge] abort: returned ${afterAbortMs} ms after the signal`)
    expect(afterAbortMs).toBeLessThan(5000)
  })

  it('fault injection: an events stream cut by the transport is resumed, and its events still drive convergence', async () => {
    const stack = uniqueStackName()
    const port = await freePort()
    await deploy(stack, {web: {image: TEST_IMAGE.v1, command: httpdCommand(port)}})
    expectOk(await waitForConvergence(docker, {stack, deadlineMs: Date.now() + 60_000, stabilityWindowMs: 0}))

    // A real Agent on the daemon's socket, with an interceptor that cuts the first /events request after 500 ms.
    const endpoint = parseDockerHost(process.env)
    if (endpoint.kind !== 'unix') throw new Error('this test needs the local unix socket')
    const agent = new Agent({connect: {socketPath: endpoint.socketPath}})
    const eventRequests: string[] = []
    const cutter = (dispatch: Dispatcher['dispatch']): Dispatcher['dispatch'] => (opts, handler) => {
      if (!opts.path.includes('/events')) return dispatch(opts, handler)
      eventRequests.push(opts.path)
      if (eventRequests.length > 1) return dispatch(opts, handler)
      const inner = handler as Dispatcher.DispatchHandler
      let timer: NodeJS.Timeout | undefined
      const cutting: Dispatcher.DispatchHandler = {
        onRequestStart(controller, context) {
          timer = setTimeout(() => controller.abort(new Error('fault injection: events stream cut')), 500)
          inner.onRequestStart?.(controller, context)
        },
        onRequestUpgrade: (...args) => inner.onRequestUpgrade?.(...args),
        onResponseStart: (...args) => inner.onResponseStart?.(...args),
        onResponseData: (...args) => inner.onResponseData?.(...args),
        onResponseEnd(...args) {
          clearTimeout(timer)
          inner.onResponseEnd?.(...args)
        },
        onResponseError(...args) {
          clearTimeout(timer)
          inner.onResponseError?.(...args)
        },
      }
      return dispatch(opts, cutting)
    }
    const faulty = new DockerClient({dispatcher: agent.compose(cutter), endpoint})
    try {
      await deploy(stack, {web: {image: TEST_IMAGE.v2, command: httpdCommand(port)}})
      const reconnects: unknown[] = []
      // The poll is pushed out of the way (60 s, past the deadline): only the resumed stream can report convergence.
      const result = await waitForConvergence(faulty, {
        stack,
        deadlineMs: Date.now() + 45_000,
        stabilityWindowMs: STABILITY_MS,
        pollIntervalMs: 60_000,
        onEventStreamReconnect: (info) => reconnects.push(info.error),
      })
      expectOk(result)
      expect(reconnects.length).toBeGreaterThanOrEqual(1)
      expect(String(reconnects[0])).toContain('fault injection: events stream cut')
      expect(eventRequests.length).toBeGreaterThanOrEqual(2)
      expect(eventRequests[1]).toMatch(/since=\d+/)
      console.log(
        `[converge] cut events stream: ${eventRequests.length} events requests, converged ${result.convergedAtMs - result.lastTaskRunningAtMs!} ms ` +
          'after the last task reached running (event-driven: the poll was off)',
      )
    } finally {
      await agent.close()
    }
  })
})
