/**
 * Measure 1: a crash-looping update (the new `web` task exits 3 at once). Seconds from the first failed task of
 * the new spec (its Status.Timestamp) to the start of the rollback.
 *
 * clinical: `clinical deploy --json` (the built CLI); its result holds detectionToRollbackSeconds, cross-checked
 * here from the swarm (first failed task of the new image) and the rollback phase's start time.
 * seed: `docker stack deploy`, then the seed's wait loop (seed-wait.ts). It never rolls back: what is measured is
 * when it declares the broken release ready (a false ready), or that it would give up after 60 × 10 s. Swarm's
 * own update monitor is timed alongside (when it marks the update `paused`).
 */
import {mkdir} from 'node:fs/promises'
import {join} from 'node:path'
import {clinicalArgv, freePort, rootFlags, runCommand, sleep} from '../demo/support.js'
import {type BenchContext, type MeasureResult, seconds, signedSeconds} from './measure.js'
import {SEED_MAX_ATTEMPTS, SEED_POLL_INTERVAL_MS, seedWaitForServices} from './seed-wait.js'
import {benchStackName, firstFailedAtMs, IMAGE, median, stackDeploy, stackListing, WEB_WORKER_COMPOSE, waitForImage, webScript, writeCompose} from './stacks.js'

const TARGET_S = 5
const SEED_GIVE_UP_MS = SEED_MAX_ATTEMPTS * SEED_POLL_INTERVAL_MS
/** How long the benchmark watches the seed's loop and Swarm's monitor after the broken deploy. */
const OBSERVE_MS = 60_000

interface ClinicalTrial {
  reportedS: number
  crossCheckS?: number
  totalS: number
}

