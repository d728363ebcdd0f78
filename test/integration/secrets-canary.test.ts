/**
 * The canary (DESIGN.md §7): known secret values, placed in the env file and in the environment, must never appear
 * in anything the tool prints or writes — stdout, stderr, --json, history.jsonl, manifest.json, the config archive,
 * the Slack bodies received, $GITHUB_STEP_SUMMARY — nor in any process's argv while it runs; across a good deploy,
 * a failed-and-rolled-back deploy, a `docker stack deploy` error that quotes a secret, Docker unreachable, a
 * rollback, and the read-only commands. Runs in GitHub Actions mode, so `::add-mask::` is exercised too (those lines
 * name the values by design: the runner consumes them and never shows them; they are left out of the search).
 *
 * Excluded, on purpose: `services/<name>.json` of a backup. It is the service spec exactly as Docker holds it
 * (`docker service inspect` shows the same), including the container environment the compose file passes
 * (here GF_PASSWORD=${GRAFANA_PASSWORD}); redacting it would make the backup unrestorable. The test checks that
 * these files do hold the secret (so the canary flowed through the whole run) and that they are 0600 in 0700
 * directories.
 */
import {randomBytes} from 'node:crypto'
import {readdir, readFile, stat, writeFile} from 'node:fs/promises'
import {join, relative} from 'node:path'
import {gunzipSync} from 'node:zlib'
import {afterAll, beforeAll, expect, it} from 'vitest'
import {DockerClient} from '../../src/docker/client.js'
import {deployArgs, releaseCompose, releaseStack, type ReleaseStack, webScript} from '../helpers/release-stack.js'
import {startSlackReceiver, type SlackReceiver} from '../helpers/slack-receiver.js'
import {describeOnSwarm, freePort, removeStack, runClinical, uniqueStackName} from '../helpers/swarm.js'

const tag = randomBytes(4).toString('hex')
const CANARY = {
  grafana: `cnry-grafana-${tag}`,
  dbPassword: `cnry-db-${tag}`,
  certLine1: `cnry-certline1-${tag}`,
  certLine2: `cnry-certline2-${tag}`,
  volume: `cnry-vol-${tag}`,
  apiToken: `cnry-apitoken-${tag}`,
  influx: `cnry-influx-${tag}`,
  slackToken: `cnryslack${tag}`,
}

