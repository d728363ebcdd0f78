/**
 * A run as a plan of named phases (data), executed in order. A phase that throws is recorded and the plan goes on:
 * each later phase decides by its `skip` predicate whether it still runs (rollback runs only after a failure).
 * The UI (src/ui/listr-runner.ts) renders the same plan with listr2; the domain never imports listr2.
 */
export interface PhaseReporter {
  /** A line of detail under the phase (progress, a service restored, a probe answer). */
  output(line: string): void
  /** Replace the phase's title (e.g. "Converge: 3/4 services"). */
  title(title: string): void
}

export interface Phase<C> {
  id: string
  title: string
  /** A reason to skip this phase now (evaluated when the phase is reached), or false to run it. */
  skip?: (ctx: C) => string | false
  run(ctx: C, report: PhaseReporter): Promise<void>
}

export interface Plan<C> {
  phases: Array<Phase<C>>
  /** Called when a phase throws, before the next phase's `skip` is evaluated. */
  onError(ctx: C, phase: Phase<C>, error: unknown): void
}

export interface PhaseRecord {
  id: string
  title: string
  status: 'passed' | 'failed' | 'skipped'
  durationMs: number
  startedAtMs?: number
  skipReason?: string
  error?: string
}

/** Runs the plan's phases one after the other; the UI runs them through this too, one at a time. */
export type PlanRunner = <C>(plan: Plan<C>, ctx: C) => Promise<PhaseRecord[]>

/** Run one phase, timing it and turning a throw into a record (shared by every runner). */
export async function executePhase<C>(plan: Plan<C>, phase: Phase<C>, ctx: C, report: PhaseReporter): Promise<PhaseRecord> {
  const skipReason = phase.skip?.(ctx)
  if (skipReason) return {id: phase.id, title: phase.title, status: 'skipped', durationMs: 0, skipReason}
  const startedAtMs = Date.now()
  try {
    await phase.run(ctx, report)
    return {id: phase.id, title: phase.title, status: 'passed', durationMs: Date.now() - startedAtMs, startedAtMs}
  } catch (error) {
    plan.onError(ctx, phase, error)
    return {
      id: phase.id,
      title: phase.title,
      status: 'failed',
      durationMs: Date.now() - startedAtMs,
      startedAtMs,
      error: error instanceof Error ? error.message : String(error),
    }
  }
}

/** The plain runner: no rendering, lines go to `log` (tests, --json, and the reference semantics). */
export function plainRunner(log: (line: string) => void = () => {}): PlanRunner {
  return async (plan, ctx) => {
    const records: PhaseRecord[] = []
    for (const phase of plan.phases) {
      const record = await executePhase(plan, phase, ctx, {
        output: (line) => log(`${phase.title}: ${line}`),
        title: () => {},
      })
      records.push(record)
    }
    return records
  }
}
