import {formatBytes} from '../config/parse-units.js'
import type {ListedBackup} from './backup-list.js'

/** `clinical backup list` as a table (pure). */
export function formatBackupTable(stack: string, backups: readonly ListedBackup[]): string {
  if (backups.length === 0) return `no backups of stack ${stack}`
  const header = ['ID', 'CREATED', 'TAKEN BY', 'APP VERSION', 'SIZE', 'SERVICES', 'VOLUMES', 'VERIFIED']
  const rows = backups.map((backup) => [
    backup.id,
    backup.createdAt.replace(/\.\d{3}Z$/, 'Z'),
    backup.takenBy ?? 'clinical deploy',
    backup.appVersion ?? '-',
    formatBytes(backup.sizeBytes),
    String(backup.services),
    String(backup.volumes),
    backup.verified === null ? '-' : backup.verified.ok ? 'yes' : 'NO',
  ])
  const widths = header.map((title, column) => Math.max(title.length, ...rows.map((row) => row[column]!.length)))
  const line = (cells: string[]): string => cells.map((cell, column) => cell.padEnd(widths[column]!)).join('  ').trimEnd()
  return [line(header), ...rows.map(line)].join('\n')
}
