/** The benchmark's console table and BENCHMARKS.md. */
import {existsSync, readFileSync} from 'node:fs'
import {cpus, loadavg, release, totalmem, type as osType} from 'node:os'
import type {DockerClient} from '../../src/docker/client.js'
import type {MeasureResult} from './measure.js'

export interface Machine {
  cpu: string
  cores: number
  ramGiB: number
  kernel: string
  docker: string
  node: string
  loadAtStart: string
}

export async function describeMachine(docker: DockerClient): Promise<Machine> {
  const version = await docker.version()
  return {
    cpu: describeCpu(),
    cores: cpus().length,
    ramGiB: Math.round((totalmem() / 1024 ** 3) * 10) / 10,
    kernel: `${osType()} ${release()}`,
    docker: `Engine ${version.Version} (API ${version.ApiVersion})`,
    node: process.version,
    loadAtStart: formatLoad(),
  }
}

function describeCpu(): string {
  const first = cpus()[0]
  if (!first) return 'unknown'
  const cpuinfo = existsSync('/proc/cpuinfo') ? readFileSync('/proc/cpuinfo', 'utf8') : ''
  const virtual = /^flags\s*:.*\bhypervisor\b/m.test(cpuinfo)
  // os.cpus() may report speed 0 in a VM: /proc/cpuinfo's "cpu MHz" then
  const mhz = first.speed > 0 ? first.speed : Math.round(Number(/^cpu MHz\s*:\s*([\d.]+)/m.exec(cpuinfo)?.[1] ?? 0))
  return `${first.model.trim()}${mhz > 0 ? ` @ ${mhz} MHz` : ''}${virtual ? ' (virtual machine)' : ''}`
}

export function formatLoad(): string {
  return loadavg()
    .map((value) => value.toFixed(2))
    .join(' / ')
}

const COLUMNS = ['#', 'measure', 'clinical', 'baseline', 'ratio', 'target', 'verdict'] as const

function rows(results: readonly MeasureResult[]): string[][] {
  return results.map((result) => [String(result.id), result.title, result.clinical, result.baseline, result.ratio, result.target, result.verdict])
}

/** A plain-text table for the console. */
export function consoleTable(results: readonly MeasureResult[]): string {
  const all = [COLUMNS.map(String), ...rows(results)]
  const widths = COLUMNS.map((_, column) => Math.max(...all.map((row) => [...row[column]!].length)))
  const line = (row: string[]): string => row.map((cell, column) => cell + ' '.repeat(widths[column]! - [...cell].length)).join('  ').trimEnd()
  return [line(all[0]!), widths.map((width) => '─'.repeat(width)).join('  '), ...all.slice(1).map(line)].join('\n')
}

function markdownTable(results: readonly MeasureResult[]): string {
  const escape = (cell: string): string => cell.replaceAll('|', '\\|')
  return [
    `| ${COLUMNS.join(' | ')} |`,
    `|${COLUMNS.map(() => '---').join('|')}|`,
    ...rows(results).map((row) => `| ${row.map(escape).join(' | ')} |`),
  ].join('\n')
}

export function benchmarksMarkdown(input: {
  machine: Machine
  date: Date
  durationS: number
  loadAtEnd: string
  results: readonly MeasureResult[]
  command: string
}): string {
  const {machine, results} = input
  const sections = results.map((result) => {
    const sameId = results.filter((other) => other.id === result.id)
    if (sameId[0] !== result) return ''
    const heading = sameId.length > 1 ? sameId.map((other) => other.title).join('; ') : result.title
    return [`### ${result.id}. ${heading}`, '', ...sameId.flatMap((other) => detailLines(other.details)), ''].join('\n')
  })
  return [
    '# Benchmarks',
    '',
    `Measured by \`${input.command}\` on ${input.date.toISOString().replace('T', ' ').replace(/\.\d+Z$/, ' UTC')} (the run took ${Math.round(input.durationS)} s).`,
    'The script rewrites this file on every run; everything runs on the local single-node swarm (`bash scripts/local-swarm.sh up`), each',
    'measure side by side with its baseline in the same run. The baseline is the seed script `deploy-production.sh`, implemented',
    'faithfully in `scripts/bench/seed-wait.ts`, or the docker CLI doing the same job.',
    '',
    '## Machine',
    '',
    '| | |',
    '|---|---|',
    `| CPU | ${machine.cpu} |`,
    `| cores | ${machine.cores} |`,
    `| RAM | ${machine.ramGiB} GiB |`,
    `| OS | ${machine.kernel} |`,
    `| Docker | ${machine.docker} |`,
    `| Node.js | ${machine.node} |`,
    `| load average (1/5/15 min) | ${machine.loadAtStart} at start, ${input.loadAtEnd} at the end |`,
    '',
    'The machine is shared (other work may run on its cores during a run); the load average above says how busy it was.',
    '',
    '## Results',
    '',
    markdownTable(results),
    '',
    ...results.map((result) => `- ${result.summary}`),
    '',
    '## How each figure is measured',
    '',
    ...sections.filter(Boolean),
  ].join('\n')
}

/** Details as a bullet list; lines between ``` fences are kept verbatim (a command's output). */
function detailLines(details: readonly string[]): string[] {
  let fenced = false
  return details.map((detail) => {
    if (detail.startsWith('```')) {
      fenced = !fenced
      return detail
    }
    return fenced ? detail : `- ${detail}`
  })
}
