/**
 * `npm run bench`: clinical against the seed's approach on the local swarm, each measure side by side in one run
 * (DESIGN.md §6 targets). Prints a table and one summary line per measure, and rewrites BENCHMARKS.md with the
 * machine's description and the date. Removes every stack it creates. A few minutes; bounded by a watchdog.
 *
 *   npm run bench                              everything; writes BENCHMARKS.md
 *   npm run bench -- --only 1,3 --no-write     some measures, without touching BENCHMARKS.md
 *   options: --trials N (failure detection, default 3), --updates N (ready latency, default 3),
 *            --runs N (cold start, default 11), --backup-size SIZE (default 512MB; npm run bench:backup alone does 1 GiB), --backup-runs N (default 3)
 */
import {mkdtemp, rm, writeFile} from 'node:fs/promises'
import {tmpdir} from 'node:os'
import {join} from 'node:path'
import {parseArgs} from 'node:util'
import {DockerClient} from '../src/docker/client.js'
import {measureBackupThroughput} from './bench/backup-throughput.js'
import {measureColdStart} from './bench/cold-start.js'
import {measureFailureDetection} from './bench/failure-detection.js'
import type {BenchContext, MeasureResult} from './bench/measure.js'
import {measureReadyLatency} from './bench/ready-latency.js'
import {benchmarksMarkdown, consoleTable, describeMachine, formatLoad} from './bench/report.js'
import {measureRollbackParallelism} from './bench/rollback-parallel.js'
import {buildStaleReason, killRunningCommands, REPO_ROOT, removeStackResources, runCommand} from './demo/support.js'

/** `npm run bench` finishes within 10 minutes: the last measure gets what is left of BUDGET_MS; the watchdog is the hard stop. */
const BUDGET_MS = 9.5 * 60_000
const WATCHDOG_MS = 12 * 60_000
const MEASURES = [1, 2, 3, 4, 5] as const
const USAGE = `usage: npm run bench [-- options]
  --only 1,3        run only these measures (1 failure detection, 2 ready latency, 3 cold start,
                    4 rollback of 10 services, 5 backup throughput); BENCHMARKS.md is then not written
  --no-write        do not rewrite BENCHMARKS.md
  --trials N        failure-detection trials of clinical (default 3)
  --updates N       ready-latency update trials (default 3)
  --runs N          cold-start runs per command (default 11)
  --backup-size S   data size for scripts/bench-backup.ts (default 512MB)
  --backup-runs N   its runs per contender, median (default 3)`

function log(line: string): void {
  console.log(`[bench ${new Date().toISOString().slice(11, 19)}] ${line}`)
}

function parseOptions() {
  const {values} = parseArgs({
    options: {
      only: {type: 'string'},
      'no-write': {type: 'boolean', default: false},
      trials: {type: 'string', default: '3'},
      updates: {type: 'string', default: '3'},
      runs: {type: 'string', default: '11'},
      'backup-size': {type: 'string', default: '512MB'},
      'backup-runs': {type: 'string', default: '3'},
      help: {type: 'boolean', short: 'h', default: false},
    },
  })
  const count = (name: string, value: string, min: number): number => {
    const parsed = Number(value)
    if (!Number.isInteger(parsed) || parsed < min) throw new Error(`--${name} must be an integer ≥ ${min}, got ${value}`)
    return parsed
  }
  const only = values.only ? values.only.split(',').map((id) => count('only', id.trim(), 1)) : [...MEASURES]
  const unknown = only.filter((id) => !(MEASURES as readonly number[]).includes(id))
  if (unknown.length > 0) throw new Error(`--only: no measure ${unknown.join(', ')} (measures are 1–5)`)
  return {
    help: values.help,
    only,
    write: !values['no-write'] && !values.only,
    trials: count('trials', values.trials, 1),
    updates: count('updates', values.updates, 1),
    runs: count('runs', values.runs, 3),
    backupSize: values['backup-size'],
    backupRuns: count('backup-runs', values['backup-runs'], 1),
  }
}

async function prepare(): Promise<void> {
  log('$ bash scripts/local-swarm.sh up')
  const swarm = await runCommand(['bash', join(REPO_ROOT, 'scripts', 'local-swarm.sh'), 'up'], {timeoutMs: 20 * 60_000})
  if (swarm.exitCode !== 0) throw new Error(`the local swarm did not start: ${swarm.stderr.trim().split('\n').slice(-3).join(' | ')}`)
  const stale = buildStaleReason()
  if (stale) {
    log(`$ npm run build   (${stale})`)
    const build = await runCommand(['npm', 'run', 'build'], {timeoutMs: 5 * 60_000})
    if (build.exitCode !== 0) throw new Error(`npm run build failed: ${(build.stdout + build.stderr).trim().split('\n').slice(-5).join(' | ')}`)
  }
}

