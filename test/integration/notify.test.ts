/**
 * Slack notifications of `clinical deploy` on the real swarm, with a real HTTP receiver on 127.0.0.1 standing in
 * for Slack's webhook endpoint (test/helpers/slack-receiver.ts). The CLI is the built one (npm run build).
 */
import {afterAll, afterEach, beforeAll, expect, it} from 'vitest'
import {DockerClient} from '../../src/docker/client.js'
import {deployArgs, releaseStack, type Release, type ReleaseStack, webScript} from '../helpers/release-stack.js'
import {startSlackReceiver, type SlackReceiver} from '../helpers/slack-receiver.js'
import {describeOnSwarm, freePort, removeStack, runClinical, uniqueStackName} from '../helpers/swarm.js'

describeOnSwarm('Slack notifications of clinical deploy (real swarm, local receiver)', () => {
  const docker = new DockerClient()
  const stack = uniqueStackName('ntf')
  let port = 0
  let fixture: ReleaseStack
  let receiver: SlackReceiver | undefined

  beforeAll(async () => {
    port = await freePort()
    fixture = await releaseStack()
  })

  afterEach(async () => {
    await receiver?.close()
    receiver = undefined
  })

  afterAll(async () => {
    await removeStack(docker, stack)
    await docker.close()
    await fixture.cleanup()
  })

  async function deploy(version: string, release: Release, url: string) {
    const startedAt = Date.now()
    const result = await runClinical(deployArgs(stack, fixture, port), {
      env: {APP_VERSION: version, WEB_SCRIPT: webScript(release, port), SLACK_WEBHOOK_URL: url, CI: 'true', GITHUB_ACTIONS: ''},
      timeoutMs: 240_000,
    })
    return {...result, seconds: (Date.now() - startedAt) / 1000}
  }

  it('a good deploy: "started" then "succeeded", naming the stack and app version', async () => {
    receiver = await startSlackReceiver('ok')
    const result = await deploy('v1', 'good', receiver.url)
    expect(result.exitCode, result.stderr + result.stdout).toBe(0)
    const texts = receiver.messages().map((message) => message.text ?? '')
    expect(texts).toHaveLength(2)
    expect(texts[0]).toContain(`clinical deploy of ${stack} started`)
    expect(texts[0]).toContain('v1')
    expect(texts[1]).toContain(`clinical deploy of ${stack} succeeded`)
    for (const message of receiver.messages()) expect(message.blocks?.length).toBeGreaterThan(0)
    expect(result.stdout + result.stderr).not.toContain(receiver.token)
  })

  it('a failing deploy: failure (naming the stack and the task error) and then the rollback outcome', async () => {
    receiver = await startSlackReceiver('ok')
    const result = await deploy('v2', 'crash', receiver.url)
    expect(result.exitCode, result.stderr + result.stdout).toBe(1)
    const texts = receiver.messages().map((message) => message.text ?? '')
    expect(texts).toHaveLength(3)
    expect(texts[0]).toContain('started')
    expect(texts[1]).toContain(`clinical deploy of ${stack} failed`)
    expect(texts[1]).toContain('non-zero exit (3)')
    expect(JSON.stringify(receiver.messages()[1]!.blocks)).toContain('non-zero exit (3)')
    expect(texts[2]).toContain(`clinical deploy of ${stack} failed and was rolled back`)
    expect(JSON.parse(result.stdout).outcome).toBe('rolled-back')
  })

  it('a receiver that answers 500: the same exit code, a warning on stderr, no hang', async () => {
    receiver = await startSlackReceiver(500)
    const result = await deploy('v2', 'crash', receiver.url)
    expect(result.exitCode, result.stderr + result.stdout).toBe(1)
    expect(JSON.parse(result.stdout).outcome).toBe('rolled-back')
    expect(result.stderr).toMatch(/warning: Slack message .* not sent: Slack answered HTTP 500/)
    expect(result.stderr).not.toContain(receiver.token)
    expect(receiver.bodies.length).toBeGreaterThanOrEqual(3) // tried, with retries
    expect(result.seconds).toBeLessThan(180)
  })

  it('a receiver that never answers: the same exit codes (1 for a failed deploy, 0 for a good one), bounded time', async () => {
    receiver = await startSlackReceiver('hang')
    const failed = await deploy('v2', 'crash', receiver.url)
    expect(failed.exitCode, failed.stderr + failed.stdout).toBe(1)
    expect(failed.stderr).toMatch(/not sent: (no answer from Slack|the time allowed)/)
    expect(failed.seconds).toBeLessThan(180)
    console.log(`[measure] failed deploy with a Slack that never answers: ${failed.seconds.toFixed(1)}s`)

    const good = await deploy('v2', 'good', receiver.url)
    expect(good.exitCode, good.stderr + good.stdout).toBe(0)
    expect(good.seconds).toBeLessThan(180)
    console.log(`[measure] good deploy with a Slack that never answers: ${good.seconds.toFixed(1)}s`)
  })

  it('clinical rollback: "started" (to the newest backup) and "succeeded", with the restored backup', async () => {
    receiver = await startSlackReceiver('ok')
    const result = await runClinical(['rollback', '--stack', stack, '--backup-dir', fixture.backupDir, '--allow-root', '--json', '--timeout', '60s'], {
      env: {SLACK_WEBHOOK_URL: receiver.url, CI: 'true', GITHUB_ACTIONS: ''},
      timeoutMs: 180_000,
    })
    expect(result.exitCode, result.stderr + result.stdout).toBe(0)
    const {backupId} = JSON.parse(result.stdout) as {backupId: string}
    const texts = receiver.messages().map((message) => message.text ?? '')
    expect(texts).toHaveLength(2)
    expect(texts[0]).toContain(`clinical rollback of ${stack} started (to the newest backup)`)
    expect(texts[1]).toContain(`clinical rollback of ${stack} succeeded`)
    expect(texts[1]).toContain(backupId)
  })
})
