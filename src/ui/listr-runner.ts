import {Listr, ListrLogger, PRESET_TIMESTAMP, type ListrTask} from 'listr2'
import {executePhase, type PhaseRecord, type PlanRunner} from '../deploy/plan.js'
import type {RendererChoice} from './renderer.js'

/**
 * Runs a plan through listr2: one task per phase, in order, going on after a failure so that later phases (the
 * rollback) decide by their own `skip`. The renderer is chosen explicitly by `chooseRenderer`.
 */
export function listrRunner(choice: RendererChoice): PlanRunner {
  return async (plan, ctx) => {
    const records: PhaseRecord[] = []
    const tasks: ListrTask[] = plan.phases.map((phase) => ({
      title: phase.title,
      rendererOptions: {persistentOutput: true, outputBar: Infinity, bottomBar: Infinity},
      task: async (_listrCtx, task) => {
        const record = await executePhase(plan, phase, ctx, {
          output: (line) => {
            task.output = line
          },
          title: (title) => {
            task.title = title
          },
        })
        records.push(record)
        if (record.status === 'skipped') task.skip(record.skipReason)
        if (record.status === 'failed') throw new Error(record.error)
        if (record.status === 'passed') task.title = `${task.title} (${(record.durationMs / 1000).toFixed(1)}s)`
      },
    }))
    const options =
      choice.kind === 'live'
        ? {renderer: 'default' as const, rendererOptions: {collapseSubtasks: false, collapseErrors: false, showErrorMessage: true}}
        : {
            renderer: 'simple' as const,
            rendererOptions: {
              timestamp: PRESET_TIMESTAMP,
              ...(choice.stream === 'stderr'
                ? {logger: new ListrLogger({toStderr: ['STARTED', 'COMPLETED', 'FAILED', 'SKIPPED', 'OUTPUT', 'TITLE', 'RETRY', 'ROLLBACK', 'PROMPT', 'PAUSED']})}
                : {}),
            },
          }
    const listr = new Listr(tasks, {concurrent: false, exitOnError: false, registerSignalListeners: false, ...options})
    await listr.run()
    return records
  }
}
