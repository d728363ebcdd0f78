/**
 * Measure 5: volume backup throughput vs `tar -c | gzip -1`. The volume-backup work ships its own benchmark,
 * scripts/bench-backup.ts (1 GiB by default); this runs it with a moderate size (--backup-size) and carries its output over.
 */
import {execFile} from 'node:child_process'
import {join} from 'node:path'
import {promisify} from 'node:util'
import {REPO_ROOT, runCommand} from '../demo/support.js'
import type {BenchContext, MeasureResult} from './measure.js'

export const BACKUP_BENCH_SCRIPT = join(REPO_ROOT, 'scripts', 'bench-backup.ts')
const TSX = join(REPO_ROOT, 'node_modules', '.bin', 'tsx')
const MAX_TIMEOUT_MS = 4 * 60_000
const run = promisify(execFile)

/** `deadlineMs`: the end of the benchmark's time budget; the script gets what is left of it (at most 4 min, at least 30 s). */
export async function measureBackupThroughput(ctx: BenchContext, options: {size: string; runs: number; deadlineMs: number}): Promise<MeasureResult> {
  const timeoutMs = Math.max(30_000, Math.min(MAX_TIMEOUT_MS, options.deadlineMs - Date.now()))
  const base = {id: 5, title: 'Volume backup throughput vs tar -c | gzip -1', target: '≥ 80 % of tar | gzip -1'}
  const args = ['--size', options.size, '--runs', String(options.runs)]
  ctx.log(`5. backup throughput: tsx scripts/bench-backup.ts ${args.join(' ')} (bounded: ${Math.round(timeoutMs / 1000)} s)`)
  const result = await runCommand([TSX, BACKUP_BENCH_SCRIPT, ...args], {timeoutMs})
  const output = `${result.stdout}\n${result.stderr}`.trim()
  for (const line of output.split('\n')) ctx.log(`   ${line}`)
  if (result.exitCode !== 0) {
    // stopped before its own clean-up: remove the volumes it named, and helper containers still holding them
    for (const volume of new Set(output.match(/clinical-bench-[0-9a-f]+-(?:small|large)/g) ?? [])) await removeLeftVolume(volume)
    return {
      ...base,
      clinical: 'failed',
      baseline: 'n/a',
      ratio: 'n/a',
      verdict: 'n/a',
      summary: `Backup throughput: scripts/bench-backup.ts ${args.join(' ')} ${result.timedOut ? `did not finish within ${Math.round(timeoutMs / 1000)} s (the rest of the 10-minute budget)` : `exited ${result.exitCode}`}; see its output below.`,
      details: ['```', ...output.split('\n').slice(-30), '```'],
    }
  }
  const figures = parseFigures(output)
  // the script's own ratio (from unrounded rates) when it prints one; else from the two rates
  const ratio = figures.ratio ?? (figures.clinicalMiBs !== undefined && figures.baselineMiBs !== undefined ? figures.clinicalMiBs / figures.baselineMiBs : undefined)
  return {
    ...base,
    clinical: figures.clinicalMiBs === undefined ? 'see below' : `${figures.clinicalMiBs.toFixed(0)} MiB/s`,
    baseline: figures.baselineMiBs === undefined ? 'tar | gzip -1: see below' : `tar | gzip -1: ${figures.baselineMiBs.toFixed(0)} MiB/s`,
    ratio: ratio === undefined ? 'see below' : `${(ratio * 100).toFixed(0)} %`,
    verdict: ratio === undefined ? 'n/a' : ratio >= 0.8 ? 'met' : 'missed',
    summary:
      `Backup throughput (${options.size}, ${options.runs} run(s)): clinical ${figures.clinicalMiBs?.toFixed(1) ?? '?'} MiB/s vs \`tar -c | gzip -1\` ${figures.baselineMiBs?.toFixed(1) ?? '?'} MiB/s` +
      ` (${ratio === undefined ? '?' : `${(ratio * 100).toFixed(0)} %`}). Target ≥ 80 %: ${ratio === undefined ? 'n/a' : ratio >= 0.8 ? 'met' : 'missed'}.`,
    details: [`\`tsx scripts/bench-backup.ts ${args.join(' ')}\` (the volume-backup benchmark, written with the volume backups), its output:`, '```', ...output.split('\n').slice(-30), '```'],
  }
}

async function removeLeftVolume(volume: string): Promise<void> {
  try {
    const {stdout} = await run('docker', ['ps', '-a', '-q', '--filter', `volume=${volume}`], {timeout: 30_000})
    const containers = stdout.split('\n').filter(Boolean)
    if (containers.length > 0) await run('docker', ['rm', '-f', ...containers], {timeout: 30_000})
    await run('docker', ['volume', 'rm', '-f', volume], {timeout: 30_000})
  } catch {
    // best effort: gone already, or reported by docker volume ls
  }
}

/**
 * The figures of scripts/bench-backup.ts's last lines:
 *   tar -c | gzip -1 (+ fsync): 46.1 MiB/s (…)
 *   clinical volume backup (gzip level 1): 6.2 MiB/s (…)
 *   ratio clinical / tar|gzip -1: 13 % (…)
 */
export function parseFigures(output: string): {clinicalMiBs?: number; baselineMiBs?: number; ratio?: number} {
  const figure = (pattern: RegExp): number | undefined => {
    const match = pattern.exec(output)
    return match ? Number(match[1]) : undefined
  }
  const percent = figure(/^ratio clinical[^:]*:\s*([\d.]+)\s*%/m)
  return {
    baselineMiBs: figure(/^tar -c \| gzip -1[^:]*:\s*([\d.]+)\s*MiB\/s/m),
    clinicalMiBs: figure(/^clinical volume backup[^:]*:\s*([\d.]+)\s*MiB\/s/m),
    ratio: percent === undefined ? undefined : percent / 100,
  }
}
