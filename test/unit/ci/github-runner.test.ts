import {describe, expect, it} from 'vitest'
import {githubActionsRunner} from '../../../src/ci/github-runner.js'
import type {Plan} from '../../../src/deploy/plan.js'
import {Redactor} from '../../../src/secrets/redact.js'

interface Ctx {
  failed: boolean
}

const plan: Plan<Ctx> = {
  phases: [
    {
      id: 'preflight',
      title: 'Preflight',
      async run(_ctx, report) {
        report.output('docker answers; password s3cr3t-value not needed')
      },
    },
    {
      id: 'converge',
      title: 'Converge',
      async run() {
        throw new Error('web: task: non-zero exit (3)')
      },
    },
    {id: 'probes', title: 'Health probes', skip: (ctx) => (ctx.failed ? 'an earlier phase failed' : false), async run() {}},
    {
      id: 'rollback',
      title: 'Roll back',
      skip: (ctx) => (ctx.failed ? false : 'the deploy succeeded'),
      async run(_ctx, report) {
        report.title('Roll back: 1 updated')
      },
    },
  ],
  onError(ctx) {
    ctx.failed = true
  },
}

describe('githubActionsRunner', () => {
  it('puts each phase that runs in its own group, annotates the failure, and skips outside any group', async () => {
    const lines: string[] = []
    const records = await githubActionsRunner((line) => lines.push(line), {redactor: new Redactor(['s3cr3t-value']), label: 'clinical deploy of web'})(plan, {failed: false})
    expect(records.map((record) => record.status)).toEqual(['passed', 'failed', 'skipped', 'passed'])
    expect(lines[0]).toBe('::group::Preflight')
    expect(lines).toContain('  docker answers; password *** not needed')
    expect(lines.join('\n')).not.toContain('s3cr3t-value')
    const groups = lines.filter((line) => line.startsWith('::group::'))
    expect(groups).toEqual(['::group::Preflight', '::group::Converge', '::group::Roll back'])
    expect(lines.filter((line) => line === '::endgroup::')).toHaveLength(3)
    expect(lines).toContain('::error title=clinical deploy of web%3A Converge failed::web: task: non-zero exit (3)')
    // the skipped phase is one line, outside any group
    const skipped = lines.indexOf('↓ Health probes [skipped: an earlier phase failed]')
    expect(skipped).toBeGreaterThan(0)
    expect(lines[skipped - 1]!.startsWith('::error') || lines[skipped - 1] === '::endgroup::').toBe(true)
    expect(lines.some((line) => line.startsWith('✔ Roll back: 1 updated'))).toBe(true)
  })
})

describe('githubActionsRunner: redacts before escaping', () => {
  it('a secret holding % in a phase error or title never reaches an annotation, escaped or not', async () => {
    const lines: string[] = []
    const failing: Plan<Ctx> = {
      phases: [
        {
          id: 'deploy',
          title: 'Deploy with Ab%12345',
          async run() {
            throw new Error('docker said: bad password Ab%12345')
          },
        },
      ],
      onError() {},
    }
    await githubActionsRunner((line) => lines.push(line), {redactor: new Redactor(['Ab%12345'])})(failing, {failed: false})
    const text = lines.join('\n')
    expect(text).not.toContain('Ab%12345')
    expect(text).not.toContain('Ab%2512345')
    expect(lines).toContain('::group::Deploy with ***')
    expect(lines.find((line) => line.startsWith('::error'))).toBe('::error title=Deploy with *** failed::docker said: bad password ***')
  })
})
