import {describe, expect, it} from 'vitest'
import {
  assessService,
  defaultStabilityWindowMs,
  failureFloorMs,
  isTaskOfSpec,
  isWanted,
  normaliseTaskSpec,
} from '../../../src/deploy/service-assessment.js'
import type {TaskTemplate} from '../../../src/docker/types.js'
import {iso, service, T0, task, template} from './converge-fixtures.js'

describe('isTaskOfSpec: which tasks run the current spec', () => {
  it('matches a task made from the current spec although the service template carries Runtime', () => {
    const svc = service({image: 'img:v2'})
    expect(svc.Spec.TaskTemplate.Runtime).toBe('container')
    expect(isTaskOfSpec(task({id: 'a', image: 'img:v2', state: 'running', desired: 'running'}), svc.Spec.TaskTemplate)).toBe(true)
  })

  it('does not match the old task after an image update (the false-ready of the seed script)', () => {
    const svc = service({image: 'img:v2'})
    expect(isTaskOfSpec(task({id: 'a', image: 'img:v1', state: 'running', desired: 'running'}), svc.Spec.TaskTemplate)).toBe(false)
  })

  it('ignores nulls, empty objects, empty arrays and key order, but not a changed value', () => {
    const base = template('img:v2')
    // JSON as Go may write it: nulls where the other side omits the field (not expressible in the typed spec)
    const noisy = JSON.parse(`{"Networks":[{"Target":"hostnetid"}],"ForceUpdate":0,"Placement":{"Constraints":[]},"LogDriver":null,
      "ContainerSpec":{"Isolation":"default","Args":${JSON.stringify(base.ContainerSpec?.Args)},"Image":"img:v2","Env":null,"Mounts":[],
      "Labels":{"com.docker.stack.namespace":"st"},"Privileges":{"SELinuxContext":null,"CredentialSpec":null}}}`) as TaskTemplate
    expect(normaliseTaskSpec(noisy)).toEqual(normaliseTaskSpec(base))
    expect(isTaskOfSpec(task({id: 'a', spec: noisy, state: 'running', desired: 'running'}), base)).toBe(true)
    const forced = {...structuredClone(base), ForceUpdate: 1}
    expect(isTaskOfSpec(task({id: 'a', spec: base, state: 'running', desired: 'running'}), forced)).toBe(false)
    const otherArgs = template('img:v2')
    otherArgs.ContainerSpec!.Args = ['sh', '-c', 'exit 3']
    expect(isTaskOfSpec(task({id: 'a', spec: base, state: 'running', desired: 'running'}), otherArgs)).toBe(false)
  })

  it('keeps a running task whose spec differs only in placement constraints (as swarmkit does), but not a pending one', () => {
    const constrained = template('img:v2', {Placement: {Constraints: ['node.role==manager']}})
    const running = task({id: 'a', image: 'img:v2', state: 'running', desired: 'running'})
    const pending = task({id: 'b', image: 'img:v2', state: 'pending', desired: 'running'})
    expect(isTaskOfSpec(running, constrained)).toBe(true)
    expect(isTaskOfSpec(pending, constrained)).toBe(false)
    const constrainedNewImage = template('img:v3', {Placement: {Constraints: ['node.role==manager']}})
    expect(isTaskOfSpec(running, constrainedNewImage)).toBe(false)
  })

  it('counts a task as wanted while its desired state is ready or running (stop-first keeps the new task at ready)', () => {
    expect(isWanted(task({id: 'a', state: 'assigned', desired: 'ready'}))).toBe(true)
    expect(isWanted(task({id: 'a', state: 'running', desired: 'running'}))).toBe(true)
    expect(isWanted(task({id: 'a', state: 'running', desired: 'shutdown'}))).toBe(false)
    expect(isWanted(task({id: 'a', state: 'failed', desired: 'shutdown'}))).toBe(false)
  })
})

