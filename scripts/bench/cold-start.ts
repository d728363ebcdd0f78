/**
 * Measure 3: cold start of the built CLI, each run a new process timed with process.hrtime: `clinical --version`,
 * and `clinical status` on a stack of 20 `sleep` services. Baselines side by side: the docker CLI doing the same
 * job (`docker --version`; `docker service ls` of the stack, what the seed and an on-call engineer use), and bare
 * `node -e 0` (the floor of any Node CLI).
 */
import {clinicalArgv, runCommand} from '../demo/support.js'
import {STACK_NAMESPACE_LABEL} from '../../src/docker/stack.js'
import {type BenchContext, type MeasureResult, millis} from './measure.js'
import {benchStackName, IMAGE, median, sleepServicesCompose, stackDeploy, waitForImage, writeCompose} from './stacks.js'

const SERVICES = 20
const VERSION_TARGET_MS = 300
const STATUS_TARGET_MS = 1000

interface Timing {
  label: string
  runsMs: number[]
  medianMs: number
}

/**
 * Time each command `runs` times, round-robin (one run of each per round), so that a burst of other work on a
 * shared machine hits every command alike. Round 0 warms the file cache and is not counted.
 */
async function timeInterleaved(commands: Array<{label: string; argv: string[]}>, runs: number): Promise<Timing[]> {
  const runsMs = commands.map(() => [] as number[])
  for (let round = 0; round <= runs; round++) {
    for (const [index, command] of commands.entries()) {
      const result = await runCommand(command.argv, {timeoutMs: 30_000})
      if (result.exitCode !== 0) throw new Error(`${command.label} exited ${result.exitCode}: ${result.stderr.trim().split('\n').slice(-2).join(' | ')}`)
      if (round > 0) runsMs[index]!.push(result.durationMs)
    }
  }
  return commands.map((command, index) => ({label: command.label, runsMs: runsMs[index]!, medianMs: median(runsMs[index]!)}))
}

export async function measureColdStart(ctx: BenchContext, options: {runs: number}): Promise<MeasureResult[]> {
  const stack = ctx.track(benchStackName('cold'))
  const composeFile = await writeCompose(ctx.workDir, `${stack}.yml`, sleepServicesCompose(SERVICES))
  ctx.log(`3. cold start: stack ${stack} with ${SERVICES} sleep services`)
  await stackDeploy(composeFile, stack, {TAG: 'v1'})
  await waitForImage(ctx.docker, stack, IMAGE('v1'), SERVICES, 180_000)

  const [version, dockerVersion, status, serviceLs, node] = (await timeInterleaved(
    [
      {label: 'clinical --version', argv: clinicalArgv(['--version'])},
      {label: 'docker --version', argv: ['docker', '--version']},
      {label: `clinical status (${SERVICES} services)`, argv: clinicalArgv(['status', '--stack', stack])},
      {label: `docker service ls (${SERVICES} services)`, argv: ['docker', 'service', 'ls', '--filter', `label=${STACK_NAMESPACE_LABEL}=${stack}`]},
      {label: 'node -e 0', argv: [process.execPath, '-e', '0']},
    ],
    options.runs,
  )) as [Timing, Timing, Timing, Timing, Timing]
  await ctx.remove(stack)
  for (const timing of [version, dockerVersion, status, serviceLs, node]) {
    ctx.log(`   ${timing.label}: median ${millis(timing.medianMs)} (${timing.runsMs.map((ms) => Math.round(ms)).join(', ')} ms)`)
  }

  const raw = (timing: Timing): string => `${timing.label}: ${timing.runsMs.map((ms) => Math.round(ms)).join(', ')} ms (median ${millis(timing.medianMs)})`
  const method =
    `Each figure is the median of ${options.runs} runs of a new process, timed with process.hrtime from spawn to exit; the five commands run round-robin ` +
    `(one run of each per round, so a burst of other work hits all alike) after one uncounted round that warms the file cache. The built CLI (bin/run.js, dist/, oclif manifest).`
  const versionVerdict = version.medianMs <= VERSION_TARGET_MS ? 'met' : 'missed'
  const statusVerdict = status.medianMs <= STATUS_TARGET_MS ? 'met' : 'missed'
  return [
    {
      id: 3,
      title: 'Cold start: clinical --version',
      clinical: millis(version.medianMs),
      baseline: `docker --version: ${millis(dockerVersion.medianMs)}`,
      ratio: `${(version.medianMs / dockerVersion.medianMs).toFixed(1)}× slower`,
      target: `≤ ${VERSION_TARGET_MS} ms`,
      verdict: versionVerdict,
      summary:
        `Cold start: \`clinical --version\` ${millis(version.medianMs)} (median of ${options.runs}) vs \`docker --version\` ${millis(dockerVersion.medianMs)} ` +
        `(${(version.medianMs / dockerVersion.medianMs).toFixed(1)}× slower: the Go binary does not start a JavaScript runtime; bare \`node -e 0\` takes ${millis(node.medianMs)}). Target ≤ ${VERSION_TARGET_MS} ms: ${versionVerdict}.`,
      details: [method, raw(version), raw(dockerVersion), raw(node)],
    },
    {
      id: 3,
      title: `Cold start: clinical status (${SERVICES} services)`,
      clinical: millis(status.medianMs),
      baseline: `docker service ls: ${millis(serviceLs.medianMs)}`,
      ratio: `${(status.medianMs / serviceLs.medianMs).toFixed(1)}× slower`,
      target: `≤ ${STATUS_TARGET_MS} ms`,
      verdict: statusVerdict,
      summary:
        `Cold start: \`clinical status\` on ${SERVICES} services ${millis(status.medianMs)} (median of ${options.runs}) vs \`docker service ls\` of the same stack ` +
        `${millis(serviceLs.medianMs)} (${(status.medianMs / serviceLs.medianMs).toFixed(1)}× slower; clinical also reads every task for the last error). Target ≤ ${STATUS_TARGET_MS} ms: ${statusVerdict}.`,
      details: [`\`clinical status\` on a stack of ${SERVICES} replicated \`sleep\` services on the host network, all running, measured the same way.`, raw(status), raw(serviceLs)],
    },
  ]
}
