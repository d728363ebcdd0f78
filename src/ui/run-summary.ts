import type {RunResult} from '../deploy/outcome.js'

/** The few lines printed after a deploy or rollback: outcome, exit code, backup, failing services, next step. */
export function formatRunSummary(result: RunResult): string {
  const total = result.phases.reduce((sum, phase) => sum + phase.durationMs, 0)
  const lines = [
    '',
    `${result.outcome === 'success' ? 'OK' : 'FAILED'}: clinical ${result.command} of ${result.stack}: ${result.message} (exit ${result.exitCode}, ${(total / 1000).toFixed(1)}s)`,
  ]
  if (result.backupId) lines.push(`  backup: ${result.backupId}`)
  for (const failure of result.failingServices) {
    lines.push(`  ${failure.service}${failure.taskId ? ` task ${failure.taskId.slice(0, 12)}` : ''}: ${failure.error}`)
  }
  if (result.detectionToRollbackSeconds !== undefined) {
    lines.push(`  first failed task → rollback started: ${result.detectionToRollbackSeconds.toFixed(1)}s`)
  }
  for (const warning of result.warnings) lines.push(`  warning: ${warning}`)
  return lines.join('\n')
}