describe('assessService: replicated services', () => {
  it('is progressing while only the old task runs, although running == desired (1/1)', () => {
    const svc = service({image: 'img:v2', updateState: 'updating'})
    const result = assessService(svc, [
      task({id: 'old', image: 'img:v1', state: 'running', desired: 'running'}),
      task({id: 'new', image: 'img:v2', state: 'assigned', desired: 'ready', message: 'scheduler assigned task to node'}),
    ])
    expect(result.progress).toEqual({name: 'st_web', desired: 1, runningNew: 0, updateState: 'updating', state: 'progressing'})
    expect(result.waitingFor).toContain('0/1 running the new spec, 1 of an old spec still wanted')
    expect(result.waitingFor).toContain('scheduler assigned task to node')
  })

  it('is progressing while the old task is asked to stop and the new one waits at ready', () => {
    const result = assessService(service({image: 'img:v2', updateState: 'updating'}), [
      task({id: 'old', image: 'img:v1', state: 'running', desired: 'shutdown'}),
      task({id: 'new', image: 'img:v2', state: 'ready', desired: 'ready'}),
    ])
    expect(result.progress.state).toBe('progressing')
    expect(result.progress.runningNew).toBe(0)
  })

  it('converges when the new task runs and the old one is shut down; updating only marks the monitor period', () => {
    const tasks = [
      task({id: 'old', image: 'img:v1', state: 'shutdown', desired: 'shutdown', atMs: 2000}),
      task({id: 'new', image: 'img:v2', state: 'running', desired: 'running', atMs: 2500}),
    ]
    const updating = assessService(service({image: 'img:v2', updateState: 'updating'}), tasks)
    expect(updating.progress.state).toBe('converged')
    expect(updating.updating).toBe(true)
    expect(updating.lastRunningAtMs).toBe(T0 + 2500)
    const completed = assessService(service({image: 'img:v2', updateState: 'completed'}), tasks)
    expect(completed.progress.state).toBe('converged')
    expect(completed.updating).toBe(false)
    const unchanged = assessService(service({image: 'img:v2'}), tasks)
    expect(unchanged.progress).toMatchObject({state: 'converged', updateState: null, runningNew: 1, desired: 1})
    expect(unchanged.waitingFor).toBe('')
  })

  it('is progressing during a start-first update while the old task is still wanted', () => {
    const result = assessService(service({image: 'img:v2', updateState: 'updating'}), [
      task({id: 'old', image: 'img:v1', state: 'running', desired: 'running'}),
      task({id: 'new', image: 'img:v2', state: 'running', desired: 'running', slot: 1}),
    ])
    expect(result.progress.state).toBe('progressing')
    expect(result.progress.runningNew).toBe(1)
  })

  it('needs every replica: 2 of 3 running is progressing', () => {
    const result = assessService(service({image: 'img:v2', replicas: 3}), [
      task({id: 'a', slot: 1, state: 'running', desired: 'running'}),
      task({id: 'b', slot: 2, state: 'running', desired: 'running'}),
      task({id: 'c', slot: 3, state: 'starting', desired: 'running'}),
    ])
    expect(result.progress).toMatchObject({desired: 3, runningNew: 2, state: 'progressing'})
    expect(result.waitingFor).toContain('task c starting')
  })

  it('names why a task is pending (a placement that no node satisfies)', () => {
    const result = assessService(service({image: 'img:v2'}), [
      task({
        id: 'p1',
        state: 'pending',
        desired: 'running',
        err: 'no suitable node (scheduling constraints not satisfied on 1 node)',
        message: 'pending task scheduling',
      }),
    ])
    expect(result.progress.state).toBe('progressing')
    expect(result.waitingFor).toBe('0/1 running the new spec (task p1 pending: no suitable node (scheduling constraints not satisfied on 1 node))')
  })

  it('only counts tasks of this service', () => {
    const result = assessService(service({image: 'img:v2'}), [task({id: 'x', serviceId: 'other', state: 'running', desired: 'running'})])
    expect(result.progress.runningNew).toBe(0)
  })

  it('scaled to 0: converged when nothing is wanted and nothing runs, not before', () => {
    expect(assessService(service({replicas: 0}), []).progress).toMatchObject({desired: 0, state: 'converged'})
    const stopping = assessService(service({replicas: 0}), [task({id: 'a', state: 'running', desired: 'shutdown'})])
    expect(stopping.progress.state).toBe('progressing')
    expect(stopping.waitingFor).toContain('scaled to 0')
    const stopped = assessService(service({replicas: 0}), [task({id: 'a', state: 'shutdown', desired: 'shutdown'})])
    expect(stopped.progress.state).toBe('converged')
  })
})

