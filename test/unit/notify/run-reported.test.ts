/**
 * runReported end to end without Docker: a real Slack receiver on 127.0.0.1, a real history file and job summary.
 * The Docker client points at a socket that does not exist (the image listing fails fast; the line is written
 * without images).
 */
import {mkdtemp, readFile, rm, writeFile} from 'node:fs/promises'
import {tmpdir} from 'node:os'
import {join} from 'node:path'
import {afterEach, beforeEach, describe, expect, it} from 'vitest'
import {DockerClient} from '../../../src/docker/client.js'
import type {DeployResult} from '../../../src/deploy/deploy.js'
import {historyPath, verifyHistory} from '../../../src/history/history-file.js'
import {runReported, type RunReporting} from '../../../src/notify/run-reported.js'
import {Redactor} from '../../../src/secrets/redact.js'
import {startSlackReceiver, type SlackReceiver} from '../../helpers/slack-receiver.js'

const SECRET = 'canary-pw-5150'

const rolledBack: DeployResult = {
  command: 'deploy',
  stack: 'web',
  outcome: 'rolled-back',
  exitCode: 1,
  message: `converge failed: web_web: task: non-zero exit (3) (env had ${SECRET}). Rolled back`,
  backupId: '20261122-060000',
  phases: [
    {id: 'converge', title: 'Converge', status: 'failed', durationMs: 5000, error: 'web_web: task: non-zero exit (3)'},
    {id: 'rollback', title: 'Roll back', status: 'passed', durationMs: 9000},
  ],
  failingServices: [{service: 'web_web', error: 'task: non-zero exit (3)'}],
  warnings: [`app probe: ${SECRET}`],
}

describe('runReported', () => {
  let dir = ''
  let receiver: SlackReceiver
  let docker: DockerClient
  beforeEach(async () => {
    dir = await mkdtemp(join(tmpdir(), 'clinical-reported-'))
    receiver = await startSlackReceiver('ok')
    docker = new DockerClient({env: {DOCKER_HOST: `unix://${join(dir, 'no-docker.sock')}`}})
  })
  afterEach(async () => {
    await docker.close()
    await receiver.close()
    await rm(dir, {recursive: true, force: true})
  })

  function reporting(overrides: Partial<RunReporting> = {}): RunReporting & {warnings: string[]; github: string[]} {
    const warnings: string[] = []
    const github: string[] = []
    return {
      command: 'deploy',
      stack: 'web',
      backupDir: dir,
      flags: {stack: 'web', 'slack-webhook-url': receiver.url, timeout: '60s'},
      appVersion: 'v2',
      redactor: new Redactor([SECRET, receiver.url]),
      slackWebhookUrl: receiver.url,
      docker,
      githubWrite: (line) => github.push(line),
      stepSummaryPath: join(dir, 'summary.md'),
      clinicalVersion: '0.1.0',
      warn: (message) => warnings.push(message),
      warnings,
      github,
      ...overrides,
    }
  }

  it('start, failure and rollback messages; one history line; the job summary; annotations; no secret anywhere', async () => {
    const context = reporting()
    const printed: string[] = []
    const result = await runReported(context, async () => rolledBack, (done) => printed.push(done.outcome))
    expect(result).toBe(rolledBack)
    expect(printed).toEqual(['rolled-back'])
    const texts = receiver.messages().map((message) => message.text ?? '')
    expect(texts).toHaveLength(3)
    expect(texts[0]).toContain('clinical deploy of web started')
    expect(texts[1]).toContain('failed at Converge')
    expect(texts[1]).toContain('non-zero exit (3)')
    expect(texts[2]).toContain('rolled back')

    const history = await readFile(historyPath(dir, 'web'), 'utf8')
    const entry = JSON.parse(history)
    expect(entry).toMatchObject({command: 'deploy', stack: 'web', outcome: 'rolled-back', exitCode: 1, backupId: '20261122-060000', appVersion: 'v2'})
    expect(entry.flags['slack-webhook-url']).toBe('***')
    expect(entry.phases).toEqual([
      {id: 'converge', status: 'failed', durationMs: 5000, error: 'web_web: task: non-zero exit (3)'},
      {id: 'rollback', status: 'passed', durationMs: 9000},
    ])
    expect((await verifyHistory(historyPath(dir, 'web'))).ok).toBe(true)

    const summary = await readFile(join(dir, 'summary.md'), 'utf8')
    expect(summary).toContain('| Backup | `20261122-060000` |')
    expect(context.github.some((line) => line.startsWith('::error title=clinical deploy of web'))).toBe(true)
    expect(context.github.some((line) => line.startsWith('::warning'))).toBe(true)
    expect(context.warnings).toEqual([])

    for (const text of [history, summary, receiver.bodies.join('\n'), context.github.join('\n')]) {
      expect(text).not.toContain(SECRET)
      expect(text).not.toContain(receiver.token)
    }
  })

  it('a Slack that answers 500 changes nothing but a warning; the result and history stand', async () => {
    receiver.setMode(500)
    const context = reporting({slackOptions: {attemptTimeoutMs: 1000, retries: 1, budgetMs: 5000}})
    const result = await runReported(context, async () => rolledBack, () => {})
    expect(result.exitCode).toBe(1)
    expect(context.warnings.length).toBeGreaterThan(0)
    expect(context.warnings.join('\n')).toMatch(/HTTP 500/)
    expect(context.warnings.join('\n')).not.toContain(receiver.token)
    expect((await verifyHistory(historyPath(dir, 'web'))).lines).toBe(1)
  })

  it('a run that throws is reported as an error (history, Slack) and the error is thrown again', async () => {
    const context = reporting({githubWrite: undefined, stepSummaryPath: undefined})
    await expect(runReported(context, async () => Promise.reject(new Error(`boom ${SECRET}`)), () => {})).rejects.toThrow('boom')
    const entry = JSON.parse(await readFile(historyPath(dir, 'web'), 'utf8'))
    expect(entry).toMatchObject({outcome: 'error', exitCode: 4, message: 'boom ***'})
    expect(receiver.messages().map((message) => message.text)).toHaveLength(2)
    expect(receiver.bodies.join('')).not.toContain(SECRET)
  })

  it('a history that cannot be written is a warning', async () => {
    const notADir = join(dir, 'a-file')
    await writeFile(notADir, 'not a directory')
    const context = reporting({backupDir: notADir, slackWebhookUrl: undefined})
    const result = await runReported(context, async () => rolledBack, () => {})
    expect(result.exitCode).toBe(1)
    expect(context.warnings.join('\n')).toMatch(/history of stack web was not written/)
  })
})
