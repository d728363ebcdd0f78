import {backupAuthor} from '../backup/who.js'
import {appendStepSummary, formatStepSummary} from '../ci/step-summary.js'
import {annotation} from '../ci/workflow-commands.js'
import type {DockerClient} from '../docker/client.js'
import {exitCodeOf} from '../errors.js'
import {appendHistory} from '../history/history-file.js'
import {stackImages} from '../history/stack-images.js'
import type {Redactor} from '../secrets/redact.js'
import type {RunResult} from '../deploy/outcome.js'
import {type RunAuthor, type RunReport} from './run-report.js'
import {endMessages, startMessage} from './slack-message.js'
import type {SlackNotifier, SlackNotifierOptions} from './slack.js'

/** Everything that reports a deploy or rollback besides its own output: Slack, history, GitHub Actions. */
export interface RunReporting {
  command: 'deploy' | 'rollback'
  stack: string
  /** The history goes to `<backupDir>/<stack>/history.jsonl`. */
  backupDir: string
  /** The command's parsed flags (secret-named ones are written as ***; every value is redacted). */
  flags: Record<string, unknown>
  appVersion?: string
  /** Every secret of the run: applied to messages, history, job summary and annotations. */
  redactor: Redactor
  slackWebhookUrl?: string
  slackOptions?: Omit<SlackNotifierOptions, 'redactor'>
  /** Used after the run to record the stack's images (one listing, bounded). */
  docker: DockerClient
  /** GitHub Actions: where `::warning::`/`::error::` lines go (undefined outside GitHub Actions). */
  githubWrite?: (line: string) => void
  /** $GITHUB_STEP_SUMMARY, when set (GitHub Actions only). */
  stepSummaryPath?: string
  clinicalVersion?: string
  /** Said in the "started" message, e.g. "to backup 20261122-031500". */
  target?: string
  who?: RunAuthor
  /** A reporting problem (Slack down, history not writable): a warning, never the run's outcome. */
  warn: (message: string) => void
}

/**
 * Run a deploy or rollback and report it, driven by its result (the domain knows nothing of this):
 * 1. a "started" Slack message, sent in the background (it never delays the run);
 * 2. the run itself;
 * 3. one line in the stack's history (with the stack's images after the run) and, in GitHub Actions, the job
 *    summary and annotations;
 * 4. `print(result)` — the command's own output;
 * 5. the end messages to Slack (failure and rollback outcome, or success), after the start message.
 * Reporting never changes the result or exit code; each failure is one warning. When `run` throws, the error is
 * reported (outcome "error") and thrown again.
 */
export async function runReported<R extends RunResult>(
  reporting: RunReporting,
  run: () => Promise<R>,
  print: (result: R) => void,
  options: {appVersionOf?: (result: R) => Promise<string | undefined>} = {},
): Promise<R> {
  const {redactor} = reporting
  const startedAtMs = Date.now()
  const startedAt = new Date(startedAtMs).toISOString()
  const who = reporting.who ?? backupAuthor()
  // loaded only when Slack is configured: @slack/webhook brings axios, which a run without Slack need not load
  const slack = reporting.slackWebhookUrl
    ? new (await import('./slack.js')).SlackNotifier(reporting.slackWebhookUrl, {...reporting.slackOptions, redactor})
    : undefined
  const warn = (message: string): void => reporting.warn(redactor.redact(message))
  const started = slack?.send(
    startMessage({
      command: reporting.command,
      stack: reporting.stack,
      appVersion: reporting.appVersion,
      who,
      startedAt,
      target: reporting.target,
      clinicalVersion: reporting.clinicalVersion,
    }),
  )
  try {
    let result: R
    try {
      result = await run()
    } catch (error) {
      const report = redactor.redactValue(errorReport(reporting, error, {who, startedAt, startedAtMs}))
      await record(reporting, report, warn)
      await notify(slack, started, report, warn)
      throw error
    }
    const appVersion = options.appVersionOf ? await options.appVersionOf(result).catch(() => undefined) : reporting.appVersion
    const report = redactor.redactValue(reportOf(result, {who, startedAt, durationMs: Date.now() - startedAtMs, appVersion, clinicalVersion: reporting.clinicalVersion}))
    await record(reporting, report, warn)
    print(result)
    await notify(slack, started, report, warn)
    return result
  } finally {
    slack?.close()
  }
}