describe('assessService: failing fast', () => {
  it('fails on a task of the new spec that exited non-zero, with its error and time', () => {
    const result = assessService(service({image: 'img:v3', updateState: 'updating', updateStartedAtMs: 0, updatedAtMs: 0}), [
      task({id: 'old', image: 'img:v2', state: 'shutdown', desired: 'shutdown', atMs: 900}),
      task({id: 'crash1', image: 'img:v3', state: 'failed', desired: 'shutdown', atMs: 1400, err: 'task: non-zero exit (3)'}),
      task({id: 'crash2', image: 'img:v3', state: 'ready', desired: 'ready', atMs: 1500}),
    ])
    expect(result.progress.state).toBe('failed')
    expect(result.reason).toBe('task-failed')
    expect(result.failures).toEqual([
      {service: 'st_web', taskId: 'crash1', slot: 1, state: 'failed', error: 'task: non-zero exit (3)', at: iso(1400)},
    ])
    expect(result.firstFailureAtMs).toBe(T0 + 1400)
  })

  it('with toleratedTaskFailures (a rollback), waits while Swarm restarts a failed task; one more failure in that slot fails', () => {
    const svc = service({image: 'img:v1', updateState: 'updating', updateStartedAtMs: 0, updatedAtMs: 0})
    const first = task({id: 'bind1', image: 'img:v1', state: 'failed', desired: 'shutdown', atMs: 1400, err: 'task: non-zero exit (1)'})
    const restarting = task({id: 'retry', image: 'img:v1', state: 'ready', desired: 'running', atMs: 1500})
    const waiting = assessService(svc, [first, restarting], {toleratedTaskFailures: 1})
    expect(waiting.progress.state).toBe('progressing')
    expect(waiting.waitingFor).toContain('1 failed task(s) restarted by Swarm, last: task: non-zero exit (1)')
    const running = task({id: 'retry', image: 'img:v1', state: 'running', desired: 'running', atMs: 6500})
    expect(assessService(svc, [first, running], {toleratedTaskFailures: 1}).progress.state).toBe('converged')
    const second = task({id: 'bind2', image: 'img:v1', state: 'failed', desired: 'shutdown', atMs: 6600, err: 'task: non-zero exit (1)'})
    const failed = assessService(svc, [first, second], {toleratedTaskFailures: 1})
    expect(failed.reason).toBe('task-failed')
    expect(failed.failures.map((failure) => failure.taskId)).toEqual(['bind1'])
    expect(assessService(svc, [first, restarting]).reason).toBe('task-failed') // a deploy: no tolerance
  })

  it('with toleratedTaskFailures, an update Swarm paused after that failure is waited out too; without a failure it is not', () => {
    const paused = service({image: 'img:v1', updateState: 'paused', updateStartedAtMs: 0, updatedAtMs: 1600, updateMessage: 'update paused'})
    const first = task({id: 'bind1', image: 'img:v1', state: 'failed', desired: 'shutdown', atMs: 1400, err: 'task: non-zero exit (1)'})
    const running = task({id: 'retry', image: 'img:v1', state: 'running', desired: 'running', atMs: 6500})
    expect(assessService(paused, [first, running], {toleratedTaskFailures: 2}).progress.state).toBe('converged')
    expect(assessService(paused, [running], {toleratedTaskFailures: 2}).reason).toBe('update-paused')
  })

  it('prefers the task failure to the paused update state, which Swarm sets right after it', () => {
    const result = assessService(
      service({image: 'img:v3', updateState: 'paused', updateStartedAtMs: 0, updatedAtMs: 5000, updateMessage: 'update paused due to failure'}),
      [task({id: 'crash1', image: 'img:v3', state: 'failed', desired: 'shutdown', atMs: 4900, err: 'task: non-zero exit (3)'})],
    )
    // the pause moved UpdatedAt past the failure; UpdateStatus.StartedAt keeps the floor at the update's start
    expect(result.reason).toBe('task-failed')
    expect(result.firstFailureAtMs).toBe(T0 + 4900)
  })

  it('reports one failure per slot in a crash loop: the earliest', () => {
    const result = assessService(service({image: 'img:v3'}), [
      task({id: 'c3', state: 'failed', desired: 'shutdown', atMs: 12_000, err: 'task: non-zero exit (3)', image: 'img:v3'}),
      task({id: 'c1', state: 'failed', desired: 'shutdown', atMs: 2000, err: 'task: non-zero exit (3)', image: 'img:v3'}),
      task({id: 'c2', state: 'failed', desired: 'shutdown', atMs: 7000, err: 'task: non-zero exit (3)', image: 'img:v3'}),
    ])
    expect(result.failures.map((failure) => failure.taskId)).toEqual(['c1'])
  })

  it('fails on a rejected task', () => {
    const result = assessService(service({image: 'img:v3'}), [
      task({id: 'r', image: 'img:v3', state: 'rejected', desired: 'shutdown', err: 'No such image: img:v3'}),
    ])
    expect(result.reason).toBe('task-failed')
    expect(result.failures[0]?.error).toBe('No such image: img:v3')
  })

  it('fails on a task that completed (exit 0): a server that exits is not serving', () => {
    const result = assessService(service({image: 'img:v3'}), [
      task({id: 'done', image: 'img:v3', state: 'complete', desired: 'shutdown', exitCode: 0, message: 'finished'}),
    ])
    expect(result.reason).toBe('task-failed')
    expect(result.failures[0]?.error).toContain('exited with code 0 (complete)')
  })

  it('ignores failed tasks of an old spec', () => {
    const result = assessService(service({image: 'img:v2'}), [
      task({id: 'f', image: 'img:v1', state: 'failed', desired: 'shutdown', err: 'task: non-zero exit (1)'}),
      task({id: 'ok', image: 'img:v2', state: 'running', desired: 'running'}),
    ])
    expect(result.progress.state).toBe('converged')
  })

  it('ignores failures of the current spec from before its last update (history)', () => {
    const svc = service({image: 'img:v2', updatedAtMs: 60_000})
    const tasks = [
      task({id: 'f', state: 'failed', desired: 'shutdown', atMs: 30_000, err: 'task: non-zero exit (1)'}),
      task({id: 'ok', state: 'running', desired: 'running', atMs: 31_000}),
    ]
    expect(assessService(svc, tasks).progress.state).toBe('converged')
    // the same failure after the last spec update counts, unless the caller's sinceMs says it predates the rollout
    expect(assessService(service({image: 'img:v2', updatedAtMs: 0}), tasks).reason).toBe('task-failed')
    expect(assessService(service({image: 'img:v2', updatedAtMs: 0}), tasks, {sinceMs: T0 + 40_000}).progress.state).toBe('converged')
  })

  it('fails on a paused update with Swarm\'s message', () => {
    const result = assessService(
      service({image: 'img:v3', updateState: 'paused', updateMessage: 'update paused due to failure or early termination of task abc'}),
      [task({id: 'x', image: 'img:v3', state: 'ready', desired: 'ready'})],
    )
    expect(result.reason).toBe('update-paused')
    expect(result.failures[0]?.error).toBe('Swarm paused the update: update paused due to failure or early termination of task abc')
  })

  it.each(['rollback_started', 'rollback_paused', 'rollback_completed'] as const)(
    'fails on %s and reports the tasks that failed since the update began, whatever their spec',
    (state) => {
      // after Swarm's own rollback the Spec is the old one again and PreviousSpec is gone (as observed)
      const result = assessService(
        service({image: 'img:v2', updateState: state, updateStartedAtMs: 1000, updatedAtMs: 2100, updateMessage: 'update rolled back due to failure or early termination of task crash'}),
        [
          task({id: 'history', image: 'img:v3', state: 'failed', desired: 'shutdown', atMs: 500, err: 'task: non-zero exit (9)'}),
          task({id: 'crash', image: 'img:v3', state: 'failed', desired: 'shutdown', atMs: 1500, err: 'task: non-zero exit (3)'}),
          task({id: 'back', image: 'img:v2', state: 'running', desired: 'running', atMs: 2000}),
        ],
      )
      expect(result.reason).toBe('update-rolled-back')
      expect(result.failures).toHaveLength(2)
      expect(result.failures[0]?.error).toBe(`Swarm rolled the update back (${state}): update rolled back due to failure or early termination of task crash`)
      expect(result.failures[1]).toMatchObject({taskId: 'crash', error: 'task: non-zero exit (3)'})
      expect(result.firstFailureAtMs).toBe(T0 + 1500)
    },
  )
})

