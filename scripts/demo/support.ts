/**
 * What `npm run demo` and `npm run bench` share: the local swarm, the build, child processes with bounded time,
 * free 127.0.0.1 ports, and removing everything a stack left behind (services, configs, volumes, its lock).
 */
import {spawn} from 'node:child_process'
import {existsSync, readdirSync, statSync} from 'node:fs'
import {createServer} from 'node:net'
import {join, resolve} from 'node:path'
import type {DockerClient} from '../../src/docker/client.js'
import {stackFilter} from '../../src/docker/stack.js'
import {type LockHolder, removeStackLock} from '../../src/deploy/lock.js'

export const REPO_ROOT = resolve(import.meta.dirname, '..', '..')
/** The built CLI, run as a user runs it. */
export const CLINICAL_BIN = join(REPO_ROOT, 'bin', 'run.js')

/** A word as a POSIX shell would need it written (for printing commands only: nothing here runs a shell). */
export function shellQuote(word: string): string {
  return /^[\w@%+=:,./-]+$/.test(word) ? word : `'${word.replaceAll("'", `'\\''`)}'`
}

/** `VAR=value ... cmd arg ...`, paths under the repository shown relative to it. */
export function formatCommand(argv: readonly string[], env: Record<string, string> = {}): string {
  const relative = (word: string): string => (word.startsWith(`${REPO_ROOT}/`) ? `./${word.slice(REPO_ROOT.length + 1)}` : word)
  const assignments = Object.entries(env).map(([name, value]) => `${name}=${shellQuote(value)}`)
  const words = argv.map((word, index) => (index === 0 && word === process.execPath ? 'node' : shellQuote(relative(word))))
  return [...assignments, ...words].join(' ')
}

export interface RunOptions {
  cwd?: string
  /** Added to this process's environment. */
  env?: Record<string, string>
  /** Killed (SIGTERM, SIGKILL 5 s later) after this long. */
  timeoutMs: number
  /** Show the output live (inherit the terminal) instead of capturing it. */
  live?: boolean
}

export interface RunResult {
  /** The exit code; null when killed by a signal. */
  exitCode: number | null
  signal: NodeJS.Signals | null
  timedOut: boolean
  stdout: string
  stderr: string
  durationMs: number
}

/** Process groups of captured commands still running (see `killRunningCommands`). */
const runningGroups = new Set<number>()

/**
 * Run a program (argv, no shell) with a bound on its time; never throws for a non-zero exit. A captured command
 * runs in its own process group, so a timeout ends it with everything it started (a grandchild holding the
 * output pipes would otherwise outlive it); a live one stays in the terminal's group so that Ctrl-C reaches it.
 */
export function runCommand(argv: readonly string[], options: RunOptions): Promise<RunResult> {
  const [file, ...args] = argv
  if (!file) throw new Error('runCommand: empty argv')
  const startedAt = process.hrtime.bigint()
  const group = !options.live
  return new Promise((resolvePromise, reject) => {
    const child = spawn(file, args, {
      cwd: options.cwd ?? REPO_ROOT,
      env: {...process.env, ...options.env},
      stdio: options.live ? ['ignore', 'inherit', 'inherit'] : ['ignore', 'pipe', 'pipe'],
      detached: group,
    })
    const pid = child.pid
    if (group && pid !== undefined) runningGroups.add(pid)
    const signal = (name: NodeJS.Signals): void => {
      try {
        if (group && pid !== undefined) process.kill(-pid, name)
        else child.kill(name)
      } catch {
        // already gone
      }
    }
    let stdout = ''
    let stderr = ''
    child.stdout?.setEncoding('utf8').on('data', (chunk: string) => (stdout += chunk))
    child.stderr?.setEncoding('utf8').on('data', (chunk: string) => (stderr += chunk))
    let timedOut = false
    let killTimer: NodeJS.Timeout | undefined
    const timer = setTimeout(() => {
      timedOut = true
      signal('SIGTERM')
      killTimer = setTimeout(() => signal('SIGKILL'), 5000)
    }, options.timeoutMs)
    let settled = false
    const finish = (code: number | null, exitSignal: NodeJS.Signals | null): void => {
      if (settled) return
      settled = true
      clearTimeout(timer)
      clearTimeout(killTimer)
      if (pid !== undefined) runningGroups.delete(pid)
      const durationMs = Number(process.hrtime.bigint() - startedAt) / 1e6
      resolvePromise({exitCode: code, signal: exitSignal, timedOut, stdout, stderr, durationMs})
    }
    child.once('error', (error) => {
      settled = true
      clearTimeout(timer)
      clearTimeout(killTimer)
      reject(new Error(`could not start ${file}: ${error.message}`))
    })
    // 'close' waits for the output pipes; after a timeout, 'exit' is enough (something may still hold them)
    child.once('close', finish)
    child.once('exit', (code, exitSignal) => {
      if (timedOut) finish(code, exitSignal)
    })
  })
}

/** End every captured command still running, with what it started (their process groups): for an interrupted run. */
export function killRunningCommands(): void {
  for (const pid of runningGroups) {
    try {
      process.kill(-pid, 'SIGTERM')
    } catch {
      // already gone
    }
  }
  runningGroups.clear()
}

/** The built CLI's argv for `clinical <args>`. */
export function clinicalArgv(args: readonly string[]): string[] {
  return [process.execPath, CLINICAL_BIN, ...args]
}

/** `--allow-root` when this process runs as root (clinical refuses root otherwise, as the seed script did). */
export function rootFlags(): string[] {
  return process.getuid?.() === 0 ? ['--allow-root'] : []
}

/** A TCP port on 127.0.0.1 that is free right now. */
export function freePort(): Promise<number> {
  return new Promise((resolvePromise, reject) => {
    const server = createServer()
    server.once('error', reject)
    server.listen(0, '127.0.0.1', () => {
      const address = server.address()
      server.close(() => (typeof address === 'object' && address ? resolvePromise(address.port) : reject(new Error('no free port on 127.0.0.1'))))
    })
  })
}

/** Is dist/ missing, or older than a source file, package.json or tsconfig.json? Returns why, or undefined when fresh. */
export function buildStaleReason(): string | undefined {
  const manifest = join(REPO_ROOT, 'oclif.manifest.json')
  if (!existsSync(join(REPO_ROOT, 'dist', 'commands')) || !existsSync(manifest)) return 'dist/ is missing'
  const builtAtMs = statSync(manifest).mtimeMs
  const newer = [join(REPO_ROOT, 'package.json'), join(REPO_ROOT, 'tsconfig.json'), ...filesUnder(join(REPO_ROOT, 'src'))].find(
    (file) => statSync(file).mtimeMs > builtAtMs,
  )
  return newer ? `${newer.slice(REPO_ROOT.length + 1)} is newer than the build` : undefined
}

function filesUnder(dir: string): string[] {
  return readdirSync(dir, {withFileTypes: true}).flatMap((entry) => {
    const path = join(dir, entry.name)
    return entry.isDirectory() ? filesUnder(path) : [path]
  })
}

export interface RemovedResources {
  services: string[]
  configs: string[]
  volumes: string[]
  /** Volumes still in use when the deadline passed. */
  volumesLeft: string[]
  lock?: LockHolder
}

/**
 * Remove every service, config and volume labelled with the stack, and its deploy lock. Volumes stay in use until
 * the containers of the removed services are gone: retried until `timeoutMs`.
 */
export async function removeStackResources(docker: DockerClient, stack: string, options: {timeoutMs: number}): Promise<RemovedResources> {
  const deadlineMs = Date.now() + options.timeoutMs
  const filters = stackFilter(stack)
  const removed: RemovedResources = {services: [], configs: [], volumes: [], volumesLeft: []}
  for (const service of await docker.listServices({filters})) {
    await docker.removeService(service.ID).then(
      () => removed.services.push(service.Spec.Name),
      () => undefined,
    )
  }
  for (const config of await docker.listConfigs({filters})) {
    await docker.removeConfig(config.ID).then(
      () => removed.configs.push(config.Spec.Name),
      () => undefined,
    )
  }
  removed.lock = await removeStackLock(docker, stack).catch(() => undefined)
  for (const volume of await docker.listVolumes({filters})) {
    let gone = false
    while (!gone && Date.now() < deadlineMs) {
      gone = await docker.removeVolume(volume.Name, {force: true}).then(
        () => true,
        () => false,
      )
      if (!gone) await sleep(500)
    }
    ;(gone ? removed.volumes : removed.volumesLeft).push(volume.Name)
  }
  return removed
}

export function sleep(ms: number): Promise<void> {
  return new Promise((resolvePromise) => setTimeout(resolvePromise, ms))
}
