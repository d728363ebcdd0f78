import {createBackup} from '../backup/create-backup.js'
import type {Backup} from '../backup/types.js'
import type {DeployOptions} from '../config/deploy-options.js'
import type {DockerClient} from '../docker/client.js'
import {runStackDeploy} from '../docker/stack-cli.js'
import {acquireStackLock, type StackLock} from './lock.js'
import {decideOutcome, type RunResult} from './outcome.js'
import type {Phase, PhaseRecord, Plan, PlanRunner} from './plan.js'
import {type PreflightResult, runPreflight} from './preflight.js'
import {rollbackPhase, type RollbackState} from './rollback-phase.js'
import type {ServiceFailure} from './converge.js'
import {convergeOrThrow, probeAppOrThrow, probeHealthOrThrow, StackFailure} from './verify-stack.js'

/** The state a deploy's phases share. */
export interface DeployContext {
  readonly options: DeployOptions
  readonly docker: DockerClient
  /** Aborted on SIGINT/SIGTERM/SIGHUP: waiting stops, the rollback still runs. */
  readonly signal: AbortSignal
  readonly uid?: number
  preflight?: PreflightResult
  lock?: StackLock
  backup?: Backup
  /** `docker stack deploy` has started: from here a failure needs a rollback. */
  changed: boolean
  /** Converge and probes end by this time (epoch ms): `--timeout` from the stack deploy. */
  deadlineMs?: number
  failure?: {phase: string; error: unknown}
  failingServices: ServiceFailure[]
  firstFailureAtMs?: number
  rollback?: RollbackState
  warnings: string[]
}

export interface DeployResult extends RunResult {
  command: 'deploy'
  backupDir?: string
}

/**
 * Phases 4–6 (stack deploy, converge, probes) end in failure when the run was interrupted meanwhile, even if they
 * passed (a probe in `--app-probe warn` mode only warns, a converge may finish just as Ctrl-C arrives): an
 * interrupted deploy is rolled back and exits 130, never reported as deployed.
 */
function failIfInterrupted(phase: Phase<DeployContext>): Phase<DeployContext> {
  return {
    ...phase,
    async run(ctx, report) {
      await phase.run(ctx, report)
      ctx.signal.throwIfAborted()
    },
  }
}

