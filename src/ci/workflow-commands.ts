/**
 * GitHub Actions workflow commands (https://docs.github.com/actions/reference/workflow-commands-for-github-actions),
 * built as plain strings (pure). The runner reads them from a step's stdout and stderr, one per line.
 */

/** The data part of a command: the runner un-escapes %25, %0D and %0A. */
export function escapeData(text: string): string {
  return text.replace(/%/g, '%25').replace(/\r/g, '%0D').replace(/\n/g, '%0A')
}

/** A property value (`title=...`): also `:` and `,`, which end a property. */
export function escapeProperty(text: string): string {
  return escapeData(text).replace(/:/g, '%3A').replace(/,/g, '%2C')
}

/**
 * `::add-mask::` lines for secret values (one per line of a multi-line value, since the runner masks line by line),
 * skipping values already in `alreadyMasked` (which is updated). Values come from Redactor.values: already trimmed
 * and at least MIN_REDACTED_LENGTH long; a multi-line value itself is left out (its lines are there).
 */
export function maskCommands(values: Iterable<string>, alreadyMasked: Set<string> = new Set()): string[] {
  const lines: string[] = []
  for (const value of values) {
    for (const part of value.split(/\r?\n/)) {
      const trimmed = part.trim()
      if (!trimmed || alreadyMasked.has(trimmed)) continue
      alreadyMasked.add(trimmed)
      lines.push(`::add-mask::${escapeData(trimmed)}`)
    }
  }
  return lines
}

export function groupStart(title: string): string {
  return `::group::${escapeData(oneLine(title))}`
}

export const GROUP_END = '::endgroup::'

export type AnnotationLevel = 'error' | 'warning' | 'notice'

/** `::error title=...::message` (an annotation on the run's summary page). */
export function annotation(level: AnnotationLevel, message: string, title?: string): string {
  const properties = title ? ` title=${escapeProperty(oneLine(title))}` : ''
  return `::${level}${properties}::${escapeData(message)}`
}

function oneLine(text: string): string {
  return text.replace(/\s*\r?\n\s*/g, ' ').trim()
}