export async function measureFailureDetection(ctx: BenchContext, options: {trials: number}): Promise<MeasureResult> {
  const stack = ctx.track(benchStackName('detect'))
  const port = await freePort()
  const composeFile = await writeCompose(ctx.workDir, `${stack}.yml`, WEB_WORKER_COMPOSE)
  const configDir = join(ctx.workDir, 'config')
  await mkdir(configDir, {recursive: true})
  const good = {APP_VERSION: 'v1', WEB_SCRIPT: webScript('good', port)}
  const broken = {APP_VERSION: 'v3', WEB_SCRIPT: webScript('crash', port)}

  ctx.log(`1. failure detection: stack ${stack} (web on 127.0.0.1:${port} + worker), good release v1`)
  await stackDeploy(composeFile, stack, good)
  await waitForImage(ctx.docker, stack, IMAGE('v1'), 2)

  const clinical: ClinicalTrial[] = []
  for (let trial = 1; trial <= options.trials; trial++) {
    const sinceMs = Date.now()
    const argv = clinicalArgv([
      'deploy', '--stack', stack, '--compose-file', composeFile,
      '--backup-dir', join(ctx.workDir, 'backups'), '--config-dir', configDir,
      '--require-env', 'APP_VERSION', '--min-free-disk', '1MB',
      '--health-url', `http://127.0.0.1:${port}/healthy`, '--app-probe', 'off',
      '--resolve-image', 'never', '--timeout', '90s', '--json', ...rootFlags(),
    ])
    let result = await runCommand(argv, {env: {...broken, CI: 'true'}, timeoutMs: 240_000})
    let json = parseResult(result.stdout)
    if (!json) {
      // no JSON result at all: clinical did not run (e.g. dist/ being rebuilt by someone else right then): once more
      ctx.log(`   clinical trial ${trial}: no JSON result (exit ${result.exitCode}: ${tail(result.stderr)}); running it once more`)
      await waitForImage(ctx.docker, stack, IMAGE('v1'), 2)
      result = await runCommand(argv, {env: {...broken, CI: 'true'}, timeoutMs: 240_000})
      json = parseResult(result.stdout)
    }
    if (result.exitCode !== 1 || !json) {
      throw new Error(`clinical deploy of the crashing release exited ${result.exitCode}, expected 1 with a JSON result: ${tail(result.stderr)}`)
    }
    if (json.outcome !== 'rolled-back') throw new Error(`clinical deploy --json: outcome ${json.outcome}, expected rolled-back`)
    if (typeof json.detectionToRollbackSeconds !== 'number') throw new Error('clinical deploy --json has no detectionToRollbackSeconds')
    const rollbackStartMs = json.phases.find((phase) => phase.id === 'rollback')?.startedAtMs
    const firstFailedMs = firstFailedAtMs((await stackListing(ctx.docker, stack)).tasks, IMAGE('v3'), sinceMs)
    const crossCheckS = rollbackStartMs !== undefined && firstFailedMs !== undefined ? (rollbackStartMs - firstFailedMs) / 1000 : undefined
    clinical.push({reportedS: json.detectionToRollbackSeconds, crossCheckS, totalS: result.durationMs / 1000})
    ctx.log(
      `   clinical trial ${trial}: ${json.detectionToRollbackSeconds.toFixed(1)} s first failed task → rollback started` +
        `${crossCheckS !== undefined ? ` (cross-check from the swarm: ${crossCheckS.toFixed(2)} s)` : ''}; whole deploy ${(result.durationMs / 1000).toFixed(1)} s, exit 1`,
    )
    // clinical rolled back and converged: the stack runs v1 again
    await waitForImage(ctx.docker, stack, IMAGE('v1'), 2)
  }

  // The seed's way: the same broken release, then its wait loop; Swarm's monitor timed alongside.
  ctx.log(`   seed: docker stack deploy of the crashing release, then its 10 s replica poll (watched ${OBSERVE_MS / 1000} s)`)
  const sinceMs = Date.now()
  await stackDeploy(composeFile, stack, broken)
  const deployedAtMs = Date.now()
  const [{seed, health}, pausedAtMs] = await Promise.all([
    (async () => {
      const seed = await seedWaitForServices(stack, {observeUntilMs: deployedAtMs + OBSERVE_MS})
      // the seed's next step after "ready": `curl -f -s -m 30 <health URL>` (here on 127.0.0.1)
      return {seed, health: seed.outcome === 'ready' ? await seedHealthCheck(port) : undefined}
    })(),
    swarmMonitorVerdictAt(ctx, stack, sinceMs, deployedAtMs + OBSERVE_MS),
  ])
  // the first failure may come after the seed's verdict: wait for it (bounded) to place the verdict in time
  let firstFailedMs: number | undefined
  for (let i = 0; i < 40 && firstFailedMs === undefined; i++) {
    firstFailedMs = firstFailedAtMs((await stackListing(ctx.docker, stack)).tasks, IMAGE('v3'), sinceMs)
    if (firstFailedMs === undefined) await sleep(250)
  }
  // what the broken release left once Swarm paused its update: is anything serving?
  const after = await stackListing(ctx.docker, stack)
  const webService = after.services.find((service) => service.Spec.Name === `${stack}_web`)
  const webRunning = after.tasks.filter((task) => task.ServiceID === webService?.ID && task.Status.State === 'running').length
  const afterHealth = await seedHealthCheck(port)
  await ctx.remove(stack)

  const reported = clinical.map((trial) => trial.reportedS)
  const clinicalS = median(reported)
  const firstPoll = seed.polls[0]
  const seedLine =
    seed.outcome === 'ready'
      ? `declared the broken release ready ${signedSeconds(seed.readyAtMs! - deployedAtMs)} after docker stack deploy` +
        (firstFailedMs !== undefined ? ` (${signedSeconds(seed.readyAtMs! - firstFailedMs)} from its first failed task)` : '') +
        ': a false ready' +
        (health ? `; its health check right after ${health.ok ? `passed (HTTP ${health.detail}, the old task still answering), so it would report success` : `failed (${health.detail}), so it would exit 1, without rolling back`}` : '')
      : `not ready after ${OBSERVE_MS / 1000} s of polling; its loop would give up at +${SEED_GIVE_UP_MS / 1000} s and exit 1 without rolling back`
  const swarmLine =
    pausedAtMs !== undefined && firstFailedMs !== undefined
      ? `Swarm's own monitor paused the update ${seconds(pausedAtMs - firstFailedMs)} after the first failed task (${seconds(pausedAtMs - deployedAtMs)} after the deploy), ` +
        `but pausing is not rolling back: web was left with ${webRunning} running task(s) and its health URL ${afterHealth.ok ? `answering HTTP ${afterHealth.detail}` : `down (${afterHealth.detail})`}`
      : `Swarm's monitor did not pause the update within ${OBSERVE_MS / 1000} s`
  const speedup = SEED_GIVE_UP_MS / 1000 / Math.max(clinicalS, 0.05)
  const verdict = clinicalS <= TARGET_S ? 'met' : 'missed'
  return {
    id: 1,
    title: 'Failure detection (first failed task → rollback started)',
    clinical: `${clinicalS.toFixed(1)} s`,
    baseline: `seed: never (${seed.outcome === 'ready' ? 'false ready' : 'no verdict'}; loop ends at ${SEED_GIVE_UP_MS / 1000} s)`,
    ratio: `≥ ${speedup.toFixed(0)}× faster`,
    target: `≤ ${TARGET_S} s`,
    verdict,
    summary:
      `Failure detection: clinical started the rollback ${clinicalS.toFixed(1)} s after the first failed task (median of ${reported.length}); ` +
      `the seed ${seedLine}; ${swarmLine}. Ratio ≥ ${speedup.toFixed(0)}× against the seed's ${SEED_GIVE_UP_MS / 1000} s loop (it never rolls back). Target ≤ ${TARGET_S} s: ${verdict}.`,
    details: [
      `Stack: web (busybox httpd on 127.0.0.1, update_config monitor 5 s, stop_grace_period 2 s) + worker. The broken release's web task runs \`exit 3\` at once.`,
      `clinical: \`clinical deploy --json\` of the broken release, ${reported.length} trials; detectionToRollbackSeconds from its result: ${reported.map((s) => s.toFixed(1)).join(', ')} s ` +
        `(cross-check, Status.Timestamp of the first failed v3 task → the rollback phase's start: ${clinical.map((t) => (t.crossCheckS === undefined ? '?' : t.crossCheckS.toFixed(2))).join(', ')} s); ` +
        `whole deploy including the rollback, its convergence and probes: ${clinical.map((t) => t.totalS.toFixed(1)).join(', ')} s; every trial exited 1 with v1 running again.`,
      `seed: \`docker stack deploy\` of the same release, then the seed's loop (poll \`docker service ls --filter label=com.docker.stack.namespace=S --format '{{.Name}} {{.Replicas}}'\`, ` +
        `ready when current == desired ≠ 0 for every service, sleep 10 s, 60 attempts). First poll ${firstPoll ? `${signedSeconds(firstPoll.atMs - deployedAtMs)} after the deploy: ${firstPoll.lines.join(', ')}` : 'none'}; ` +
        `${seedLine}. The seed has no rollback: its \`rollback()\` exits before doing anything (DESIGN.md §1), so the baseline for the ratio is the ${SEED_GIVE_UP_MS / 1000} s its loop needs to give up.`,
      `${swarmLine}. Swarm's failure action is \`pause\` by default; stop-first (the default order) had already stopped the old task.`,
    ],
  }
}

