/**
 * `npm run demo`: the whole product on a local swarm in a few minutes, each step explained before it runs and
 * each command printed. `npm run demo:clean` (or `npm run demo -- --clean`) removes what it left.
 *
 *   1. start the local single-node swarm (scripts/local-swarm.sh up), build clinical if dist/ is missing or stale
 *   2. deploy release v1 of a miniature platform (web app `stats` + `worker` with a volume) on 127.0.0.1
 *   3. deploy v2: a rolling update, health-gated
 *   4. deploy v3, which is broken: clinical sees the failed task, rolls back to v2 by itself, exits 1
 *   5. clinical status, and clinical history when this build has it
 *
 * Exits non-zero as soon as a step does not behave as expected (for example the broken release not exiting 1).
 */
import {mkdir, rm, writeFile} from 'node:fs/promises'
import {tmpdir} from 'node:os'
import {join} from 'node:path'
import {DockerClient} from '../src/docker/client.js'
import {readStackStatus} from '../src/status/stack-status.js'
import {
  buildStaleReason,
  clinicalArgv,
  formatCommand,
  freePort,
  REPO_ROOT,
  removeStackResources,
  rootFlags,
  runCommand,
  type RunResult,
} from './demo/support.js'

const STACK = 'clinical-demo'
const WORK_DIR = join(tmpdir(), 'clinical-demo')
const COMPOSE_FILE = join(REPO_ROOT, 'scripts', 'demo', 'docker-compose.demo.yml')
const DEPLOY_TIMEOUT_MS = 4 * 60_000
const SWARM_UP_TIMEOUT_MS = 20 * 60_000
const BUILD_TIMEOUT_MS = 5 * 60_000

class DemoFailure extends Error {}

/** Ctrl-C reaches the running command too (same process group): let it finish (clinical rolls back), then stop. */
let interrupted = false
process.on('SIGINT', () => {
  if (!interrupted) console.error('\ndemo: interrupted: waiting for the running command to stop, then stopping')
  interrupted = true
})

const tty = Boolean(process.stdout.isTTY) && process.env.TERM !== 'dumb' && !process.env.NO_COLOR
const bold = (text: string): string => (tty ? `\x1b[1m${text}\x1b[0m` : text)
const green = (text: string): string => (tty ? `\x1b[32m${text}\x1b[0m` : text)
const red = (text: string): string => (tty ? `\x1b[31m${text}\x1b[0m` : text)
const dim = (text: string): string => (tty ? `\x1b[2m${text}\x1b[0m` : text)

let stepNumber = 0
function step(title: string, explanation: string): void {
  stepNumber += 1
  console.log(`\n${bold(`── Step ${stepNumber}: ${title}`)}`)
  for (const line of explanation.split('\n')) console.log(`   ${line}`)
}

function say(line: string): void {
  console.log(`   ${line}`)
}

async function runShown(argv: string[], options: {env?: Record<string, string>; timeoutMs: number; cwd?: string}): Promise<RunResult> {
  console.log(`\n${bold('$')} ${formatCommand(argv, options.env)}`)
  const result = await runCommand(argv, {...options, live: true})
  if (result.timedOut) throw new DemoFailure(`${formatCommand(argv.slice(0, 3))} did not finish within ${options.timeoutMs / 1000}s`)
  if (interrupted || result.signal === 'SIGINT' || result.exitCode === 130) throw new DemoFailure('interrupted')
  return result
}

/** GET a page of the demo app on 127.0.0.1 (the only address the demo talks to). */
async function fetchPage(port: number, path: string): Promise<{status: number; body: string} | {error: string}> {
  try {
    const response = await fetch(`http://127.0.0.1:${port}${path}`, {signal: AbortSignal.timeout(3000), redirect: 'manual'})
    return {status: response.status, body: (await response.text()).trim()}
  } catch (error) {
    return {error: error instanceof Error ? error.message : String(error)}
  }
}

async function showServing(port: number, expectedVersion: string): Promise<void> {
  const url = `http://127.0.0.1:${port}/app/independent-t-test/`
  const page = await fetchPage(port, '/app/independent-t-test/')
  console.log(`\n${bold('$')} curl ${url}`)
  if ('error' in page) throw new DemoFailure(`the app URL ${url} does not answer: ${page.error}`)
  say(`HTTP ${page.status}: ${page.body.replace(/<[^>]+>/g, ' ').replace(/\s+/g, ' ').trim()}`)
  if (page.status !== 200 || !page.body.includes(`stats ${expectedVersion}`)) {
    throw new DemoFailure(`expected the app to serve stats ${expectedVersion}, got HTTP ${page.status}: ${page.body.slice(0, 120)}`)
  }
  say(green(`✓ release ${expectedVersion} is serving`))
}