describe('assessService: global services and jobs', () => {
  const global = {Global: {}}

  it('converges when every wanted task is of the new spec and running; desired = wanted tasks', () => {
    const result = assessService(service({mode: global, image: 'img:v2'}), [
      task({id: 'a', slot: null, nodeId: 'n1', state: 'running', desired: 'running'}),
      task({id: 'b', slot: null, nodeId: 'n2', state: 'running', desired: 'running'}),
      task({id: 'old', slot: null, nodeId: 'n1', image: 'img:v1', state: 'shutdown', desired: 'shutdown'}),
    ])
    expect(result.progress).toMatchObject({desired: 2, runningNew: 2, state: 'converged'})
  })

  it('is progressing while a node still runs the old spec, or its new task waits at ready', () => {
    const oldStill = assessService(service({mode: global, image: 'img:v2', updateState: 'updating'}), [
      task({id: 'a', slot: null, nodeId: 'n1', state: 'running', desired: 'running'}),
      task({id: 'b', slot: null, nodeId: 'n2', image: 'img:v1', state: 'running', desired: 'running'}),
    ])
    expect(oldStill.progress.state).toBe('progressing')
    expect(oldStill.waitingFor).toContain('1 of an old spec')
    const gap = assessService(service({mode: global, image: 'img:v2', updateState: 'updating'}), [
      task({id: 'old', slot: null, image: 'img:v1', state: 'running', desired: 'shutdown'}),
      task({id: 'new', slot: null, state: 'ready', desired: 'ready'}),
    ])
    expect(gap.progress).toMatchObject({desired: 1, runningNew: 0, state: 'progressing'})
  })

  it('a global service with no node to run on (0/0) is converged, not waited on forever', () => {
    expect(assessService(service({mode: global}), []).progress).toMatchObject({desired: 0, state: 'converged'})
  })

  it('fails per node in a global crash loop', () => {
    const result = assessService(service({mode: global, image: 'img:v3'}), [
      task({id: 'a', slot: null, nodeId: 'n1', image: 'img:v3', state: 'failed', desired: 'shutdown', err: 'task: non-zero exit (2)', atMs: 3000}),
      task({id: 'b', slot: null, nodeId: 'n2', image: 'img:v3', state: 'failed', desired: 'shutdown', err: 'task: non-zero exit (2)', atMs: 2000}),
    ])
    expect(result.failures.map((failure) => failure.taskId)).toEqual(['b', 'a'])
    expect(result.firstFailureAtMs).toBe(T0 + 2000)
  })

  it.each([{ReplicatedJob: {TotalCompletions: 1}}, {GlobalJob: {}}])('jobs are converged at once, not waited on (%o)', (mode) => {
    const result = assessService(service({mode, image: 'img:v2'}), [
      task({id: 'j', state: 'complete', desired: 'complete', exitCode: 0}),
      task({id: 'k', state: 'failed', desired: 'shutdown', err: 'task: non-zero exit (1)'}),
    ])
    expect(result.progress.state).toBe('converged')
    expect(result.failures).toEqual([])
  })
})

describe('windows and floors', () => {
  it('stability window: max(largest Monitor, 10 s); Monitor is in nanoseconds, 5 s when unset', () => {
    expect(defaultStabilityWindowMs([service()])).toBe(10_000)
    expect(defaultStabilityWindowMs([service(), service({monitorNs: 30e9})])).toBe(30_000)
    expect(defaultStabilityWindowMs([service({monitorNs: 2e9})])).toBe(10_000)
  })

  it('failure floor: the start of the current update, else the last spec update, raised by sinceMs', () => {
    expect(failureFloorMs(service({updatedAtMs: 9000}))).toBe(T0 + 9000)
    expect(failureFloorMs(service({updatedAtMs: 9000, updateState: 'paused', updateStartedAtMs: 1000}))).toBe(T0 + 1000)
    expect(failureFloorMs(service({updatedAtMs: 9000}), T0 + 20_000)).toBe(T0 + 20_000)
  })
})
