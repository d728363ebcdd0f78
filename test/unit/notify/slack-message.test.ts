import {describe, expect, it} from 'vitest'
import type {RunReport} from '../../../src/notify/run-report.js'
import {endMessages, escape, startMessage} from '../../../src/notify/slack-message.js'

const base: RunReport = {
  command: 'deploy',
  stack: 'clinical-platform',
  outcome: 'success',
  exitCode: 0,
  message: 'deployed: every service converged and every probe passed',
  appVersion: '2.4.0',
  who: {user: 'ci', host: 'mgr-1', ciRunUrl: 'https://github.com/acme/clinical/actions/runs/77'},
  startedAt: '2026-11-22T06:00:00.000Z',
  durationMs: 61_000,
  phases: [
    {id: 'preflight', title: 'Preflight checks', status: 'passed', durationMs: 900},
    {id: 'converge', title: 'Converge', status: 'passed', durationMs: 30_000},
    {id: 'rollback', title: 'Roll back', status: 'skipped', durationMs: 0, skipReason: 'the deploy succeeded'},
  ],
  failingServices: [],
  backupId: '20261122-060000',
  warnings: [],
  clinicalVersion: '0.1.0',
}

const failed: RunReport = {
  ...base,
  outcome: 'rolled-back',
  exitCode: 1,
  message: 'converge failed: clinical-platform_web: task: non-zero exit (3). Rolled back: the stack runs the previous specs and is healthy',
  phases: [
    {id: 'preflight', title: 'Preflight checks', status: 'passed', durationMs: 900},
    {id: 'converge', title: 'Converge: every service on its new spec', status: 'failed', durationMs: 9000, error: 'clinical-platform_web: task: non-zero exit (3)'},
    {id: 'rollback', title: 'Roll back to the backup taken by this run', status: 'passed', durationMs: 21_000},
  ],
  failingServices: [{service: 'clinical-platform_web', taskId: '0123456789abcdef', error: 'task: non-zero exit (3)'}],
}

function allText(message: {text: string; blocks: unknown[]}): string {
  return `${message.text}\n${JSON.stringify(message.blocks)}`
}

describe('Slack messages', () => {
  it('start: stack, app version, who and the CI run link', () => {
    const message = startMessage({command: 'deploy', stack: 'clinical-platform', appVersion: '2.4.0', who: base.who, startedAt: base.startedAt})
    expect(message.text).toContain('clinical deploy of clinical-platform started')
    expect(message.text).toContain('2.4.0')
    expect(message.text).toContain('ci@mgr-1')
    expect(JSON.stringify(message.blocks)).toContain('<https://github.com/acme/clinical/actions/runs/77|github.com/acme/clinical/actions/runs/77>')
    expect(message.blocks[0]).toMatchObject({type: 'header'})
  })

  it('success: one message with duration, backup and the phases', () => {
    const messages = endMessages(base)
    expect(messages).toHaveLength(1)
    expect(messages[0]!.text).toContain('succeeded')
    const text = allText(messages[0]!)
    expect(text).toContain('1m 01s')
    expect(text).toContain('20261122-060000')
    expect(text).toContain('✔ Preflight checks (0.9s)')
    expect(text).toContain('↓ Roll back (skipped: the deploy succeeded)')
  })

  it('a deploy that failed and was rolled back: a failure message naming the task error, then the rollback outcome', () => {
    const [failure, rollback, ...rest] = endMessages(failed)
    expect(rest).toEqual([])
    expect(failure!.text).toContain('clinical deploy of clinical-platform failed at Converge')
    expect(failure!.text).toContain('non-zero exit (3)')
    expect(allText(failure!)).toContain('clinical-platform_web task 0123456789ab: task: non-zero exit (3)')
    expect(rollback!.text).toContain('rolled back')
    expect(rollback!.text).toContain('clinical-platform')
    expect(allText(rollback!)).toContain('Roll back to the backup taken by this run: done in 21.0s')
  })

  it('a failed rollback says a person is needed', () => {
    const [, rollback] = endMessages({
      ...failed,
      outcome: 'rollback-failed',
      exitCode: 4,
      phases: [...failed.phases.slice(0, 2), {id: 'rollback', title: 'Roll back', status: 'failed', durationMs: 5000, error: 'could not restore web'}],
    })
    expect(rollback!.text).toMatch(/needs a person/)
    expect(rollback!.text).toContain('could not restore web')
  })

  it('refused and locked runs: one message, nothing changed', () => {
    const messages = endMessages({...base, outcome: 'refused', exitCode: 2, message: 'preflight: Docker is not reachable; nothing was changed', phases: []})
    expect(messages).toHaveLength(1)
    expect(messages[0]!.text).toContain('refused: nothing was changed')
    expect(endMessages({...base, command: 'rollback', outcome: 'rollback-failed', exitCode: 4})).toHaveLength(1)
  })

  it('respects Slack limits and escapes mrkdwn control characters', () => {
    const long = endMessages({...failed, stack: 's'.repeat(200), message: '<script> & '.repeat(500)})
    for (const message of long) {
      const header = message.blocks[0] as {text: {text: string}}
      expect(header.text.text.length).toBeLessThanOrEqual(150)
      for (const block of message.blocks as Array<{text?: {text: string}}>) expect(block.text?.text.length ?? 0).toBeLessThanOrEqual(3000)
    }
    expect(escape('a <b> & c')).toBe('a &lt;b&gt; &amp; c')
  })
})

describe('no empty text section (Slack answers 400 invalid_blocks)', () => {
  function sectionTexts(message: {blocks: unknown[]}): string[] {
    return (message.blocks as Array<{type: string; text?: {text: string}}>).filter((block) => block.type === 'section' && block.text).map((block) => block.text!.text)
  }

  it('leaves out a section whose text is empty, in every message of a run', () => {
    const emptyFailure: RunReport = {
      ...failed,
      message: '',
      phases: [
        {id: 'preflight', title: 'Preflight checks', status: 'passed', durationMs: 900},
        {id: 'converge', title: 'Converge', status: 'failed', durationMs: 9000, error: ''},
        {id: 'rollback', title: 'Roll back', status: 'passed', durationMs: 21_000},
      ],
    }
    const messages = [...endMessages(emptyFailure), ...endMessages({...base, message: ' '}), ...endMessages({...emptyFailure, outcome: 'refused', exitCode: 2})]
    expect(messages.length).toBeGreaterThanOrEqual(3)
    for (const message of messages) {
      for (const text of sectionTexts(message)) expect(text.trim()).not.toBe('')
    }
  })
})
