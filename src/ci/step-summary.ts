import {appendFile} from 'node:fs/promises'
import {failedPhase, formatDuration, outcomeHeadline, phaseMark, type RunReport} from '../notify/run-report.js'

/**
 * The Markdown job summary of a deploy or rollback (pure): outcome, exit code, backup, app version, who, a table of
 * phases with their durations, failing services and warnings. Appended to $GITHUB_STEP_SUMMARY by the command.
 */
export function formatStepSummary(report: RunReport): string {
  const ok = report.outcome === 'success'
  const lines = [
    `### ${ok ? '✅' : report.exitCode === 1 || report.exitCode === 130 ? '↩️' : '❌'} ${inline(outcomeHeadline(report))}`,
    '',
    inline(report.message),
    '',
    '| | |',
    '|---|---|',
    `| Stack | \`${cell(report.stack)}\` |`,
    `| Outcome | ${cell(report.outcome)} (exit ${report.exitCode}) |`,
    ...(report.appVersion ? [`| App version | \`${cell(report.appVersion)}\` |`] : []),
    ...(report.backupId ? [`| Backup | \`${cell(report.backupId)}\` |`] : []),
    `| Duration | ${formatDuration(report.durationMs)} |`,
    `| Who | ${cell(`${report.who.user}@${report.who.host}`)} |`,
    ...(report.who.ciRunUrl ? [`| CI run | ${cell(report.who.ciRunUrl)} |`] : []),
    '',
    '| Phase | Result | Duration |',
    '|---|---|---|',
    ...report.phases.map((phase) => {
      const result =
        phase.status === 'passed' ? 'passed' : phase.status === 'failed' ? `**failed**: ${phase.error ?? ''}` : `skipped${phase.skipReason ? `: ${phase.skipReason}` : ''}`
      return `| ${phaseMark(phase.status)} ${cell(phase.title)} | ${cell(result)} | ${phase.status === 'skipped' ? '' : formatDuration(phase.durationMs)} |`
    }),
  ]
  if (report.failingServices.length > 0) {
    lines.push('', `**Failing services**${failedPhase(report) ? ` (${inline(failedPhase(report)!.title)})` : ''}:`, '')
    for (const failure of report.failingServices) {
      lines.push(`- \`${cell(failure.service)}\`${failure.taskId ? ` task \`${failure.taskId.slice(0, 12)}\`` : ''}: ${inline(failure.error)}`)
    }
  }
  if (report.warnings.length > 0) {
    lines.push('', '**Warnings**:', '', ...report.warnings.map((warning) => `- ${inline(warning)}`))
  }
  return `${lines.join('\n')}\n\n`
}

/** Append to the job summary file (created when missing, as GitHub does). */
export async function appendStepSummary(path: string, markdown: string): Promise<void> {
  await appendFile(path, markdown, 'utf8')
}

/** One line of Markdown text: no line breaks, no HTML. */
function inline(text: string): string {
  return text.replace(/\s*\r?\n\s*/g, ' ').replace(/</g, '&lt;').replace(/>/g, '&gt;')
}

/** A table cell: also no `|`. */
function cell(text: string): string {
  return inline(text).replace(/\|/g, '\\|').replace(/`/g, "'")
}