describeOnSwarm('secrets canary: no secret value in any output or file (real swarm)', () => {
  const docker = new DockerClient()
  const stack = uniqueStackName('cny')
  let port = 0
  let fixture: ReleaseStack
  let receiver: SlackReceiver
  let envFile = ''
  let summaryFile = ''
  let brokenCompose = ''
  const outputs: Array<{run: string; text: string}> = []
  const argvSeen = new Set<string>()

  beforeAll(async () => {
    port = await freePort()
    fixture = await releaseStack({GF_PASSWORD: '${GRAFANA_PASSWORD}', DATABASE_URL: '${DB_URL}', INFLUX_PASSWORD: '${INFLUXDB_PASSWORD}'})
    envFile = join(fixture.work, 'production.env')
    await writeFile(
      envFile,
      [
        `GRAFANA_PASSWORD=${CANARY.grafana}`,
        `DB_URL=postgres://app:${CANARY.dbPassword}@db.internal:5432/app`,
        `TLS_CERT="-----BEGIN CERT-----\\n${CANARY.certLine1}\\n${CANARY.certLine2}\\n-----END CERT-----"`,
        `DATA_VOLUME=${CANARY.volume}`,
        '',
      ].join('\n'),
    )
    summaryFile = join(fixture.work, 'step-summary.md')
    // the same stack, but web mounts a volume the compose file never declares: `docker stack config` renders it,
    // `docker stack deploy` fails quoting the (secret) volume name
    brokenCompose = join(fixture.work, 'broken.yml')
    await writeFile(brokenCompose, releaseCompose({GF_PASSWORD: '${GRAFANA_PASSWORD}'}).replace('    networks: [hostnet]\n', '    networks: [hostnet]\n    volumes: ["${DATA_VOLUME}:/data"]\n'))
    receiver = await startSlackReceiver('ok', CANARY.slackToken)
  })

  afterAll(async () => {
    await receiver?.close()
    await removeStack(docker, stack)
    await docker.close()
    await fixture?.cleanup()
  })

  const secrets = (): string[] => Object.values(CANARY)

  /** Every process's argv, sampled while a run goes on (bounded: stops when the run ends). */
  async function watchArgv(until: Promise<unknown>): Promise<void> {
    let done = false
    void until.finally(() => (done = true))
    for (let i = 0; i < 3000 && !done; i++) {
      for (const pid of await readdir('/proc').catch(() => [] as string[])) {
        if (!/^\d+$/.test(pid)) continue
        const cmdline = await readFile(`/proc/${pid}/cmdline`, 'utf8').catch(() => '')
        if (cmdline) argvSeen.add(cmdline.replace(/\0/g, ' '))
      }
      await new Promise((resolve) => setTimeout(resolve, 100))
    }
  }

  async function clinical(name: string, args: string[], env: Record<string, string> = {}) {
    const running = runClinical(args, {
      env: {
        API_TOKEN: CANARY.apiToken,
        INFLUXDB_PASSWORD: CANARY.influx,
        SLACK_WEBHOOK_URL: receiver.url,
        GITHUB_ACTIONS: 'true',
        GITHUB_STEP_SUMMARY: summaryFile,
        GITHUB_REPOSITORY: 'acme/clinical',
        GITHUB_RUN_ID: '4242',
        CI: 'true',
        ...env,
      },
      timeoutMs: 240_000,
    })
    await Promise.all([running, watchArgv(running)])
    const result = await running
    outputs.push({run: name, text: `${result.stdout}\n${result.stderr}`})
    return result
  }

  function deployFlags(overrides: Record<string, string> = {}, extra: string[] = ['--json']): string[] {
    return deployArgs(stack, fixture, port, {'--env-file': envFile, '--require-env': 'APP_VERSION,GRAFANA_PASSWORD,INFLUXDB_PASSWORD', ...overrides}, extra)
  }

  it('a good deploy in GitHub Actions: masks first, a group per phase, the job summary; exit 0', async () => {
    const result = await clinical('good deploy', deployFlags({}, []), {APP_VERSION: 'v1', WEB_SCRIPT: webScript('good', port)})
    expect(result.exitCode, result.stderr + result.stdout).toBe(0)
    const lines = result.stdout.split('\n').filter(Boolean)
    const firstOther = lines.findIndex((line) => !line.startsWith('::add-mask::'))
    const lastMask = lines.findLastIndex((line) => line.startsWith('::add-mask::'))
    expect(firstOther).toBeGreaterThan(0)
    expect(lastMask).toBeLessThan(firstOther)
    const masked = lines.slice(0, firstOther).map((line) => line.slice('::add-mask::'.length))
    for (const secret of [CANARY.grafana, CANARY.certLine1, CANARY.certLine2, CANARY.volume, CANARY.apiToken, CANARY.influx, receiver.url]) {
      expect(masked, `mask for ${secret.slice(0, 12)}…`).toContain(secret)
    }
    expect(masked.some((value) => value.includes(CANARY.dbPassword))).toBe(true)
    expect(lines).toContain('::group::Preflight checks (nothing changes yet)')
    expect(lines.filter((line) => line.startsWith('::group::')).length).toBe(lines.filter((line) => line === '::endgroup::').length)
    expect(lines.filter((line) => line.startsWith('::group::')).length).toBeGreaterThanOrEqual(5)
    const summary = await readFile(summaryFile, 'utf8')
    expect(summary).toContain(`clinical deploy of ${stack} succeeded`)
    expect(summary).toMatch(/\| ✔ Converge.* \| passed \| \d+\.\ds \|/)
  })

  it('a failed deploy, rolled back: exit 1, an ::error:: annotation, still no secret', async () => {
    const result = await clinical('failed deploy', deployFlags(), {APP_VERSION: 'v2', WEB_SCRIPT: webScript('crash', port)})
    expect(result.exitCode, result.stderr + result.stdout).toBe(1)
    expect(JSON.parse(result.stdout).outcome).toBe('rolled-back')
    expect(result.stderr).toMatch(/^::error title=clinical deploy of .*::/m)
    expect(result.stderr).toMatch(/^::add-mask::/)
  })

  it('docker stack deploy fails quoting a secret (an undeclared volume named by the env file): redacted', async () => {
    const result = await clinical('stack deploy error', deployFlags({'--compose-file': brokenCompose}), {APP_VERSION: 'v1', WEB_SCRIPT: webScript('good', port)})
    expect(result.exitCode, result.stderr + result.stdout).toBe(1)
    const json = JSON.parse(result.stdout)
    expect(json.message).toMatch(/docker stack deploy of .* failed: .*undefined volume "\*\*\*"/)
  })

  it('Docker unreachable: exit 2, still no secret', async () => {
    const closed = await freePort()
    const result = await clinical('docker unreachable', deployFlags(), {APP_VERSION: 'v1', WEB_SCRIPT: webScript('good', port), DOCKER_HOST: `tcp://127.0.0.1:${closed}`})
    expect(result.exitCode, result.stderr + result.stdout).toBe(2)
    expect(result.stdout + result.stderr).toMatch(/Docker is not reachable/)
  })

  it('rollback, status, history: no secret either', async () => {
    const rollback = await clinical('rollback', ['rollback', '--stack', stack, '--backup-dir', fixture.backupDir, '--allow-root', '--json', '--timeout', '60s'])
    expect(rollback.exitCode, rollback.stderr + rollback.stdout).toBe(0)
    await clinical('status', ['status', '--stack', stack, '--json'])
    const history = await clinical('history', ['history', '--stack', stack, '--backup-dir', fixture.backupDir, '--json'])
    expect(JSON.parse(history.stdout).entries.map((entry: {command: string}) => entry.command)).toEqual(['rollback', 'deploy', 'deploy', 'deploy', 'deploy'])
  })

  it('no canary value anywhere: outputs, files written, Slack bodies, job summary, argv', async () => {
    const found: string[] = []
    const check = (where: string, text: string): void => {
      for (const secret of secrets()) if (text.includes(secret)) found.push(`${where}: ${secret}`)
    }
    // `::add-mask::<value>` lines are the one place a value must be written: the runner consumes them (never shown)
    const withoutMasks = (text: string): string => text.split('\n').filter((line) => !line.startsWith('::add-mask::')).join('\n')
    for (const output of outputs) check(`output of ${output.run}`, withoutMasks(output.text))
    check('Slack bodies', receiver.bodies.join('\n'))
    check('GITHUB_STEP_SUMMARY', await readFile(summaryFile, 'utf8'))
    for (const argv of argvSeen) check(`argv "${argv.slice(0, 60)}"`, argv)

    const specFiles: string[] = []
    for (const file of await walk(fixture.backupDir)) {
      const rel = relative(fixture.backupDir, file)
      if (/\/services\/[^/]+\.json$/.test(rel)) {
        specFiles.push(file)
        continue
      }
      const bytes = await readFile(file)
      check(rel, file.endsWith('.gz') ? gunzipSync(bytes).toString('latin1') : bytes.toString('utf8'))
    }
    expect(found).toEqual([])
    expect(outputs.length).toBe(7)
    expect(argvSeen.size).toBeGreaterThan(0)
    expect(receiver.bodies.length).toBeGreaterThanOrEqual(8)

    // the excluded spec files: private, and they do hold the container env (proof that the canary flowed)
    expect(specFiles.length).toBeGreaterThan(0)
    const specs = await Promise.all(specFiles.map((file) => readFile(file, 'utf8')))
    expect(specs.some((spec) => spec.includes(`GF_PASSWORD=${CANARY.grafana}`))).toBe(true)
    for (const file of specFiles) {
      expect((await stat(file)).mode & 0o777).toBe(0o600)
      expect((await stat(join(file, '..'))).mode & 0o777).toBe(0o700)
    }
  })
})

async function walk(dir: string): Promise<string[]> {
  const entries = await readdir(dir, {withFileTypes: true}).catch(() => [])
  const files: string[] = []
  for (const entry of entries) {
    const path = join(dir, entry.name)
    if (entry.isDirectory()) files.push(...(await walk(path)))
    else if (entry.isFile()) files.push(path)
  }
  return files
}
