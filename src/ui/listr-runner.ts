import {Listr, ListrLogger, PRESET_TIMESTAMP, type ListrTask} from 'listr2'
import {githubActionsRunner} from '../ci/github-runner.js'
import {executePhase, type PhaseRecord, type PlanRunner} from '../deploy/plan.js'
import type {Redactor} from '../secrets/redact.js'
import type {RendererChoice} from './renderer.js'

/**
 * Runs a plan through listr2: one task per phase, in order, going on after a failure so that later phases (the
 * rollback) decide by their own `skip`. The renderer is chosen explicitly by `chooseRenderer`; in GitHub Actions
 * the plan runs through githubActionsRunner (a group per phase). Every title, line and error goes through the
 * redactor when one is given.
 */
export function listrRunner(choice: RendererChoice, options: {redactor?: Redactor; label?: string} = {}): PlanRunner {
  const safe = (text: string): string => (options.redactor ? options.redactor.redact(text) : text)
  if (choice.kind === 'github') {
    const stream = choice.stream === 'stderr' ? process.stderr : process.stdout
    return githubActionsRunner((line) => stream.write(`${line}\n`), options)
  }
  return async (plan, ctx) => {
    const records: PhaseRecord[] = []
    const tasks: ListrTask[] = plan.phases.map((phase) => ({
      title: safe(phase.title),
      rendererOptions: {persistentOutput: true, outputBar: Infinity, bottomBar: Infinity},
      task: async (_listrCtx, task) => {
        const record = await executePhase(plan, phase, ctx, {
          output: (line) => {
            task.output = safe(line)
          },
          title: (title) => {
            task.title = safe(title)
          },
        })
        records.push(record)
        if (record.status === 'skipped') task.skip(record.skipReason && safe(record.skipReason))
        if (record.status === 'failed') throw new Error(safe(record.error ?? 'failed'))
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
