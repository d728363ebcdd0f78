/** SlackNotifier against a real HTTP receiver on 127.0.0.1 (test/helpers/slack-receiver.ts). */
import {afterEach, describe, expect, it} from 'vitest'
import {SlackNotifier} from '../../../src/notify/slack.js'
import type {SlackMessage} from '../../../src/notify/slack-message.js'
import {Redactor} from '../../../src/secrets/redact.js'
import {startSlackReceiver, type SlackReceiver} from '../../helpers/slack-receiver.js'

const message: SlackMessage = {text: 'deploy of web failed: password hunter2-secret leaked?', blocks: [{type: 'section', text: {type: 'mrkdwn', text: 'hunter2-secret'}}]}

describe('SlackNotifier', () => {
  let receiver: SlackReceiver | undefined
  let notifier: SlackNotifier | undefined
  afterEach(async () => {
    notifier?.close()
    await receiver?.close()
  })

  it('posts the Block Kit message with its text fallback, redacted', async () => {
    receiver = await startSlackReceiver('ok')
    notifier = new SlackNotifier(receiver.url, {redactor: new Redactor(['hunter2-secret', receiver.url])})
    expect(await notifier.send(message)).toEqual({ok: true, attempts: 1})
    const [received] = receiver.messages()
    expect(received!.text).toBe('deploy of web failed: password *** leaked?')
    expect(received!.blocks).toEqual([{type: 'section', text: {type: 'mrkdwn', text: '***'}}])
    expect(receiver.bodies.join('')).not.toContain('hunter2-secret')
  })

  it('HTTP 500: tries again a bounded number of times, then reports why (never throws)', async () => {
    receiver = await startSlackReceiver(500)
    notifier = new SlackNotifier(receiver.url, {retries: 2, redactor: new Redactor([receiver.url])})
    const result = await notifier.send(message)
    expect(result).toMatchObject({ok: false, attempts: 3})
    expect(result.ok ? '' : result.reason).toMatch(/HTTP 500/)
    expect(result.ok ? '' : result.reason).not.toContain(receiver.token)
    expect(receiver.bodies).toHaveLength(3)
  })

  it('HTTP 400 (a bad payload will not get better): one attempt', async () => {
    receiver = await startSlackReceiver(400)
    notifier = new SlackNotifier(receiver.url, {retries: 2})
    const result = await notifier.send(message)
    expect(result).toMatchObject({ok: false, attempts: 1, reason: expect.stringMatching(/HTTP 400 \(invalid_payload\)/)})
  })

  it('a 500 then ok: the retry delivers it', async () => {
    receiver = await startSlackReceiver(500)
    notifier = new SlackNotifier(receiver.url, {retries: 2})
    const sending = notifier.send(message)
    await new Promise((resolve) => setTimeout(resolve, 100))
    receiver.setMode('ok')
    expect(await sending).toMatchObject({ok: true})
  })

  it('a receiver that never answers: each attempt times out and the budget bounds the whole notifier', async () => {
    receiver = await startSlackReceiver('hang')
    notifier = new SlackNotifier(receiver.url, {attemptTimeoutMs: 300, retries: 5, budgetMs: 1500})
    const startedAt = Date.now()
    const first = await notifier.send(message)
    const second = await notifier.send(message)
    const elapsedMs = Date.now() - startedAt
    expect(first).toMatchObject({ok: false, reason: expect.stringMatching(/no answer/)})
    expect(second).toMatchObject({ok: false, attempts: 0, reason: expect.stringMatching(/used up/)})
    expect(elapsedMs).toBeLessThan(10_000) // generous: the budget is 1.5 s
  })

  it('an address where nothing listens: reported as unreachable', async () => {
    receiver = await startSlackReceiver('ok')
    const url = receiver.url
    await receiver.close()
    receiver = undefined
    notifier = new SlackNotifier(url, {retries: 1})
    expect(await notifier.send(message)).toMatchObject({ok: false, attempts: 2, reason: expect.stringMatching(/cannot reach Slack \(ECONNREFUSED\)/)})
  })
})
