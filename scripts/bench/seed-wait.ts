/**
 * The seed's `wait_for_services` (deploy-production.sh, seeds/000_135a68592de19f8f.txt), implemented faithfully for
 * the benchmark's baseline:
 *
 *   while attempt < 60:
 *     for each line of `docker service ls --filter label=com.docker.stack.namespace=$STACK --format "{{.Name}} {{.Replicas}}"`:
 *       total += 1; if replicas has "/": current=cut -f1, desired=cut -f2; ready += (current == desired && current != "0")
 *     if ready == total && total > 0: "All services are ready"; return 0
 *     sleep 10; attempt += 1
 *   error "Services did not become ready within expected time"     (exit 1; no rollback, see DESIGN.md §1)
 *
 * The first poll runs at once, then one every 10 s. The benchmark cannot wait 600 s per run: `observeUntilMs` stops
 * watching earlier and says so (outcome 'stopped'); the seed would have gone on polling until its 60th attempt.
 */
import {execFile} from 'node:child_process'
import {promisify} from 'node:util'
import {STACK_NAMESPACE_LABEL} from '../../src/docker/stack.js'

const run = promisify(execFile)

export const SEED_POLL_INTERVAL_MS = 10_000
export const SEED_MAX_ATTEMPTS = 60

export interface SeedPoll {
  /** When `docker service ls` returned (epoch ms): the moment the seed knows what it printed. */
  atMs: number
  ready: number
  total: number
  lines: string[]
}

export interface SeedWaitResult {
  outcome: 'ready' | 'timeout' | 'stopped'
  /** When the seed would log "All N services are ready" (epoch ms). */
  readyAtMs?: number
  polls: SeedPoll[]
}

/** One poll: the seed's parsing of `docker service ls`, word for word. */
export function judgeServiceLs(stdout: string): {ready: number; total: number; lines: string[]} {
  const lines = stdout.split('\n').filter((line) => line.length > 0)
  let ready = 0
  for (const line of lines) {
    // `read -r service replicas`: the first word, then the rest of the line
    const space = line.indexOf(' ')
    const replicas = space === -1 ? '' : line.slice(space + 1).trim()
    if (replicas.includes('/')) {
      const [current = '', desired = ''] = replicas.split('/')
      if (current === desired && current !== '0') ready += 1
    }
  }
  return {ready, total: lines.length, lines}
}

export async function seedWaitForServices(
  stack: string,
  options: {observeUntilMs: number; intervalMs?: number; maxAttempts?: number; signal?: AbortSignal},
): Promise<SeedWaitResult> {
  const intervalMs = options.intervalMs ?? SEED_POLL_INTERVAL_MS
  const maxAttempts = options.maxAttempts ?? SEED_MAX_ATTEMPTS
  const polls: SeedPoll[] = []
  for (let attempt = 0; attempt < maxAttempts; attempt++) {
    if (options.signal?.aborted) return {outcome: 'stopped', polls}
    const {stdout} = await run(
      'docker',
      ['service', 'ls', '--filter', `label=${STACK_NAMESPACE_LABEL}=${stack}`, '--format', '{{.Name}} {{.Replicas}}'],
      {timeout: 30_000},
    )
    const poll = {atMs: Date.now(), ...judgeServiceLs(stdout)}
    polls.push(poll)
    if (poll.ready === poll.total && poll.total > 0) return {outcome: 'ready', readyAtMs: poll.atMs, polls}
    if (Date.now() + intervalMs > options.observeUntilMs) return {outcome: 'stopped', polls}
    await new Promise((resolve) => setTimeout(resolve, intervalMs))
  }
  return {outcome: 'timeout', polls}
}
