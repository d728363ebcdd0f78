/** Backup ids are the UTC creation time to the second: `YYYYMMDD-HHMMSS` (DESIGN.md §2). */
export const BACKUP_ID_PATTERN = /^\d{8}-\d{6}$/

/** The suffix of a backup directory that is still being written (DESIGN.md §2: written, then renamed). */
export const PARTIAL_SUFFIX = '.partial'

export function isBackupId(value: string): boolean {
  return BACKUP_ID_PATTERN.test(value)
}

/** `YYYYMMDD-HHMMSS` of an instant, in UTC. */
export function formatBackupId(instant: Date): string {
  const iso = instant.toISOString() // YYYY-MM-DDTHH:MM:SS.sssZ; throws RangeError on an invalid date
  return `${iso.slice(0, 4)}${iso.slice(5, 7)}${iso.slice(8, 10)}-${iso.slice(11, 13)}${iso.slice(14, 16)}${iso.slice(17, 19)}`
}

/** The instant (epoch ms) a backup id names, or undefined when it is not an id (pure). */
export function backupIdMs(id: string): number | undefined {
  if (!isBackupId(id)) return undefined
  const field = (from: number, to: number): number => Number(id.slice(from, to))
  return Date.UTC(field(0, 4), field(4, 6) - 1, field(6, 8), field(9, 11), field(11, 13), field(13, 15))
}

/**
 * A new backup id for `now` (UTC, to the second), later than every existing id: max(now, newest existing + 1 s).
 * So ids stay unique and keep sorting in creation order even when the clock stepped back (NTP, a VM restored):
 * a backup taken after another never sorts older than it. Pure.
 */
export function newBackupId(now: Date, existingIds: ReadonlySet<string>): string {
  let firstMs = Math.floor(now.getTime() / 1000) * 1000
  for (const id of existingIds) {
    const idMs = backupIdMs(id)
    if (idMs !== undefined && idMs + 1000 > firstMs) firstMs = idMs + 1000
  }
  return formatBackupId(new Date(firstMs)) // throws RangeError on an invalid date
}
