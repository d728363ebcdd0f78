import {execFile} from 'node:child_process'
import {chmodSync, existsSync, mkdirSync, mkdtempSync, readFileSync, writeFileSync} from 'node:fs'
import {tmpdir} from 'node:os'
import {join} from 'node:path'
import {promisify} from 'node:util'
import {describe, expect, it} from 'vitest'
import {parse} from 'yaml'

const run = promisify(execFile)
const ROOT = join(import.meta.dirname, '..', '..', '..')

interface Step {
  name?: string
  run?: string
}

function deployScript(): string {
  const workflow = parse(readFileSync(join(ROOT, '.github', 'workflows', 'deploy.yml'), 'utf8')) as {jobs: {deploy: {steps: Step[]}}}
  const step = workflow.jobs.deploy.steps.find((candidate) => candidate.name === 'clinical deploy on the manager')
  if (!step?.run) throw new Error('deploy.yml: no step "clinical deploy on the manager"')
  return step.run
}

describe('.github/workflows/deploy.yml', () => {
  it('names no predictable summary file on the manager', () => {
    const script = deployScript()
    expect(script).not.toMatch(/\/tmp\/clinical-summary-\$\{?GITHUB_RUN/)
    expect(script).toContain('mktemp')
  })

  it('runs clinical with a job summary file made by mktemp (0600), fetches and removes it, no secret on a command line', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'clinical-workflow-'))
    const manager = join(dir, 'manager-tmp')
    const bin = join(dir, 'bin')
    for (const path of [manager, bin]) mkdirSync(path)
    const argvLog = join(dir, 'argv.log')
    // a fake ssh: logs its argv, runs the remote command here (the "manager" is this host, TMPDIR its /tmp)
    writeFileSync(
      join(bin, 'ssh'),
      `#!/usr/bin/env bash\nprintf '%s\\n' "$*" >> '${argvLog}'\nremote="\${@: -1}"\nexport TMPDIR='${manager}'\nexec bash -c "$remote"\n`,
    )
    // a fake clinical: writes its summary and records the mode of the file
    writeFileSync(
      join(bin, 'clinical'),
      `#!/usr/bin/env bash\nstat -c %a "$GITHUB_STEP_SUMMARY" > '${join(dir, 'mode')}'\nprintf '%s' "$GITHUB_STEP_SUMMARY" > '${join(dir, 'summary-path')}'\necho '## deployed' >> "$GITHUB_STEP_SUMMARY"\nexit 0\n`,
    )
    chmodSync(join(bin, 'ssh'), 0o755)
    chmodSync(join(bin, 'clinical'), 0o755)
    const localSummary = join(dir, 'step-summary.md')
    writeFileSync(localSummary, '')
    const secrets = {GRAFANA_PASSWORD: 'grafana-Wf-secret', INFLUXDB_PASSWORD: 'influx-Wf-secret', SLACK_WEBHOOK_URL: 'https://hooks.slack.com/services/T/B/Wf-secret'}
    const {stdout} = await run('bash', ['-c', deployScript()], {
      env: {
        PATH: `${bin}:${process.env.PATH ?? ''}`,
        HOME: dir,
        MANAGER: 'deploy@manager',
        DOMAIN: 'example.org',
        STACK: 'clinical-platform',
        APP_VERSION: '2.4.0',
        ...secrets,
        GITHUB_SERVER_URL: 'https://github.com',
        GITHUB_REPOSITORY: 'acme/clinical',
        GITHUB_RUN_ID: '77',
        GITHUB_RUN_ATTEMPT: '1',
        GITHUB_STEP_SUMMARY: localSummary,
      },
      timeout: 30_000,
    })
    expect(stdout).toContain('clinical deploy of clinical-platform: deployed 2.4.0')
    const remotePath = readFileSync(join(dir, 'summary-path'), 'utf8')
    expect(remotePath.startsWith(`${manager}/clinical-summary.`)).toBe(true)
    expect(remotePath).not.toContain('77')
    expect(readFileSync(join(dir, 'mode'), 'utf8').trim()).toBe('600')
    expect(readFileSync(localSummary, 'utf8')).toContain('## deployed')
    expect(existsSync(remotePath)).toBe(false)
    const argv = readFileSync(argvLog, 'utf8')
    for (const secret of Object.values(secrets)) expect(argv).not.toContain(secret)
  })
})
