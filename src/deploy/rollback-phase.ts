import type {Backup, ProbeSettings} from '../backup/types.js'
import type {DockerClient} from '../docker/client.js'
import type {Phase} from './plan.js'
import {restoreServices} from './restore.js'
import {convergeOrThrow, probeAppOrThrow, probeHealthOrThrow, StackFailure} from './verify-stack.js'

/**
 * The restored specs ran before: a failed first task is more likely the moment (the replaced task still holds a
 * host port during its stop grace period) than the spec. Swarm restarts it (restart delay 5 s by default); a third
 * failure in one slot fails the rollback, as does the deadline.
 */
export const ROLLBACK_TOLERATED_TASK_FAILURES = 2

export interface RollbackState {
  startedAtMs: number
  ok: boolean
  error?: string
  updated: string[]
  created: string[]
  removed: string[]
}

export interface RollbackTarget {
  backup: Backup
  stack: string
  probes: ProbeSettings
  insecure: boolean
  timeoutMs: number
}

interface RollbackContext {
  readonly docker: DockerClient
  rollback?: RollbackState
  warnings: string[]
}

/**
 * Put back every service's saved spec (updates in parallel), then converge and probe again
 * (DESIGN.md §4). Used by `clinical deploy` after a failure and by `clinical rollback`.
 * It runs with its own deadline and is not aborted by Ctrl-C: an interrupted deploy is still rolled back.
 */
export function rollbackPhase<C extends RollbackContext>(spec: {
  id?: string
  title: string
  skip?: (ctx: C) => string | false
  target: (ctx: C) => RollbackTarget
}): Phase<C> {
  return {
    id: spec.id ?? 'rollback',
    title: spec.title,
    skip: spec.skip,
    async run(ctx, report) {
      const target = spec.target(ctx)
      const state: RollbackState = {startedAtMs: Date.now(), ok: false, updated: [], created: [], removed: []}
      ctx.rollback = state
      try {
        const deadlineMs = Date.now() + target.timeoutMs
        report.output(`restoring ${target.backup.services.length} service spec(s) from backup ${target.backup.id}`)
        const restored = await restoreServices(ctx.docker, {
          stack: target.stack,
          snapshots: target.backup.services,
          onProgress: (event) => {
            if (event.status !== 'started') report.output(`${event.service}: ${event.action} ${event.status}${event.error ? `: ${event.error}` : ''}`)
          },
        })
        state.updated = restored.updated
        state.created = restored.created
        state.removed = restored.removed
        if (restored.failed.length > 0) {
          throw new StackFailure(`could not restore ${restored.failed.map((failure) => `${failure.service} (${failure.error})`).join(', ')}`)
        }
        if (target.backup.services.length > 0) {
          await convergeOrThrow({
            docker: ctx.docker,
            stack: target.stack,
            deadlineMs,
            report,
            label: 'Roll back: converge',
            toleratedTaskFailures: ROLLBACK_TOLERATED_TASK_FAILURES,
          })
          await probeHealthOrThrow(target.probes.healthUrls, {deadlineMs, report, insecure: target.insecure})
          const warning = await probeAppOrThrow(target.probes, {deadlineMs, report, insecure: target.insecure})
          if (warning) ctx.warnings.push(warning)
        } else {
          report.output('the backup holds no services (first deploy): every service of the stack was removed')
        }
        state.ok = true
        report.title(
          `${spec.title}: ${restored.updated.length} updated, ${restored.created.length} recreated, ${restored.removed.length} removed, ${restored.unchanged.length} unchanged`,
        )
      } catch (error) {
        state.error = error instanceof Error ? error.message : String(error)
        throw error
      }
    },
  }
}
