import type {StackStatus} from '../status/stack-status.js'

/**
 * `clinical status` for people: one row per service, then, under "Last errors", the update message of each service
 * whose update is not simply completed and the last task error of each service that has one.
 */
export function formatStatusTable(status: StackStatus, now: Date = new Date()): string {
  const header = ['SERVICE', 'IMAGE', 'MODE', 'REPLICAS', 'UPDATE']
  const rows = status.services.map((service) => [
    service.name,
    withoutDigest(service.image),
    service.mode,
    `${service.running}/${service.desired}`,
    service.updateState ?? '-',
  ])
  const widths = header.map((title, column) => Math.max(title.length, ...rows.map((row) => row[column]!.length)))
  const line = (cells: string[]): string =>
    cells
      .map((cell, column) => (column === cells.length - 1 ? cell : cell.padEnd(widths[column]!)))
      .join('  ')
      .trimEnd()
  const out = [`Stack ${status.stack}: ${status.services.length} service(s)`, '', line(header), ...rows.map(line)]
  const notes = status.services.flatMap((service) => {
    const lines: string[] = []
    // a completed update is no news; paused, updating and Swarm's own rollbacks are
    if (service.updateMessage && service.updateState !== 'completed') lines.push(`  ${service.name}: update ${service.updateState ?? ''}: ${service.updateMessage}`)
    const failure = service.lastTaskError
    if (failure) {
      const slot = failure.slot === null ? '' : ` slot ${failure.slot}`
      lines.push(`  ${service.name}${slot}: ${failure.state} ${ago(failure.at, now)}: ${failure.error}`)
    }
    return lines
  })
  if (notes.length > 0) out.push('', 'Last errors:', ...notes)
  return out.join('\n')
}

function withoutDigest(image: string): string {
  const at = image.indexOf('@sha256:')
  return at === -1 ? image : image.slice(0, at)
}

function ago(timestamp: string, now: Date): string {
  const seconds = Math.max(0, Math.round((now.getTime() - Date.parse(timestamp)) / 1000))
  if (!Number.isFinite(seconds)) return ''
  if (seconds < 120) return `${seconds}s ago`
  if (seconds < 7200) return `${Math.round(seconds / 60)}m ago`
  if (seconds < 172_800) return `${Math.round(seconds / 3600)}h ago`
  return `${Math.round(seconds / 86_400)}d ago`
}
