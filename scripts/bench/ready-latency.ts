/**
 * Measure 2: seconds between the last new task reaching `running` (its Status.Timestamp) and the moment a waiter
 * says "ready". clinical: waitForConvergence's convergedAtMs (the library the deploy uses, events + a 0.5 s poll while converging).
 * seed: its replica poll (seed-wait.ts), the moment its `docker service ls` returned "all ready". Both watch the
 * same `docker stack deploy` side by side: a first deploy (creating the services), then good updates.
 */
import {waitForConvergence} from '../../src/deploy/converge.js'
import {freePort} from '../demo/support.js'
import {type BenchContext, type MeasureResult, millis, seconds, signedSeconds} from './measure.js'
import {SEED_POLL_INTERVAL_MS, seedWaitForServices} from './seed-wait.js'
import {benchStackName, IMAGE, lastRunningAtMs, median, stackDeploy, stackListing, WEB_WORKER_COMPOSE, webScript, writeCompose} from './stacks.js'

const TARGET_MS = 1000
const TRIAL_TIMEOUT_MS = 120_000

interface Trial {
  kind: 'create' | 'update'
  tag: string
  clinicalMs: number
  /** Seed's "ready" minus the last new task's running time; negative: it declared ready before the new tasks ran. */
  seedMs?: number
  seedOutcome: string
}

export async function measureReadyLatency(ctx: BenchContext, options: {updates: number}): Promise<MeasureResult> {
  const stack = ctx.track(benchStackName('ready'))
  const port = await freePort()
  const composeFile = await writeCompose(ctx.workDir, `${stack}.yml`, WEB_WORKER_COMPOSE)
  ctx.log(`2. ready latency: stack ${stack} (web on 127.0.0.1:${port} + worker)`)

  const trials: Trial[] = []
  const tags = ['v1', ...Array.from({length: options.updates}, (_, index) => (index % 2 === 0 ? 'v2' : 'v1'))]
  for (const [index, tag] of tags.entries()) {
    const kind = index === 0 ? 'create' : 'update'
    await stackDeploy(composeFile, stack, {APP_VERSION: tag, WEB_SCRIPT: webScript('good', port)})
    const startedAtMs = Date.now()
    const [converged, seed] = await Promise.all([
      waitForConvergence(ctx.docker, {stack, deadlineMs: startedAtMs + TRIAL_TIMEOUT_MS, stabilityWindowMs: 1000}),
      seedWaitForServices(stack, {observeUntilMs: startedAtMs + TRIAL_TIMEOUT_MS}),
    ])
    if (!converged.ok) throw new Error(`clinical's converge did not succeed on a good ${kind} (${tag}): ${converged.message}`)
    const lastRunningMs = lastRunningAtMs(await stackListing(ctx.docker, stack), IMAGE(tag))
    if (lastRunningMs === undefined) throw new Error(`no running ${IMAGE(tag)} task in every service of ${stack} after convergence`)
    const trial: Trial = {
      kind,
      tag,
      clinicalMs: converged.convergedAtMs - lastRunningMs,
      seedMs: seed.readyAtMs === undefined ? undefined : seed.readyAtMs - lastRunningMs,
      seedOutcome: seed.outcome,
    }
    trials.push(trial)
    ctx.log(
      `   ${kind} ${tag}: clinical converged ${signedSeconds(trial.clinicalMs)} after the last new task ran; ` +
        `seed ${trial.seedMs === undefined ? `no verdict (${seed.outcome})` : `said ready ${signedSeconds(trial.seedMs)}${trial.seedMs < 0 ? ' (before the new tasks ran: false ready)' : ''}`}`,
    )
  }
  await ctx.remove(stack)

  const create = trials[0]!
  const updates = trials.slice(1)
  const clinicalMedianMs = median(trials.map((trial) => trial.clinicalMs))
  const clinicalMaxMs = Math.max(...trials.map((trial) => trial.clinicalMs))
  const createSeedMs = create.seedMs
  const falseReady = updates.filter((trial) => trial.seedMs !== undefined && trial.seedMs < 0).length
  const ratio = createSeedMs !== undefined && createSeedMs > 0 ? `${(createSeedMs / Math.max(clinicalMedianMs, 1)).toFixed(0)}× sooner` : 'n/a'
  // the target holds for every rollout, not on average: judged on the slowest trial
  const verdict = clinicalMaxMs <= TARGET_MS ? 'met' : 'missed'
  return {
    id: 2,
    title: 'Ready latency (last new task running → "ready")',
    clinical: `${seconds(clinicalMedianMs, 2)} (max ${seconds(clinicalMaxMs, 2)})`,
    baseline: createSeedMs === undefined ? 'seed: no verdict' : `seed: ${seconds(createSeedMs)} (first deploy)`,
    ratio,
    target: `≤ ${TARGET_MS / 1000} s (each trial)`,
    verdict,
    summary:
      `Ready latency: clinical reported convergence ${millis(clinicalMedianMs)} after the last new task reached running (median of ${trials.length}: ` +
      `${trials.map((trial) => millis(trial.clinicalMs)).join(', ')}; max ${millis(clinicalMaxMs)}); the seed's 10 s poll noticed a first deploy ${createSeedMs === undefined ? 'never' : seconds(createSeedMs)} after it (${ratio}), ` +
      `and on ${falseReady} of ${updates.length} updates said "ready" before the new tasks ran (false ready). Target ≤ ${TARGET_MS / 1000} s on every trial: ${verdict}.`,
    details: [
      `Each trial: \`docker stack deploy\` of a good release, then clinical's waitForConvergence (the library the deploy uses: service events + a 0.5 s safety-net poll while converging; ` +
        `stability window 1 s here, its convergedAtMs is when it first saw every service on its new spec) and the seed's wait loop run side by side on the same rollout. ` +
        `"Last new task running" is the newest Status.Timestamp of a running task of the new image, read from the swarm afterwards.`,
      `Trials (clinical / seed, relative to the last new task running): ` +
        trials.map((trial) => `${trial.kind} ${trial.tag}: ${signedSeconds(trial.clinicalMs)} / ${trial.seedMs === undefined ? trial.seedOutcome : signedSeconds(trial.seedMs)}`).join('; ') + '.',
      `The seed polls every ${SEED_POLL_INTERVAL_MS / 1000} s, starting at once: on a first deploy it notices between 0 and 10 s after the tasks run (5 s on average, the figure above is one draw); ` +
        `on an update its first poll usually counts the old tasks (\`docker service ls\` shows 1/1 while the old task is still counted), so it declares ready before the new spec runs at all.`,
      `clinical's figure depends on when its 0.5 s safety-net poll falls: a task reaching \`running\` raises no event (only service changes do), so the worst case is about one poll interval plus one listing.`,
    ],
  }
}
