import {loadBackup} from '../backup/backup-store.js'
import {type RestoreVolumesState, restoreVolumes} from '../backup/restore-volumes.js'
import type {Backup, ProbeSettings} from '../backup/types.js'
import type {DockerClient} from '../docker/client.js'
import {exitCodeOf} from '../errors.js'
import {ExitCode} from '../exit-codes.js'
import {acquireStackLock, type StackLock} from './lock.js'
import type {RunOutcome, RunResult} from './outcome.js'
import type {Plan, PhaseRecord, PlanRunner} from './plan.js'
import {rollbackPhase, type RollbackState} from './rollback-phase.js'

export interface RollbackOptions {
  stack: string
  backupDir: string
  /** A backup id; the newest backup when undefined. */
  to?: string
  timeoutMs: number
  /** Probe settings given on the command line; the backup's recorded ones otherwise. */
  probes?: ProbeSettings
  insecure: boolean
  /** `--restore-volumes`: also put the backup's volume archives back (confirmed by the command before). */
  restoreVolumes?: boolean
}

export interface RollbackContext {
  readonly options: RollbackOptions
  readonly docker: DockerClient
  readonly signal: AbortSignal
  backup?: Backup
  lock?: StackLock
  failure?: {phase: string; error: unknown}
  rollback?: RollbackState
  /** Set once the volume restore starts; `changed` once it scaled a service down. */
  volumeRestore?: RestoreVolumesState
  warnings: string[]
}

export interface RollbackResult extends RunResult {
  command: 'rollback'
  failingServices: []
  restored?: {updated: string[]; created: string[]; removed: string[]}
  restoredVolumes?: string[]
}

export function rollbackPlan(): Plan<RollbackContext> {
  const afterFailure = (ctx: RollbackContext): string | false => (ctx.failure ? 'an earlier phase failed' : false)
  return {
    phases: [
      {
        id: 'load-backup',
        title: 'Find the backup',
        async run(ctx, report) {
          const backup = await loadBackup(ctx.options.backupDir, ctx.options.stack, ctx.options.to)
          ctx.backup = backup
          const {manifest} = backup
          report.output(
            `backup ${backup.id} of ${manifest.createdAt}${manifest.appVersion ? ` (app version ${manifest.appVersion})` : ''}: ${backup.services.length} service(s)`,
          )
        },
      },
      {
        id: 'lock',
        title: 'Take the stack lock',
        skip: afterFailure,
        async run(ctx, report) {
          ctx.lock = await acquireStackLock(ctx.docker, {
            stack: ctx.options.stack,
            command: 'clinical rollback',
            signal: ctx.signal,
            onWarning: (message) => ctx.warnings.push(message),
          })
          report.output(`lock held by ${ctx.lock.holder.user}@${ctx.lock.holder.host} (pid ${ctx.lock.holder.pid})`)
        },
      },
      {
        id: 'restore-volumes',
        title: 'Restore the volumes of the backup',
        skip: (ctx) => afterFailure(ctx) || (ctx.options.restoreVolumes ? false : 'no --restore-volumes'),
        async run(ctx, report) {
          ctx.volumeRestore = {changed: false, restored: [], stopped: []}
          await restoreVolumes(
            ctx.docker,
            {
              backup: ctx.backup!,
              deadlineMs: Date.now() + ctx.options.timeoutMs,
              signal: ctx.signal,
              report: (line) => report.output(line),
              onWarning: (message) => {
                ctx.warnings.push(message)
                report.output(`warning: ${message}`)
              },
            },
            ctx.volumeRestore,
          )
        },
      },
      rollbackPhase<RollbackContext>({
        title: 'Restore the saved service specs, converge and probe',
        skip: afterFailure,
        target: (ctx) => ({
          backup: ctx.backup!,
          stack: ctx.options.stack,
          probes: ctx.options.probes ?? ctx.backup!.manifest.probes,
          insecure: ctx.options.insecure,
          timeoutMs: ctx.options.timeoutMs,
        }),
      }),
    ],
    onError(ctx, phase, error) {
      ctx.failure ??= {phase: phase.id, error}
    },
  }
}

/** `clinical rollback`: restore a backup's service specs under the stack lock, then converge and probe. */
export async function rollback(options: RollbackOptions, deps: {docker: DockerClient; runner: PlanRunner; signal: AbortSignal}): Promise<RollbackResult> {
  const ctx: RollbackContext = {options, docker: deps.docker, signal: deps.signal, warnings: []}
  let phases: PhaseRecord[] = []
  try {
    phases = await deps.runner(rollbackPlan(), ctx)
  } finally {
    await ctx.lock?.release()
  }
  return {
    command: 'rollback',
    stack: options.stack,
    ...rollbackOutcome(ctx),
    backupId: ctx.backup?.id,
    phases,
    failingServices: [],
    warnings: ctx.warnings,
    ...(ctx.rollback ? {restored: {updated: ctx.rollback.updated, created: ctx.rollback.created, removed: ctx.rollback.removed}} : {}),
    ...(ctx.volumeRestore ? {restoredVolumes: ctx.volumeRestore.restored} : {}),
  }
}

function rollbackOutcome(ctx: RollbackContext): RunOutcome {
  if (!ctx.failure) {
    return {outcome: 'success', exitCode: ExitCode.Success, message: `restored backup ${ctx.backup?.id}: every service converged and every probe passed`}
  }
  const reason = ctx.failure.error instanceof Error ? ctx.failure.error.message : String(ctx.failure.error)
  if (!ctx.rollback && ctx.volumeRestore?.changed) {
    return {outcome: 'rollback-failed', exitCode: ExitCode.NeedsPerson, message: `${reason}. The stack needs a person now: check clinical status`}
  }
  if (!ctx.rollback && ctx.signal.aborted) {
    return {outcome: 'interrupted', exitCode: ExitCode.Interrupted, message: `interrupted during ${ctx.failure.phase}, before any change; nothing was changed`}
  }
  if (!ctx.rollback) {
    const code = exitCodeOf(ctx.failure.error)
    return code === ExitCode.Locked
      ? {outcome: 'locked', exitCode: code, message: reason}
      : {outcome: 'refused', exitCode: ExitCode.Refused, message: `${reason}; nothing was changed`}
  }
  return {
    outcome: 'rollback-failed',
    exitCode: ExitCode.NeedsPerson,
    message: `the rollback to ${ctx.backup?.id} failed: ${reason}. The stack needs a person now: check clinical status`,
  }
}

