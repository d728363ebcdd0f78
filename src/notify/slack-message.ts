import type {IncomingWebhookSendArguments} from '@slack/webhook'
import {
  failedPhase,
  formatDuration,
  outcomeHeadline,
  phaseMark,
  rollbackPhaseOf,
  type RunAuthor,
  type RunReport,
  type RunStart,
} from './run-report.js'

export type SlackBlock = NonNullable<IncomingWebhookSendArguments['blocks']>[number]

/** One Slack message: Block Kit blocks, and `text`, the plain fallback shown in notifications and old clients. */
export interface SlackMessage {
  text: string
  blocks: SlackBlock[]
}

/** Slack's limits: header text 150, section text 3000, field text 2000 characters. */
const HEADER_MAX = 150
const SECTION_MAX = 3000
const FIELD_MAX = 2000
const FAILURES_LISTED = 10

/** The "started" message of a deploy or rollback (pure). */
export function startMessage(start: RunStart): SlackMessage {
  const headline = `clinical ${start.command} of ${start.stack} started${start.target ? ` (${start.target})` : ''}`
  return {
    text: `:rocket: ${headline}${start.appVersion ? `, app version ${start.appVersion}` : ''}, by ${whoText(start.who)}${start.who.ciRunUrl ? ` (${start.who.ciRunUrl})` : ''}`,
    blocks: [
      header(`🚀 ${headline}`),
      fields([
        ['Stack', code(start.stack)],
        ...(start.appVersion ? ([['App version', code(start.appVersion)]] as Array<[string, string]>) : []),
        ['Who', escape(whoText(start.who))],
        ...ciField(start.who),
        ['Started', escape(start.startedAt)],
      ]),
      ...context(start.clinicalVersion),
    ],
  }
}

/**
 * The messages at the end of a run (pure): success → one; a deploy that failed after changing the stack → the
 * failure (failed phase, failing services and their task errors) and then the rollback's outcome; refused or
 * locked → one failure message; `clinical rollback` → one message, success or failure.
 */
export function endMessages(report: RunReport): SlackMessage[] {
  if (report.outcome === 'success') return [successMessage(report)]
  const rollback = rollbackPhaseOf(report)
  const changedAndFailed = ['rolled-back', 'interrupted', 'rollback-failed', 'not-rolled-back'].includes(report.outcome)
  if (report.command === 'deploy' && changedAndFailed) return [failureMessage(report), rollbackMessage(report, rollback)]
  return [failureMessage(report)]
}

function successMessage(report: RunReport): SlackMessage {
  const headline = outcomeHeadline(report)
  return {
    text: `:white_check_mark: ${headline}${report.appVersion ? `: app version ${report.appVersion}` : ''} in ${formatDuration(report.durationMs)}${report.backupId ? `, backup ${report.backupId}` : ''}`,
    blocks: [
      header(`✅ ${headline}`),
      ...section(escape(report.message)),
      fields(summaryFields(report)),
      ...phasesSection(report),
      ...warningsSection(report),
      ...context(report.clinicalVersion),
    ],
  }
}

function failureMessage(report: RunReport): SlackMessage {
  const phase = failedPhase(report)
  const run = `clinical ${report.command} of ${report.stack}`
  const headline =
    report.outcome === 'refused' || report.outcome === 'locked' || report.outcome === 'error'
      ? outcomeHeadline(report)
      : `${run} failed${phase ? ` at ${phase.title}` : ''}`
  const failures = report.failingServices.slice(0, FAILURES_LISTED).map((failure) => `${failure.service}${failure.taskId ? ` task ${failure.taskId.slice(0, 12)}` : ''}: ${failure.error}`)
  const more = report.failingServices.length > FAILURES_LISTED ? [`… and ${report.failingServices.length - FAILURES_LISTED} more`] : []
  const reason = phase?.error || report.message
  return {
    text: `:x: ${headline}: ${reason}${failures.length ? ` | failing: ${failures.join('; ')}` : ''}`,
    blocks: [
      header(`❌ ${headline}`),
      ...section(escape(reason)),
      ...(failures.length ? section(`*Failing services*\n${[...failures, ...more].map((line) => `• ${escape(line)}`).join('\n')}`) : []),
      fields(summaryFields(report)),
      ...phasesSection(report),
      ...context(report.clinicalVersion),
    ],
  }
}

