import {execa} from 'execa'
import {parse as parseYaml} from 'yaml'
import {ClinicalError, RefusedError} from '../errors.js'
import {ExitCode} from '../exit-codes.js'
import type {Redactor} from '../secrets/redact.js'

/**
 * `docker stack deploy` and `docker stack config` are client-side (compose file → service specs), so they run the
 * docker CLI: argv arrays built here as pure data (unit-tested as exact arrays), run with execa, no shell.
 * Secrets reach the CLI only through its environment, for `${VAR}` interpolation.
 */
export function stackDeployArgv(options: {composeFile: string; stack: string; resolveImage: 'always' | 'changed' | 'never'}): string[] {
  return [
    'stack',
    'deploy',
    '--compose-file',
    options.composeFile,
    '--with-registry-auth',
    '--resolve-image',
    options.resolveImage,
    options.stack,
  ]
}

export function stackConfigArgv(composeFile: string): string[] {
  return ['stack', 'config', '--compose-file', composeFile]
}

export interface ComposeSummary {
  services: Array<{name: string; image?: string}>
  volumes: string[]
}

export interface DockerCliRun {
  env: Record<string, string>
  redactor: Redactor
  signal?: AbortSignal
  timeoutMs?: number
  /** Each line of output, already redacted, as it comes. */
  onLine?: (line: string) => void
}

const DOCKER_CLI = process.env.CLINICAL_DOCKER_CLI || 'docker'

/** Render the compose file with the run's environment (`docker stack config`): proves it parses and interpolates. */
export async function renderComposeFile(composeFile: string, run: DockerCliRun): Promise<ComposeSummary> {
  const result = await execa(DOCKER_CLI, stackConfigArgv(composeFile), {
    env: run.env,
    extendEnv: false,
    reject: false,
    stdin: 'ignore',
    timeout: run.timeoutMs ?? 60_000,
    cancelSignal: run.signal,
  })
  if (result.failed) {
    const reason = run.redactor.redact(firstLine(String(result.stderr ?? '')) || (result.shortMessage ?? 'docker stack config failed'))
    throw new RefusedError(`the compose file ${composeFile} does not render (docker stack config): ${reason}`)
  }
  return summariseCompose(String(result.stdout ?? ''))
}

/** Service names, images and named volumes of a rendered compose file (pure). */
export function summariseCompose(yaml: string): ComposeSummary {
  const document = (parseYaml(yaml) ?? {}) as {services?: Record<string, {image?: string}>; volumes?: Record<string, unknown>}
  return {
    services: Object.entries(document.services ?? {}).map(([name, service]) => ({name, image: service?.image})),
    volumes: Object.keys(document.volumes ?? {}),
  }
}

/** Run `docker stack deploy`; its output goes line by line (redacted) to `onLine`. Failure → ClinicalError. */
export async function runStackDeploy(
  options: {composeFile: string; stack: string; resolveImage: 'always' | 'changed' | 'never'},
  run: DockerCliRun,
): Promise<void> {
  const subprocess = execa(DOCKER_CLI, stackDeployArgv(options), {
    env: run.env,
    extendEnv: false,
    reject: false,
    stdin: 'ignore',
    all: true,
    timeout: run.timeoutMs ?? 300_000,
    cancelSignal: run.signal,
    lines: false,
  })
  let pending = ''
  // decoded as a stream: a character split across two chunks is joined before any line is redacted
  subprocess.all?.setEncoding('utf8')
  subprocess.all?.on('data', (chunk: string) => {
    pending += chunk
    let newline: number
    while ((newline = pending.indexOf('\n')) >= 0) {
      const line = pending.slice(0, newline).trimEnd()
      pending = pending.slice(newline + 1)
      if (line) run.onLine?.(run.redactor.redact(line))
    }
  })
  const result = await subprocess
  if (pending.trim()) run.onLine?.(run.redactor.redact(pending.trim()))
  if (result.failed) {
    const detail = result.isCanceled ? 'cancelled' : firstLine(String(result.all ?? '').split('\n').reverse().find(Boolean) ?? '') || (result.shortMessage ?? 'failed')
    throw new ClinicalError(`docker stack deploy of ${options.stack} failed: ${run.redactor.redact(detail)}`, ExitCode.NeedsPerson)
  }
}

function firstLine(text: string): string {
  return text.trim().split('\n')[0]?.trim() ?? ''
}