/** The plan of `clinical deploy` (DESIGN.md §2): each phase a named step; rollback is one more phase. */
export function deployPlan(): Plan<DeployContext> {
  const afterFailure = (ctx: DeployContext): string | false => (ctx.failure ? 'an earlier phase failed' : false)
  const phases: Array<Phase<DeployContext>> = [
    {
      id: 'preflight',
      title: 'Preflight checks (nothing changes yet)',
      async run(ctx, report) {
        ctx.preflight = await runPreflight({
          docker: ctx.docker,
          options: ctx.options,
          uid: ctx.uid,
          signal: ctx.signal,
          report: (line) => report.output(line),
        })
        ctx.warnings.push(...ctx.preflight.warnings)
      },
    },
    {
      id: 'lock',
      title: 'Take the stack lock',
      skip: afterFailure,
      async run(ctx, report) {
        ctx.lock = await acquireStackLock(ctx.docker, {
          stack: ctx.options.stack,
          command: 'clinical deploy',
          signal: ctx.signal,
          onWarning: (message) => ctx.warnings.push(message),
        })
        report.output(`lock held by ${ctx.lock.holder.user}@${ctx.lock.holder.host} (pid ${ctx.lock.holder.pid})`)
      },
    },
    {
      id: 'backup',
      title: 'Back up service specs, config and volumes',
      skip: afterFailure,
      async run(ctx, report) {
        const {options} = ctx
        const backup = await createBackup(ctx.docker, {
          stack: options.stack,
          backupDir: options.backupDir,
          configDir: ctx.preflight?.configDir,
          configDirRequired: options.configDirExplicit,
          appVersion: options.env.APP_VERSION,
          probes: options.probes,
          signal: ctx.signal,
          redactor: options.redactor,
          backupVolumes: options.backupVolumes,
          extraVolumes: options.extraVolumes,
          takenBy: 'clinical deploy',
          onProgress: (line) => report.output(line),
          onWarning: (message) => {
            ctx.warnings.push(message)
            report.output(`warning: ${message}`)
          },
        })
        ctx.backup = backup
        report.output(`backup ${backup.id}: ${backup.services.length} service spec(s), ${backup.manifest.volumes.length} volume archive(s) in ${backup.dir}`)
        for (const note of backup.manifest.notes) report.output(`note: ${note}`)
      },
    },
    failIfInterrupted({
      id: 'stack-deploy',
      title: 'Deploy the stack (docker stack deploy)',
      skip: afterFailure,
      async run(ctx, report) {
        ctx.signal.throwIfAborted() // interrupted after the backup: nothing changed yet, nothing to roll back
        ctx.changed = true
        ctx.deadlineMs = Date.now() + ctx.options.timeoutMs
        await runStackDeploy(
          {composeFile: ctx.options.composeFile, stack: ctx.options.stack, resolveImage: ctx.options.resolveImage},
          {env: ctx.options.env, redactor: ctx.options.redactor, signal: ctx.signal, onLine: (line) => report.output(line)},
        )
      },
    }),
    failIfInterrupted({
      id: 'converge',
      title: 'Converge: every service on its new spec',
      skip: afterFailure,
      async run(ctx, report) {
        await convergeOrThrow({docker: ctx.docker, stack: ctx.options.stack, deadlineMs: ctx.deadlineMs!, signal: ctx.signal, report})
      },
    }),
    failIfInterrupted({
      id: 'health-probes',
      title: 'Health probes',
      skip: (ctx) => afterFailure(ctx) || (ctx.options.probes.healthUrls.length === 0 ? 'no health URLs (--health-url none)' : false),
      async run(ctx, report) {
        await probeHealthOrThrow(ctx.options.probes.healthUrls, {
          deadlineMs: ctx.deadlineMs!,
          signal: ctx.signal,
          report,
          insecure: ctx.options.insecure,
        })
      },
    }),
    failIfInterrupted({
      id: 'app-probe',
      title: 'App start-up probe',
      skip: (ctx) => afterFailure(ctx) || (ctx.options.probes.appProbe === 'off' ? '--app-probe off' : false),
      async run(ctx, report) {
        const warning = await probeAppOrThrow(ctx.options.probes, {
          deadlineMs: ctx.deadlineMs!,
          signal: ctx.signal,
          report,
          insecure: ctx.options.insecure,
        })
        if (warning) ctx.warnings.push(warning)
      },
    }),
    {
      id: 'post-deploy',
      title: 'Post-deploy',
      skip: (ctx) => afterFailure(ctx) || (ctx.options.pruneImages ? false : 'no --prune-images'),
      async run(ctx, report) {
        const pruned = await ctx.docker.pruneImages(ctx.signal)
        report.output(`pruned ${pruned.ImagesDeleted?.length ?? 0} unused image(s)`)
      },
    },
    rollbackPhase<DeployContext>({
      title: 'Roll back to the backup taken by this run',
      skip: (ctx) => {
        if (!ctx.failure) return 'the deploy succeeded'
        if (!ctx.changed) return 'nothing was changed'
        if (!ctx.options.rollback) return '--no-rollback'
        if (!ctx.backup) return 'no backup to roll back to'
        return false
      },
      target: (ctx) => ({
        backup: ctx.backup!,
        stack: ctx.options.stack,
        probes: ctx.options.probes,
        insecure: ctx.options.insecure,
        timeoutMs: ctx.options.timeoutMs,
      }),
    }),
  ]
  return {
    phases,
    onError(ctx, phase, error) {
      if (phase.id === 'rollback') return // the rollback phase records its own outcome
      ctx.failure ??= {phase: phase.id, error}
      if (error instanceof StackFailure) {
        ctx.failingServices.push(...error.failures)
        if (error.converge && !error.converge.ok) ctx.firstFailureAtMs ??= error.converge.firstFailureAtMs
      }
    },
  }
}

/**
 * `clinical deploy`: run the plan, release the lock on every path, and decide the outcome and exit code.
 */
export async function deploy(
  options: DeployOptions,
  deps: {docker: DockerClient; runner: PlanRunner; signal: AbortSignal; uid?: number},
): Promise<DeployResult> {
  const ctx: DeployContext = {
    options,
    docker: deps.docker,
    signal: deps.signal,
    uid: deps.uid,
    changed: false,
    failingServices: [],
    warnings: [],
  }
  let phases: PhaseRecord[] = []
  try {
    phases = await deps.runner(deployPlan(), ctx)
  } finally {
    await ctx.lock?.release()
  }
  const outcome = decideOutcome({
    failure: ctx.failure,
    changed: ctx.changed,
    interrupted: deps.signal.aborted,
    rollback: ctx.rollback,
    rollbackDisabled: !options.rollback,
  })
  const detection =
    ctx.firstFailureAtMs !== undefined && ctx.rollback?.startedAtMs !== undefined
      ? Math.max(0, (ctx.rollback.startedAtMs - ctx.firstFailureAtMs) / 1000)
      : undefined
  return options.redactor.redactValue({
    command: 'deploy' as const,
    stack: options.stack,
    ...outcome,
    backupId: ctx.backup?.id,
    backupDir: ctx.backup?.dir,
    phases,
    failingServices: ctx.failingServices,
    warnings: ctx.warnings,
    ...(detection !== undefined ? {detectionToRollbackSeconds: Math.round(detection * 10) / 10} : {}),
  })
}