/** The report of a result (pure). */
export function reportOf(
  result: RunResult,
  context: {who: RunAuthor; startedAt: string; durationMs: number; appVersion?: string; clinicalVersion?: string},
): RunReport {
  return {
    command: result.command,
    stack: result.stack,
    outcome: result.outcome,
    exitCode: result.exitCode,
    message: result.message,
    ...(context.appVersion ? {appVersion: context.appVersion} : {}),
    who: context.who,
    startedAt: context.startedAt,
    durationMs: context.durationMs,
    phases: result.phases,
    failingServices: result.failingServices,
    ...(result.backupId ? {backupId: result.backupId} : {}),
    warnings: result.warnings,
    ...(context.clinicalVersion ? {clinicalVersion: context.clinicalVersion} : {}),
  }
}

function errorReport(reporting: RunReporting, error: unknown, context: {who: RunAuthor; startedAt: string; startedAtMs: number}): RunReport {
  return {
    command: reporting.command,
    stack: reporting.stack,
    outcome: 'error',
    exitCode: exitCodeOf(error),
    message: error instanceof Error ? error.message : String(error),
    ...(reporting.appVersion ? {appVersion: reporting.appVersion} : {}),
    who: context.who,
    startedAt: context.startedAt,
    durationMs: Date.now() - context.startedAtMs,
    phases: [],
    failingServices: [],
    warnings: [],
    ...(reporting.clinicalVersion ? {clinicalVersion: reporting.clinicalVersion} : {}),
  }
}

/** History line, job summary and annotations: each failure is a warning. */
async function record(reporting: RunReporting, report: RunReport, warn: (message: string) => void): Promise<void> {
  const images = await stackImages(reporting.docker, reporting.stack)
  try {
    await appendHistory({
      backupDir: reporting.backupDir,
      stack: report.stack,
      command: report.command,
      startedAt: report.startedAt,
      who: report.who,
      ...(report.clinicalVersion ? {clinicalVersion: report.clinicalVersion} : {}),
      flags: reporting.flags,
      ...(report.appVersion ? {appVersion: report.appVersion} : {}),
      ...(images ? {images} : {}),
      ...(report.backupId ? {backupId: report.backupId} : {}),
      outcome: report.outcome,
      exitCode: report.exitCode,
      message: report.message,
      durationMs: report.durationMs,
      phases: report.phases.map((phase) => ({id: phase.id, status: phase.status, durationMs: phase.durationMs, ...(phase.error ? {error: phase.error} : {})})),
      ...(report.failingServices.length ? {details: {failingServices: report.failingServices}} : {}),
      redactor: reporting.redactor,
    })
  } catch (error) {
    warn(`the history of stack ${report.stack} was not written (${(error as Error).message}); the run's outcome is unchanged`)
  }
  if (reporting.githubWrite) {
    // redacted before annotation() escapes them (`%` → `%25`): a secret holding `%` is still found
    const safe = (text: string): string => reporting.redactor.redact(text)
    const write = (line: string): void => reporting.githubWrite!(line)
    for (const warning of report.warnings) write(annotation('warning', safe(warning), safe(`clinical ${report.command} of ${report.stack}`)))
    if (report.exitCode !== 0) {
      write(annotation('error', safe(report.message), safe(`clinical ${report.command} of ${report.stack}: ${report.outcome} (exit ${report.exitCode})`)))
    }
  }
  if (reporting.stepSummaryPath) {
    try {
      await appendStepSummary(reporting.stepSummaryPath, reporting.redactor.redact(formatStepSummary(report)))
    } catch (error) {
      warn(`the job summary was not written to $GITHUB_STEP_SUMMARY (${(error as Error).message})`)
    }
  }
}

async function notify(
  slack: SlackNotifier | undefined,
  started: Promise<Awaited<ReturnType<SlackNotifier['send']>>> | undefined,
  report: RunReport,
  warn: (message: string) => void,
): Promise<void> {
  if (!slack || !started) return
  const startResult = await started
  if (!startResult.ok) warn(`Slack message "started" not sent: ${startResult.reason}`)
  for (const message of endMessages(report)) {
    const sent = await slack.send(message)
    if (!sent.ok) warn(`Slack message "${message.text.slice(0, 60)}…" not sent: ${sent.reason}; the run's outcome is unchanged`)
  }
}
