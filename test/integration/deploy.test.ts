/**
 * `clinical deploy` and `clinical rollback` on the real local swarm, run as a user runs them (the built CLI).
 * The stack: `web` (busybox httpd on a free 127.0.0.1 port; /www/version holds the image tag) and `worker`.
 * WEB_SCRIPT picks the behaviour of a release: good, crashing at once, or serving without its health file.
 */
import {existsSync, mkdirSync, readdirSync, readFileSync} from 'node:fs'
import {mkdtemp, rm} from 'node:fs/promises'
import {tmpdir} from 'node:os'
import {join} from 'node:path'
import {execFile, spawn} from 'node:child_process'
import {request} from 'undici'
import {afterAll, beforeAll, expect, it} from 'vitest'
import {DockerClient} from '../../src/docker/client.js'
import {stackFilter} from '../../src/docker/stack.js'
import {verifyBackup} from '../../src/backup/verify-backup.js'
import {readStackLock} from '../../src/deploy/lock.js'
import {releaseCompose, type Release, webScript} from '../helpers/release-stack.js'
import {describeOnSwarm, freePort, removeStack, runClinical, uniqueStackName, writeComposeFile} from '../helpers/swarm.js'

async function servedVersion(port: number): Promise<string | undefined> {
  try {
    const response = await request(`http://127.0.0.1:${port}/version`, {headersTimeout: 2000, bodyTimeout: 2000})
    const text = (await response.body.text()).trim()
    return response.statusCode === 200 ? text : undefined
  } catch {
    return undefined
  }
}

async function specsOf(docker: DockerClient, stack: string): Promise<Record<string, unknown>> {
  const services = await docker.listServices({filters: stackFilter(stack)})
  return Object.fromEntries(
    services.map((service) => {
      const {TaskTemplate, ...rest} = service.Spec
      const {ForceUpdate: _force, ...template} = TaskTemplate
      return [service.Spec.Name, {...rest, TaskTemplate: template}]
    }),
  )
}