interface DeployJson {
  outcome?: string
  detectionToRollbackSeconds?: number
  phases: Array<{id: string; startedAtMs?: number}>
}

function parseResult(stdout: string): DeployJson | undefined {
  try {
    const json = JSON.parse(stdout) as DeployJson
    return Array.isArray(json.phases) ? json : undefined
  } catch {
    return undefined
  }
}

function tail(text: string): string {
  return text.trim().split('\n').slice(-3).join(' | ') || '(nothing on stderr)'
}

/** `curl -f -s -m 30 URL` as the seed's run_health_checks does it: ok for a status below 400. */
async function seedHealthCheck(port: number): Promise<{ok: boolean; detail: string}> {
  try {
    const response = await fetch(`http://127.0.0.1:${port}/healthy`, {signal: AbortSignal.timeout(30_000)})
    await response.body?.cancel()
    return {ok: response.status < 400, detail: String(response.status)}
  } catch (error) {
    const cause = (error as {cause?: {code?: string}}).cause?.code
    return {ok: false, detail: cause === 'ECONNREFUSED' ? 'connection refused' : (error as Error).message}
  }
}

/** When Swarm's update monitor gives its verdict on the stack's web service (paused or rolling back), observed every 250 ms. */
async function swarmMonitorVerdictAt(ctx: BenchContext, stack: string, sinceMs: number, untilMs: number): Promise<number | undefined> {
  while (Date.now() < untilMs) {
    const service = await ctx.docker.inspectService(`${stack}_web`)
    const state = service.UpdateStatus?.State
    const ofThisUpdate = Date.parse(service.UpdateStatus?.StartedAt ?? '') >= sinceMs - 1000
    if (ofThisUpdate && (state === 'paused' || state === 'rollback_started' || state === 'rollback_paused' || state === 'rollback_completed')) return Date.now()
    await sleep(250)
  }
  return undefined
}
