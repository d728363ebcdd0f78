import {mkdtemp, readFile, rm} from 'node:fs/promises'
import {tmpdir} from 'node:os'
import {join} from 'node:path'
import {describe, expect, it} from 'vitest'
import {appendStepSummary, formatStepSummary} from '../../../src/ci/step-summary.js'
import type {RunReport} from '../../../src/notify/run-report.js'

const rolledBack: RunReport = {
  command: 'deploy',
  stack: 'web',
  outcome: 'rolled-back',
  exitCode: 1,
  message: 'converge failed: web_web: task: non-zero exit (3). Rolled back: the stack runs the previous specs and is healthy',
  appVersion: 'v2',
  who: {user: 'ci', host: 'mgr-1', ciRunUrl: 'https://github.com/acme/web/actions/runs/9'},
  startedAt: '2026-11-22T06:00:00.000Z',
  durationMs: 42_300,
  phases: [
    {id: 'preflight', title: 'Preflight checks', status: 'passed', durationMs: 1200},
    {id: 'converge', title: 'Converge', status: 'failed', durationMs: 8000, error: 'web_web: task: non-zero exit (3) | pipe'},
    {id: 'health-probes', title: 'Health probes', status: 'skipped', durationMs: 0, skipReason: 'an earlier phase failed'},
    {id: 'rollback', title: 'Roll back', status: 'passed', durationMs: 20_000},
  ],
  failingServices: [{service: 'web_web', taskId: 'abcdef0123456789', error: 'task: non-zero exit (3)'}],
  backupId: '20261122-060000',
  warnings: ['app probe answered 500'],
}

describe('formatStepSummary', () => {
  it('gives outcome, exit code, backup, a table of phases with durations, failing services and warnings', () => {
    const markdown = formatStepSummary(rolledBack)
    expect(markdown).toContain('### ↩️ clinical deploy of web failed and was rolled back')
    expect(markdown).toContain('| Outcome | rolled-back (exit 1) |')
    expect(markdown).toContain('| Backup | `20261122-060000` |')
    expect(markdown).toContain('| ✔ Preflight checks | passed | 1.2s |')
    expect(markdown).toContain('| ✖ Converge | **failed**: web_web: task: non-zero exit (3) \\| pipe | 8.0s |')
    expect(markdown).toContain('| ↓ Health probes | skipped: an earlier phase failed |  |')
    expect(markdown).toContain('- `web_web` task `abcdef012345`: task: non-zero exit (3)')
    expect(markdown).toContain('- app probe answered 500')
  })

  it('is appended, not overwritten (several steps share the file)', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'clinical-summary-'))
    try {
      const file = join(dir, 'summary.md')
      await appendStepSummary(file, 'first\n')
      await appendStepSummary(file, formatStepSummary({...rolledBack, outcome: 'success', exitCode: 0, failingServices: [], warnings: []}))
      const text = await readFile(file, 'utf8')
      expect(text.startsWith('first\n### ✅ clinical deploy of web succeeded')).toBe(true)
    } finally {
      await rm(dir, {recursive: true, force: true})
    }
  })
})