function deployArgv(port: number): string[] {
  return clinicalArgv([
    'deploy',
    '--stack', STACK,
    '--compose-file', COMPOSE_FILE,
    '--backup-dir', join(WORK_DIR, 'backups'),
    '--config-dir', join(WORK_DIR, 'config'),
    '--require-env', 'APP_VERSION,DEMO_WEB_PORT',
    '--min-free-disk', '100MB',
    '--health-url', `http://127.0.0.1:${port}/actuator/health`,
    '--app-probe-url', `http://127.0.0.1:${port}/app/independent-t-test/`,
    '--app-probe', 'fail',
    '--resolve-image', 'never',
    '--timeout', '2m',
    ...rootFlags(),
  ])
}

async function deployRelease(port: number, version: string, expectedExit: number): Promise<RunResult> {
  const result = await runShown(deployArgv(port), {env: {APP_VERSION: version, DEMO_WEB_PORT: String(port)}, timeoutMs: DEPLOY_TIMEOUT_MS, cwd: WORK_DIR})
  if (result.exitCode !== expectedExit) {
    throw new DemoFailure(`clinical deploy of ${version} exited ${result.exitCode}, expected ${expectedExit} (see its output above)`)
  }
  say((expectedExit === 0 ? green : red)(`→ exit ${result.exitCode} (${(result.durationMs / 1000).toFixed(1)}s)`))
  return result
}

async function clean(docker: DockerClient, quiet = false): Promise<void> {
  const removed = await removeStackResources(docker, STACK, {timeoutMs: 60_000})
  await rm(WORK_DIR, {recursive: true, force: true})
  if (quiet && removed.services.length + removed.volumes.length + removed.configs.length === 0 && !removed.lock) return
  say(`services removed: ${removed.services.join(', ') || 'none'}`)
  say(`volumes removed: ${removed.volumes.join(', ') || 'none'}`)
  if (removed.configs.length > 0) say(`configs removed: ${removed.configs.join(', ')}`)
  if (removed.lock) say(`deploy lock removed (held by ${removed.lock.user}@${removed.lock.host})`)
  say(`temp dir removed: ${WORK_DIR}`)
  if (removed.volumesLeft.length > 0) {
    throw new DemoFailure(`volume(s) ${removed.volumesLeft.join(', ')} still in use after 60 s: run npm run demo:clean again in a minute`)
  }
}