function rollbackMessage(report: RunReport, rollback: RunReport['phases'][number] | undefined): SlackMessage {
  const ok = report.outcome === 'rolled-back' || report.outcome === 'interrupted'
  const headline = outcomeHeadline(report)
  const detail = rollback
    ? rollback.status === 'passed'
      ? `${rollback.title}: done in ${formatDuration(rollback.durationMs)}`
      : `${rollback.title}: ${rollback.error ?? 'failed'}`
    : 'the rollback did not run'
  return {
    text: `${ok ? ':leftwards_arrow_with_hook:' : ':sos:'} ${headline}: ${detail}`,
    blocks: [
      header(`${ok ? '↩️' : '🆘'} ${headline}`),
      ...section(escape(report.message)),
      ...section(escape(detail)),
      fields(summaryFields(report)),
      ...context(report.clinicalVersion),
    ],
  }
}

function summaryFields(report: RunReport): Array<[string, string]> {
  return [
    ['Stack', code(report.stack)],
    ...(report.appVersion ? ([['App version', code(report.appVersion)]] as Array<[string, string]>) : []),
    ['Outcome', `${escape(report.outcome)} (exit ${report.exitCode})`],
    ['Duration', formatDuration(report.durationMs)],
    ...(report.backupId ? ([['Backup', code(report.backupId)]] as Array<[string, string]>) : []),
    ['Who', escape(whoText(report.who))],
    ...ciField(report.who),
  ]
}

function phasesSection(report: RunReport): SlackBlock[] {
  const lines = report.phases.map((phase) => {
    const timing = phase.status === 'skipped' ? `skipped${phase.skipReason ? `: ${phase.skipReason}` : ''}` : formatDuration(phase.durationMs)
    return `${phaseMark(phase.status)} ${escape(phase.title)} (${escape(timing)})`
  })
  return section(`*Phases*\n${lines.join('\n') || 'none ran'}`)
}

function warningsSection(report: RunReport): SlackBlock[] {
  return report.warnings.length ? section(`*Warnings*\n${report.warnings.map((warning) => `• ${escape(warning)}`).join('\n')}`) : []
}

function ciField(who: RunAuthor): Array<[string, string]> {
  return who.ciRunUrl ? [['CI run', `<${who.ciRunUrl.replace(/[<>|]/g, '')}|${escape(who.ciRunUrl.replace(/^https?:\/\//, ''))}>`]] : []
}

function whoText(who: RunAuthor): string {
  return `${who.user}@${who.host}`
}

function header(text: string): SlackBlock {
  return {type: 'header', text: {type: 'plain_text', text: truncate(text, HEADER_MAX), emoji: true}}
}

/** A text section, or none when the text is blank: Slack rejects an empty one (400 invalid_blocks). */
function section(mrkdwn: string): SlackBlock[] {
  return mrkdwn.trim() ? [{type: 'section', text: {type: 'mrkdwn', text: truncate(mrkdwn, SECTION_MAX)}}] : []
}

function fields(pairs: Array<[string, string]>): SlackBlock {
  return {type: 'section', fields: pairs.slice(0, 10).map(([name, value]) => ({type: 'mrkdwn' as const, text: truncate(`*${name}*\n${value}`, FIELD_MAX)}))}
}

function context(clinicalVersion: string | undefined): SlackBlock[] {
  return clinicalVersion ? [{type: 'context', elements: [{type: 'mrkdwn', text: `clinical ${escape(clinicalVersion)}`}]}] : []
}

/** Slack mrkdwn: &, < and > are control characters. */
export function escape(text: string): string {
  return text.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;')
}

function code(text: string): string {
  return `\`${escape(text.replace(/`/g, "'"))}\``
}

function truncate(text: string, max: number): string {
  return text.length <= max ? text : `${text.slice(0, max - 1)}…`
}
