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

/**
 * A new backup id for `now` (UTC, to the second). When that id is taken, the next second is used, until one is
 * free: ids stay unique and keep sorting in creation order. Pure.
 */
export function newBackupId(now: Date, existingIds: ReadonlySet<string>): string {
  const firstMs = Math.floor(now.getTime() / 1000) * 1000
  // at most existingIds.size seconds can be taken, so this loop ends
  for (let offset = 0; offset <= existingIds.size; offset++) {
    const id = formatBackupId(new Date(firstMs + offset * 1000))
    if (!existingIds.has(id)) return id
  }
  throw new Error('unreachable: more taken backup ids than existing ids')
}