async function demo(docker: DockerClient): Promise<void> {
  const startedAtMs = Date.now()
  console.log(bold('clinical demo: a health-gated rollout and an automatic rollback on a local Docker Swarm'))
  say('Everything runs on this machine and only talks to 127.0.0.1. It takes 2–3 minutes.')

  step(
    'Start a local Docker Swarm',
    'clinical deploys to Docker Swarm. This script starts a single-node swarm on 127.0.0.1 (or reuses the one that\n' +
      'runs), and makes three tiny releases of a test image (v1, v2, v3) with `docker import`: no registry is needed.',
  )
  const swarm = await runShown(['bash', join(REPO_ROOT, 'scripts', 'local-swarm.sh'), 'up'], {timeoutMs: SWARM_UP_TIMEOUT_MS})
  if (swarm.exitCode !== 0) throw new DemoFailure('the local swarm did not start (see the lines above); try: bash scripts/local-swarm.sh status')

  const stale = buildStaleReason()
  step('Build clinical', stale ? `The CLI is compiled to dist/ first (${stale}).` : 'dist/ is up to date with src/: nothing to build.')
  if (stale) {
    const build = await runShown(['npm', 'run', 'build'], {timeoutMs: BUILD_TIMEOUT_MS})
    if (build.exitCode !== 0) throw new DemoFailure('npm run build failed (see the lines above)')
  }

  step(
    'Start from nothing',
    `The demo stack is called ${STACK}. Anything a previous demo left (services, volume, lock, temp files) is\n` +
      `removed first. Backups and the platform's config dir go to ${WORK_DIR}; the web app gets a free port.`,
  )
  await clean(docker, true)
  await mkdir(join(WORK_DIR, 'config'), {recursive: true})
  await writeFile(join(WORK_DIR, 'config', 'application.yml'), 'proxy:\n  title: Clinical statistics (demo)\n  specs:\n    - id: independent-t-test\n')
  const port = await freePort()
  say(`web app port: 127.0.0.1:${port}   config: ${join(WORK_DIR, 'config')}   backups: ${join(WORK_DIR, 'backups')}`)

  step(
    'Deploy release v1',
    'The first deploy. clinical checks everything before changing anything (Docker, env vars, disk, the compose file),\n' +
      'takes the stack lock, backs up what runs now (nothing yet), runs `docker stack deploy`, then waits until\n' +
      'every service runs the NEW spec and stays up for a stability window, probes /actuator/health until it answers 3\n' +
      'times in a row, and checks the app URL. Expected: exit 0.',
  )
  await deployRelease(port, 'v1', 0)
  await showServing(port, 'v1')

  step(
    'Deploy release v2 (a rolling update)',
    'First a backup of what runs now: the v1 service specs, the config dir and the worker\'s volume. Then Swarm replaces\n' +
      'the v1 tasks with v2 tasks. clinical does not trust "1/1 replicas" (that count includes the old task for a while):\n' +
      'it waits for tasks of the new spec, then probes again. Expected: exit 0, v2 serving.',
  )
  await deployRelease(port, 'v2', 0)
  await showServing(port, 'v2')

  step(
    'Deploy release v3, which is broken',
    'The v3 web app exits at once ("cannot read its configuration"). clinical sees the first failed task of the new\n' +
      'spec, names its error, and rolls back by itself: it puts back the v2 specs from the backup it took a moment ago,\n' +
      'waits for them to run and probes them. Expected: exit 1 = "failed and rolled back; the previous release is healthy".',
  )
  await deployRelease(port, 'v3', 1)
  await showServing(port, 'v2')
  const status = await readStackStatus(docker, STACK)
  const stats = status.services.find((service) => service.name === `${STACK}_stats`)
  if (!stats?.image.endsWith(':v2')) throw new DemoFailure(`after the rollback ${STACK}_stats runs ${stats?.image ?? 'nothing'}, expected the v2 image`)
  say(green(`✓ ${STACK}_stats is back on ${stats.image}`) + (stats.lastTaskError ? `; the failed v3 task said: ${stats.lastTaskError.error}` : ''))

  step('clinical status', 'What an on-call engineer runs first: every service with its image, replicas, update state and last task error.')
  const statusRun = await runShown(clinicalArgv(['status', '--stack', STACK]), {timeoutMs: 30_000})
  if (statusRun.exitCode !== 0) throw new DemoFailure(`clinical status exited ${statusRun.exitCode}`)

  step('clinical history', 'The audit trail of this stack: who deployed what, when, and how it ended.')
  const history = await runShown(clinicalArgv(['history', '--stack', STACK, '--backup-dir', join(WORK_DIR, 'backups')]), {timeoutMs: 30_000, cwd: WORK_DIR})
  if (history.exitCode !== 0) throw new DemoFailure(`clinical history exited ${history.exitCode}`)

  const seconds = ((Date.now() - startedAtMs) / 1000).toFixed(0)
  console.log(`\n${bold('Done')} in ${seconds}s: v1 deployed (exit 0), v2 rolled out (exit 0), v3 failed and was rolled back to v2 (exit 1).`)
  say(`The demo stack keeps running: http://127.0.0.1:${port}/app/independent-t-test/`)
  say(`Try: ${formatCommand(clinicalArgv(['status', '--stack', STACK]))}`)
  say(`     ${formatCommand(clinicalArgv(['rollback', '--stack', STACK, '--backup-dir', join(WORK_DIR, 'backups'), ...rootFlags()]))}`)
  say(`Remove it all: npm run demo:clean`)
}

async function main(): Promise<number> {
  const args = process.argv.slice(2)
  if (args.includes('--help') || args.includes('-h')) {
    console.log('usage: npm run demo            deploy v1, v2, a broken v3 (rolled back), then status and history\n       npm run demo:clean      remove the demo stack, its volume, lock and temp files')
    return 0
  }
  const unknown = args.filter((arg) => arg !== '--clean')
  if (unknown.length > 0) {
    console.error(`demo: unknown argument(s) ${unknown.join(' ')}; try --help`)
    return 2
  }
  const docker = new DockerClient()
  try {
    if (args.includes('--clean')) {
      console.log(bold(`Removing the demo stack ${STACK}, its volume, lock and temp files`))
      try {
        await docker.info(AbortSignal.timeout(5000))
      } catch (error) {
        say(`Docker does not answer (${(error as Error).message}): only the temp dir is removed`)
        await rm(WORK_DIR, {recursive: true, force: true})
        return 0
      }
      await clean(docker)
      return 0
    }
    await demo(docker)
    return 0
  } catch (error) {
    const message = error instanceof Error ? error.message : String(error)
    console.error(`\n${red(`demo failed at step ${stepNumber}: ${message}`)}`)
    if (!(error instanceof DemoFailure) && error instanceof Error && error.stack) console.error(dim(error.stack))
    console.error(`The stack is left as it is for a look (${formatCommand(clinicalArgv(['status', '--stack', STACK]))}); remove it with: npm run demo:clean`)
    return 1
  } finally {
    await docker.close()
  }
}

process.exitCode = await main()