describeOnSwarm('clinical deploy and rollback on a real swarm', () => {
  const docker = new DockerClient()
  const stack = uniqueStackName('dep')
  let port = 0
  let work = ''
  let composeFile = ''
  let cleanupCompose: () => Promise<void> = async () => {}

  beforeAll(async () => {
    port = await freePort()
    work = await mkdtemp(join(tmpdir(), 'clinical-deploy-'))
    mkdirSync(join(work, 'config'))
    const compose = await writeComposeFile(releaseCompose())
    composeFile = compose.file
    cleanupCompose = compose.cleanup
  })

  afterAll(async () => {
    await removeStack(docker, stack)
    await docker.close()
    await cleanupCompose()
    await rm(work, {recursive: true, force: true})
  })

  /** The flags of every deploy here; `overrides` replaces a flag's value (each flag is given once). */
  function deployArgs(overrides: Record<string, string> = {}): string[] {
    const flags: Record<string, string> = {
      '--stack': stack,
      '--compose-file': composeFile,
      '--backup-dir': join(work, 'backups'),
      '--config-dir': join(work, 'config'),
      '--require-env': 'APP_VERSION,GRAFANA_PASSWORD',
      '--min-free-disk': '1MB',
      '--health-url': `http://127.0.0.1:${port}/healthy`,
      '--app-probe-url': `http://127.0.0.1:${port}/version`,
      '--app-probe': 'fail',
      '--resolve-image': 'never',
      '--timeout': '60s',
      ...overrides,
    }
    return ['deploy', ...Object.entries(flags).flat(), '--allow-root', '--json']
  }

  function deploy(version: string, release: Release, overrides: Record<string, string> = {}, env: Record<string, string> = {}) {
    return runClinical(deployArgs(overrides), {
      env: {APP_VERSION: version, WEB_SCRIPT: webScript(release, port), GRAFANA_PASSWORD: 'canary-grafana-pw-123', CI: 'true', ...env},
      timeoutMs: 240_000,
    })
  }

  it('refuses bad input with exit 2 before anything changes', async () => {
    const missingCompose = await runClinical(deployArgs({'--compose-file': join(work, 'nope.yml')}), {env: {APP_VERSION: 'v1', GRAFANA_PASSWORD: 'x'}})
    expect(missingCompose.exitCode).toBe(2)
    expect(missingCompose.stdout + missingCompose.stderr).toContain('nope.yml')

    const missingEnv = await runClinical(deployArgs(), {env: {APP_VERSION: 'v1', GRAFANA_PASSWORD: ''}})
    expect(missingEnv.exitCode).toBe(2)
    expect(missingEnv.stdout + missingEnv.stderr).toContain('GRAFANA_PASSWORD')

    const noDocker = await runClinical(deployArgs(), {env: {APP_VERSION: 'v1', GRAFANA_PASSWORD: 'x', DOCKER_HOST: 'unix:///nonexistent.sock'}})
    expect(noDocker.exitCode).toBe(2)
    expect(noDocker.stdout + noDocker.stderr).toMatch(/Docker is not reachable/)

    const noDisk = await runClinical(deployArgs({'--min-free-disk': '1PB'}), {env: {APP_VERSION: 'v1', GRAFANA_PASSWORD: 'x'}})
    expect(noDisk.exitCode).toBe(2)
    expect(noDisk.stdout + noDisk.stderr).toMatch(/not enough free disk/)

    const badFlag = await runClinical(deployArgs({'--timeout': 'soon'}), {env: {APP_VERSION: 'v1', GRAFANA_PASSWORD: 'x'}})
    expect(badFlag.exitCode).toBe(2)

    expect(await docker.listServices({filters: stackFilter(stack)})).toEqual([])
    expect(await readStackLock(docker, stack)).toBeUndefined()
  })

  it('a failed first deploy is rolled back to nothing: exit 1, no services left', async () => {
    const result = await deploy('v1', 'crash')
    expect(result.exitCode, result.stderr + result.stdout).toBe(1)
    const json = JSON.parse(result.stdout)
    expect(json.outcome).toBe('rolled-back')
    expect(json.failingServices.map((failure: {error: string}) => failure.error).join(' ')).toContain('non-zero exit (3)')
    expect(await docker.listServices({filters: stackFilter(stack)})).toEqual([])
  })

  it('a good deploy converges, passes the probes and leaves a verified backup → 0', async () => {
    const result = await deploy('v1', 'good')
    expect(result.exitCode, result.stderr + result.stdout).toBe(0)
    const json = JSON.parse(result.stdout)
    expect(json.outcome).toBe('success')
    expect(await servedVersion(port)).toBe('v1')
    const backupDir = join(work, 'backups', stack, json.backupId)
    expect(existsSync(join(backupDir, 'manifest.json'))).toBe(true)
    expect((await verifyBackup(backupDir)).ok).toBe(true)
    expect(await readStackLock(docker, stack)).toBeUndefined()
    expect(result.stdout + result.stderr).not.toContain('canary-grafana-pw-123')
  })

  it('an update whose new task exits at once → exit 1, every spec as before, v1 serving again', async () => {
    const before = await specsOf(docker, stack)
    const result = await deploy('v2', 'crash')
    expect(result.exitCode, result.stderr + result.stdout).toBe(1)
    const json = JSON.parse(result.stdout)
    expect(json.failingServices.map((failure: {error: string}) => failure.error).join(' ')).toContain('non-zero exit (3)')
    expect(typeof json.detectionToRollbackSeconds).toBe('number')
    console.log(`[measure] first failed task → rollback started: ${json.detectionToRollbackSeconds}s`)
    expect(await specsOf(docker, stack)).toEqual(before)
    expect(await servedVersion(port)).toBe('v1')
    expect(result.stdout + result.stderr).not.toContain('canary-grafana-pw-123')
  })

  it('an update that runs but fails its health URL → exit 1, restored', async () => {
    const before = await specsOf(docker, stack)
    const result = await deploy('v2', 'unhealthy', {'--timeout': '30s'})
    expect(result.exitCode, result.stderr + result.stdout).toBe(1)
    expect(JSON.parse(result.stdout).message).toMatch(/health/)
    expect(await specsOf(docker, stack)).toEqual(before)
    expect(await servedVersion(port)).toBe('v1')
  })

  it('two deploys at once: the second exits 3 within seconds naming the holder; the first completes; no lock after', async () => {
    const first = deploy('v2', 'good')
    // wait until the first holds the lock (bounded)
    for (let i = 0; i < 100 && !(await readStackLock(docker, stack)); i++) await new Promise((r) => setTimeout(r, 100))
    const startedAt = Date.now()
    const second = await deploy('v2', 'good')
    const secondSeconds = (Date.now() - startedAt) / 1000
    expect(second.exitCode, second.stderr + second.stdout).toBe(3)
    expect(second.stdout + second.stderr).toMatch(/locked by/)
    expect(secondSeconds).toBeLessThan(30)
    const firstResult = await first
    expect(firstResult.exitCode, firstResult.stderr + firstResult.stdout).toBe(0)
    expect(await servedVersion(port)).toBe('v2')
    expect(await readStackLock(docker, stack)).toBeUndefined()
  })

  it('after a good v2, clinical rollback brings back the v1 specs (exit 0); --to an older backup works', async () => {
    const backupsDir = join(work, 'backups')
    const list = () =>
      readdirSorted(join(backupsDir, stack)).filter((id) => existsSync(join(backupsDir, stack, id, 'manifest.json')))
    const v1Backup = list().at(-1)! // taken by the v2 deploy: holds v1
    const result = await runClinical(['rollback', '--stack', stack, '--backup-dir', backupsDir, '--allow-root', '--json'], {env: {CI: 'true'}, timeoutMs: 180_000})
    expect(result.exitCode, result.stderr + result.stdout).toBe(0)
    expect(JSON.parse(result.stdout).backupId).toBe(v1Backup)
    expect(await servedVersion(port)).toBe('v1')

    const unknown = await runClinical(['rollback', '--stack', stack, '--backup-dir', backupsDir, '--to', '19990101-000000', '--allow-root'], {env: {CI: 'true'}})
    expect(unknown.exitCode).toBe(2)
    expect(unknown.stderr).toContain(v1Backup)

    const oldest = list()[0]!
    const toOldest = await runClinical(['rollback', '--stack', stack, '--backup-dir', backupsDir, '--to', oldest, '--allow-root', '--json'], {env: {CI: 'true'}, timeoutMs: 180_000})
    expect(toOldest.exitCode, toOldest.stderr + toOldest.stdout).toBe(0)
    expect(JSON.parse(toOldest.stdout).backupId).toBe(oldest)
  })

  it('SIGINT during converge → rolled back, lock released, exit 130', async () => {
    await deploy('v1', 'good') // a known state: v1 serving
    const before = await specsOf(docker, stack)
    const bin = join(import.meta.dirname, '..', '..', 'bin', 'run.js')
    const child = execFile(process.execPath, [bin, ...deployArgs({'--timeout': '120s'})], {
      env: {...process.env, APP_VERSION: 'v2', WEB_SCRIPT: 'sleep 3600', GRAFANA_PASSWORD: 'x', CI: 'true'},
      timeout: 240_000,
    })
    let stderr = ''
    child.stderr?.on('data', (chunk) => (stderr += chunk))
    const exitCode = await new Promise<number | null>((resolve) => {
      let sent = false
      child.stderr?.on('data', () => {
        if (!sent && /Converge/.test(stderr)) {
          sent = true
          setTimeout(() => child.kill('SIGINT'), 1500)
        }
      })
      child.on('exit', (code) => resolve(code))
    })
    expect(exitCode, stderr).toBe(130)
    expect(await specsOf(docker, stack)).toEqual(before)
    expect(await readStackLock(docker, stack)).toBeUndefined()
    expect(await servedVersion(port)).toBe('v1')
  })

  /** Start a deploy of v2 as a child process; `onStderr` sees its output so far and may signal it. */
  function startDeploy(overrides: Record<string, string>, webScriptV2: string) {
    const bin = join(import.meta.dirname, '..', '..', 'bin', 'run.js')
    return spawn(process.execPath, [bin, ...deployArgs(overrides)], {
      env: {...process.env, APP_VERSION: 'v2', WEB_SCRIPT: webScriptV2, GRAFANA_PASSWORD: 'x', CI: 'true'},
      stdio: ['ignore', 'pipe', 'pipe'],
      timeout: 240_000,
    })
  }

  it('SIGHUP with stdout and stderr gone (a dropped SSH session) → still rolled back, lock released, exit 130', async () => {
    await deploy('v1', 'good')
    const before = await specsOf(docker, stack)
    const child = startDeploy({'--timeout': '120s'}, 'sleep 3600')
    let stderr = ''
    const exitCode = await new Promise<number | null>((resolve) => {
      child.stderr.on('data', (chunk) => {
        stderr += chunk
        if (/Converge/.test(stderr) && !child.stdout.destroyed) {
          // the terminal goes away: every later write of the child fails (EPIPE), then the hangup arrives
          child.stdout.destroy()
          child.stderr.destroy()
          setTimeout(() => child.kill('SIGHUP'), 1000)
        }
      })
      child.on('exit', (code) => resolve(code))
    })
    // its output is gone: the audit trail says how it ended
    const history = readFileSync(join(work, 'backups', stack, 'history.jsonl'), 'utf8').trim().split('\n')
    expect(exitCode, history.at(-1)).toBe(130)
    expect(JSON.parse(history.at(-1)!)).toMatchObject({command: 'deploy', exitCode: 130})
    expect(await specsOf(docker, stack)).toEqual(before)
    expect(await readStackLock(docker, stack)).toBeUndefined()
    expect(await servedVersion(port)).toBe('v1')
  })

  it('SIGINT while an app probe in warn mode waits → rolled back and exit 130, never "deployed"', async () => {
    const before = await specsOf(docker, stack)
    const closedPort = await freePort()
    const child = startDeploy({'--app-probe': 'warn', '--app-probe-url': `http://127.0.0.1:${closedPort}/app`, '--timeout': '30s'}, webScript('good', port))
    let stderr = ''
    let stdout = ''
    child.stdout.on('data', (chunk) => (stdout += chunk))
    const exitCode = await new Promise<number | null>((resolve) => {
      let sent = false
      child.stderr.on('data', (chunk) => {
        stderr += chunk
        if (!sent && /App start-up probe/.test(stderr)) {
          sent = true
          setTimeout(() => child.kill('SIGINT'), 1500)
        }
      })
      child.on('exit', (code) => resolve(code))
    })
    expect(exitCode, stderr).toBe(130)
    expect(JSON.parse(stdout)).toMatchObject({outcome: 'interrupted', exitCode: 130})
    expect(await specsOf(docker, stack)).toEqual(before)
    expect(await readStackLock(docker, stack)).toBeUndefined()
    expect(await servedVersion(port)).toBe('v1')
  })

  it('failure_action: rollback — Swarm undoes the crashing update itself; clinical still ends healthy on the old specs: exit 1', async () => {
    const own = await writeComposeFile(releaseCompose({}, {failureAction: 'rollback'}))
    try {
      const good = await deploy('v1', 'good', {'--compose-file': own.file})
      expect(good.exitCode, good.stderr).toBe(0)
      const before = await specsOf(docker, stack)
      const crash = await deploy('v2', 'crash', {'--compose-file': own.file})
      expect(crash.exitCode, crash.stderr + crash.stdout).toBe(1)
      const result = JSON.parse(crash.stdout) as {outcome: string; failingServices: Array<{error: string}>}
      expect(result.outcome).toBe('rolled-back')
      expect(JSON.stringify(result.failingServices)).toMatch(/rolled the update back|non-zero exit \(3\)/)
      expect(await specsOf(docker, stack)).toEqual(before)
      expect(await servedVersion(port)).toBe('v1')
      const services = await docker.listServices({filters: stackFilter(stack)})
      expect(services.map((service) => service.UpdateStatus?.State ?? null).filter((state) => state?.startsWith('rollback'))).toEqual([])
    } finally {
      await own.cleanup()
    }
  })
})

function readdirSorted(dir: string): string[] {
  return existsSync(dir) ? readdirSync(dir).sort() : []
}