function failedResult(id: number, title: string, error: unknown): MeasureResult {
  const message = error instanceof Error ? error.message : String(error)
  return {
    id,
    title,
    clinical: 'failed',
    baseline: 'n/a',
    ratio: 'n/a',
    target: 'n/a',
    verdict: 'n/a',
    summary: `${title}: the measure failed: ${message}`,
    details: [`The measure failed: ${message}`],
  }
}

async function main(): Promise<number> {
  const options = parseOptions()
  if (options.help) {
    console.log(USAGE)
    return 0
  }
  const startedAt = new Date()
  await prepare()
  const docker = new DockerClient()
  const workDir = await mkdtemp(join(tmpdir(), 'clinical-bench-'))
  const stacks = new Set<string>()
  const cleanup = async (): Promise<void> => {
    for (const stack of stacks) {
      await removeStackResources(docker, stack, {timeoutMs: 30_000}).catch((error: Error) => log(`could not remove stack ${stack}: ${error.message}`))
    }
    stacks.clear()
    await rm(workDir, {recursive: true, force: true})
  }
  const ctx: BenchContext = {
    docker,
    workDir,
    log,
    track: (stack) => {
      stacks.add(stack)
      return stack
    },
    remove: async (stack) => {
      await removeStackResources(docker, stack, {timeoutMs: 30_000})
      stacks.delete(stack)
    },
  }
  let stopping = false
  const stop = (why: string, code: number): void => {
    if (stopping) return
    stopping = true
    log(`${why}: removing the benchmark's stacks, then exiting`)
    killRunningCommands()
    void cleanup().finally(() => process.exit(code))
  }
  process.once('SIGINT', () => stop('interrupted', 130))
  process.once('SIGTERM', () => stop('terminated', 143))
  const watchdog = setTimeout(() => stop(`still running after ${WATCHDOG_MS / 60_000} minutes (the bound)`, 1), WATCHDOG_MS)
  watchdog.unref()

  const results: MeasureResult[] = []
  try {
    const machine = await describeMachine(docker)
    log(`machine: ${machine.cpu}, ${machine.cores} cores, ${machine.ramGiB} GiB, Docker ${machine.docker}, Node ${machine.node}, load ${machine.loadAtStart}`)
    const run = async (id: number, title: string, measure: () => Promise<MeasureResult | MeasureResult[]>): Promise<void> => {
      if (!options.only.includes(id)) return
      try {
        const result = await measure()
        results.push(...(Array.isArray(result) ? result : [result]))
      } catch (error) {
        log(`measure ${id} failed: ${error instanceof Error ? error.message : String(error)}`)
        results.push(failedResult(id, title, error))
      }
    }
    await run(1, 'Failure detection', () => measureFailureDetection(ctx, {trials: options.trials}))
    await run(2, 'Ready latency', () => measureReadyLatency(ctx, {updates: options.updates}))
    await run(3, 'Cold start', () => measureColdStart(ctx, {runs: options.runs}))
    await run(4, 'Rollback of a 10-service stack', () => measureRollbackParallelism(ctx))
    await run(5, 'Backup throughput', () => measureBackupThroughput(ctx, {size: options.backupSize, runs: options.backupRuns, deadlineMs: startedAt.getTime() + BUDGET_MS}))
    await cleanup()

    const durationS = (Date.now() - startedAt.getTime()) / 1000
    console.log(`\n${consoleTable(results)}\n`)
    for (const result of results) console.log(`- ${result.summary}`)
    console.log(`\n(${Math.round(durationS)} s in all)`)
    if (options.write) {
      const markdown = benchmarksMarkdown({machine, date: startedAt, durationS, loadAtEnd: formatLoad(), results, command: 'npm run bench'})
      await writeFile(join(REPO_ROOT, 'BENCHMARKS.md'), markdown)
      log('wrote BENCHMARKS.md')
    } else {
      log('BENCHMARKS.md left as it is (--only or --no-write)')
    }
    return results.some((result) => result.clinical === 'failed') ? 1 : 0
  } finally {
    clearTimeout(watchdog)
    await cleanup()
    await docker.close()
  }
}

try {
  process.exitCode = await main()
} catch (error) {
  console.error(`bench: ${error instanceof Error ? error.message : String(error)}`)
  process.exitCode = 1
}
