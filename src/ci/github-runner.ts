import {executePhase, type PhaseRecord, type PlanRunner} from '../deploy/plan.js'
import type {Redactor} from '../secrets/redact.js'
import {annotation, GROUP_END, groupStart} from './workflow-commands.js'

/**
 * The plan runner for GitHub Actions: each phase that runs is a collapsible `::group::` holding its lines, a failed
 * phase adds an `::error::` annotation; a skipped phase is one line outside any group (no nesting: GitHub has none).
 * Every text goes through the redactor, and before it is escaped into a workflow command (`%` → `%25`): a secret
 * holding `%` is then still found. `label` names the run in annotation titles (e.g. "clinical deploy of web").
 */
export function githubActionsRunner(write: (line: string) => void, options: {redactor?: Redactor; label?: string} = {}): PlanRunner {
  const safe = (text: string): string => (options.redactor ? options.redactor.redact(text) : text)
  const out = (line: string): void => write(safe(line))
  /** A workflow command, built from texts already redacted (it escapes them). */
  const command = (line: string): void => write(line)
  return async (plan, ctx) => {
    const records: PhaseRecord[] = []
    for (const phase of plan.phases) {
      const skipReason = phase.skip?.(ctx)
      if (skipReason) {
        out(`↓ ${phase.title} [skipped: ${skipReason}]`)
        records.push(await executePhase(plan, phase, ctx, {output: () => {}, title: () => {}}))
        continue
      }
      command(groupStart(safe(phase.title)))
      let title = phase.title
      const record = await executePhase(plan, phase, ctx, {
        output: (line) => out(`  ${line}`),
        title: (next) => {
          title = next
          out(`  → ${next}`)
        },
      })
      records.push(record)
      const seconds = `${(record.durationMs / 1000).toFixed(1)}s`
      if (record.status === 'passed') out(`✔ ${title} (${seconds})`)
      else if (record.status === 'failed') out(`✖ ${title} (${seconds}): ${record.error ?? 'failed'}`)
      else out(`↓ ${title} [skipped: ${record.skipReason ?? ''}]`)
      out(GROUP_END)
      if (record.status === 'failed') {
        command(annotation('error', safe(record.error ?? 'failed'), safe(`${options.label ? `${options.label}: ` : ''}${phase.title} failed`)))
      }
    }
    return records
  }
}
