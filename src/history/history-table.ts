import {formatDuration} from '../notify/run-report.js'
import type {HistoryRecord} from './history-file.js'

/** `clinical history` as text (pure): one row per run, newest first, and the message under each run that failed. */
export function formatHistoryTable(records: HistoryRecord[]): string {
  const rows = records.map(({entry}) => [
    shortTime(entry.time),
    entry.command,
    entry.outcome,
    String(entry.exitCode),
    entry.durationMs !== undefined ? formatDuration(entry.durationMs) : '',
    entry.backupId ?? '',
    entry.appVersion ?? '',
    `${entry.who?.user ?? '?'}@${entry.who?.host ?? '?'}${entry.who?.ciRunUrl ? ` ${entry.who.ciRunUrl}` : ''}`,
  ])
  const header = ['TIME', 'COMMAND', 'OUTCOME', 'EXIT', 'DURATION', 'BACKUP', 'APP VERSION', 'WHO']
  const widths = header.map((title, column) => Math.max(title.length, ...rows.map((row) => row[column]!.length)))
  const line = (cells: string[]): string => cells.map((cell, column) => (column === cells.length - 1 ? cell : cell.padEnd(widths[column]!))).join('  ')
  const out = [line(header)]
  records.forEach(({entry}, index) => {
    out.push(line(rows[index]!))
    if (entry.exitCode !== 0 && entry.message) out.push(`    ${entry.message}`)
  })
  return out.join('\n')
}

function shortTime(iso: string | undefined): string {
  if (!iso) return '?'
  return iso.replace('T', ' ').replace(/\.\d+Z$/, 'Z')
}
