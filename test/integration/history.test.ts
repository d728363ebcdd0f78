/**
 * The audit trail on the real swarm, with the built CLI: deploys, a rollback and an unlock append to
 * <backup-dir>/<stack>/history.jsonl; `clinical history --json` lists them; `clinical history verify` passes, and
 * fails naming the line once a line is edited.
 */
import {readFile, writeFile} from 'node:fs/promises'
import {join} from 'node:path'
import {afterAll, beforeAll, expect, it} from 'vitest'
import {DockerClient} from '../../src/docker/client.js'
import {deployArgs, releaseStack, type Release, type ReleaseStack, webScript} from '../helpers/release-stack.js'
import {describeOnSwarm, freePort, removeStack, runClinical, uniqueStackName} from '../helpers/swarm.js'

interface Entry {
  line: number
  command: string
  outcome: string
  exitCode: number
  backupId?: string
  appVersion?: string
  images?: Record<string, string>
  flags?: Record<string, unknown>
  phases?: Array<{id: string; status: string; durationMs: number}>
  who: {user: string; host: string; ciRunUrl?: string}
}

describeOnSwarm('clinical history (real swarm)', () => {
  const docker = new DockerClient()
  const stack = uniqueStackName('his')
  let port = 0
  let fixture: ReleaseStack

  beforeAll(async () => {
    port = await freePort()
    fixture = await releaseStack()
  })

  afterAll(async () => {
    await removeStack(docker, stack)
    await docker.close()
    await fixture.cleanup()
  })

  const env = {CI: 'true', GITHUB_ACTIONS: '', GITHUB_REPOSITORY: 'acme/clinical', GITHUB_RUN_ID: '31337'}
  const deploy = (version: string, release: Release) =>
    runClinical(deployArgs(stack, fixture, port), {env: {...env, APP_VERSION: version, WEB_SCRIPT: webScript(release, port), SLACK_WEBHOOK_URL: ''}, timeoutMs: 240_000})
  const history = async (...args: string[]) => runClinical(['history', ...args, '--stack', stack, '--backup-dir', fixture.backupDir], {env})

  it('every deploy and unlock appends a line; history --json lists them newest first', async () => {
    expect((await deploy('v1', 'good')).exitCode).toBe(0)
    expect((await deploy('v2', 'crash')).exitCode).toBe(1)
    const unlock = await runClinical(['unlock', '--stack', stack, '--backup-dir', fixture.backupDir], {env})
    expect(unlock.exitCode, unlock.stderr).toBe(0)

    const listed = await history('--json')
    expect(listed.exitCode, listed.stderr).toBe(0)
    const json = JSON.parse(listed.stdout) as {stack: string; total: number; entries: Entry[]}
    expect(json.total).toBe(3)
    expect(json.entries.map((entry) => [entry.line, entry.command, entry.outcome, entry.exitCode])).toEqual([
      [3, 'unlock', 'no-lock', 0],
      [2, 'deploy', 'rolled-back', 1],
      [1, 'deploy', 'success', 0],
    ])
    const [, failed, good] = json.entries
    expect(good!.appVersion).toBe('v1')
    expect(good!.images).toEqual({[`${stack}_web`]: 'clinical-test/busybox:v1', [`${stack}_worker`]: 'clinical-test/busybox:v1'})
    expect(good!.backupId).toMatch(/^\d{8}-\d{6}$/)
    expect(good!.who.ciRunUrl).toBe('https://github.com/acme/clinical/actions/runs/31337')
    expect(good!.flags).toMatchObject({stack, 'resolve-image': 'never', json: true})
    expect(good!.phases!.map((phase) => phase.id)).toContain('converge')
    // the failed deploy: its phases say where it failed; the stack runs v1 again after the rollback
    expect(failed!.appVersion).toBe('v2')
    expect(failed!.phases!.find((phase) => phase.id === 'converge')!.status).toBe('failed')
    expect(failed!.phases!.find((phase) => phase.id === 'rollback')!.status).toBe('passed')
    expect(failed!.images![`${stack}_web`]).toBe('clinical-test/busybox:v1')

    const limited = JSON.parse((await history('--json', '--limit', '1')).stdout) as {entries: Entry[]}
    expect(limited.entries.map((entry) => entry.command)).toEqual(['unlock'])
    const text = await history()
    expect(text.stdout).toContain('rolled-back')
    expect(text.stdout).toMatch(/converge failed/)
  })

  it('history verify passes on the intact file, and fails naming the line after one is edited', async () => {
    const intact = await history('verify')
    expect(intact.exitCode, intact.stderr).toBe(0)
    expect(intact.stdout).toContain('intact: 3 line(s)')

    const file = join(fixture.backupDir, stack, 'history.jsonl')
    const lines = (await readFile(file, 'utf8')).split('\n')
    lines[1] = lines[1]!.replace('"outcome":"rolled-back"', '"outcome":"success"')
    await writeFile(file, lines.join('\n'))

    const edited = await history('verify')
    expect(edited.exitCode).toBe(4)
    expect(edited.stderr).toContain(`${file}:2: its content does not match its sha256`)
    expect(edited.stderr).toContain(`${file}:3: prev does not match the sha256 of line 2`)
    const json = JSON.parse((await history('verify', '--json')).stdout) as {ok: boolean; problems: Array<{line: number}>}
    expect(json.ok).toBe(false)
    expect(json.problems.map((problem) => problem.line)).toEqual([2, 3])
  })
})
