import {spawnSync} from 'node:child_process'
import {hostname} from 'node:os'
import {MockAgent} from 'undici'
import {describe, expect, it} from 'vitest'
import {
  acquireStackLock,
  currentHolder,
  describeHolder,
  formatAge,
  holderFromConfig,
  holderRunning,
  LOCK_STACK_LABEL,
  lockConfigName,
  lockConfigSpec,
  lockedMessage,
  type LockHolder,
} from '../../../src/deploy/lock.js'
import {DockerClient} from '../../../src/docker/client.js'
import {STACK_NAMESPACE_LABEL} from '../../../src/docker/stack.js'
import type {SwarmConfig} from '../../../src/docker/types.js'

const CONFIG_NAME = /^[a-zA-Z0-9]+(?:[a-zA-Z0-9-_.]*[a-zA-Z0-9])?$/

const HOLDER: LockHolder = {
  stack: 'clinical-platform',
  command: 'clinical deploy',
  user: 'alice',
  host: 'mgr-1',
  pid: 4242,
  startedAt: '2026-11-22T06:01:02.345Z',
}

function asConfig(spec: {Name: string; Labels?: Record<string, string>; Data?: string}): SwarmConfig {
  return {ID: 'cfg1', Version: {Index: 1}, CreatedAt: '2026-11-22T06:01:03Z', UpdatedAt: '2026-11-22T06:01:03Z', Spec: spec}
}

describe('lockConfigName', () => {
  it('is clinical-lock-<stack> for ordinary stack names', () => {
    expect(lockConfigName('clinical-platform')).toBe('clinical-lock-clinical-platform')
  })

  it('hashes names that would pass the 64-character limit, and keeps them distinct', () => {
    const long = `a${'b'.repeat(80)}`
    const other = `a${'b'.repeat(79)}c`
    const name = lockConfigName(long)
    expect(name.length).toBeLessThanOrEqual(64)
    expect(name).toMatch(CONFIG_NAME)
    expect(name.startsWith('clinical-lock-abbb')).toBe(true)
    expect(lockConfigName(other)).not.toBe(name)
    expect(lockConfigName(long)).toBe(name)
  })

  it('gives a valid config name for stack names that end with a separator', () => {
    for (const stack of ['web-', 'web.', 'web_', `${'x'.repeat(49)}-`, `${'x'.repeat(50)}`]) {
      const name = lockConfigName(stack)
      expect(name, stack).toMatch(CONFIG_NAME)
      expect(name.length, stack).toBeLessThanOrEqual(64)
    }
    expect(lockConfigName('web-')).not.toBe(lockConfigName('web.'))
  })
})

describe('the lock config', () => {
  it('carries the lock label, never the stack namespace label, and the holder in Data and labels', () => {
    const spec = lockConfigSpec({...HOLDER, ciRunUrl: 'https://github.com/o/r/actions/runs/7'})
    expect(spec.Name).toBe('clinical-lock-clinical-platform')
    expect(spec.Labels[LOCK_STACK_LABEL]).toBe('clinical-platform')
    expect(spec.Labels[STACK_NAMESPACE_LABEL]).toBeUndefined()
    expect(spec.Labels['io.clinical.lock.host']).toBe('mgr-1')
    expect(JSON.parse(Buffer.from(spec.Data, 'base64').toString('utf8'))).toEqual({...HOLDER, ciRunUrl: 'https://github.com/o/r/actions/runs/7'})
  })

  it('reads the holder back from Data', () => {
    const spec = lockConfigSpec(HOLDER)
    expect(holderFromConfig(asConfig(spec), HOLDER.stack)).toEqual(HOLDER)
  })

  it('falls back to the labels when Data is not a holder', () => {
    const spec = lockConfigSpec(HOLDER)
    expect(holderFromConfig(asConfig({...spec, Data: Buffer.from('not json').toString('base64')}), HOLDER.stack)).toEqual(HOLDER)
  })

  it('still says something for a config with neither', () => {
    const holder = holderFromConfig(asConfig({Name: 'clinical-lock-x'}), 'x')
    expect(holder).toMatchObject({stack: 'x', command: 'unknown', user: 'unknown', host: 'unknown', pid: 0, startedAt: '2026-11-22T06:01:03Z'})
  })
})

describe('currentHolder', () => {
  it('is this process, with the CI run URL in GitHub Actions', () => {
    const now = new Date('2026-11-22T06:01:02Z')
    const env = {GITHUB_ACTIONS: 'true', GITHUB_SERVER_URL: 'https://github.example.com/', GITHUB_REPOSITORY: 'acme/clinical', GITHUB_RUN_ID: '991'}
    const holder = currentHolder({stack: 's', command: 'clinical rollback', env, now})
    expect(holder).toMatchObject({stack: 's', command: 'clinical rollback', host: hostname(), pid: process.pid, startedAt: '2026-11-22T06:01:02.000Z'})
    expect(holder.user).not.toBe('')
    expect(holder.ciRunUrl).toBe('https://github.example.com/acme/clinical/actions/runs/991')
  })

  it('has no CI run URL outside CI (githubRunUrl itself: test/unit/ci/ci-run.test.ts)', () => {
    expect(currentHolder({stack: 's', command: 'c', env: {}}).ciRunUrl).toBeUndefined()
  })
})

describe('describeHolder', () => {
  it('names command, user, host, pid, start (no milliseconds) and age', () => {
    expect(describeHolder(HOLDER, new Date('2026-11-22T06:04:30Z'))).toBe(
      'clinical deploy by alice@mgr-1 (pid 4242) since 2026-11-22T06:01:02Z (3m ago)',
    )
  })

  it('adds the CI run', () => {
    const text = describeHolder({...HOLDER, ciRunUrl: 'https://github.com/o/r/actions/runs/7'}, new Date('2026-11-22T06:01:12Z'))
    expect(text).toBe('clinical deploy by alice@mgr-1 (pid 4242) since 2026-11-22T06:01:02Z (9s ago), CI run https://github.com/o/r/actions/runs/7')
  })

  it('prints an unparsable start as it is', () => {
    expect(describeHolder({...HOLDER, startedAt: 'yesterday'})).toBe('clinical deploy by alice@mgr-1 (pid 4242) since yesterday')
  })

  it('formats ages', () => {
    expect(formatAge(-5000)).toBe('0s')
    expect(formatAge(59_999)).toBe('59s')
    expect(formatAge(60_000)).toBe('1m')
    expect(formatAge(2 * 3600_000)).toBe('2h')
    expect(formatAge(2 * 3600_000 + 5 * 60_000)).toBe('2h 5m')
    expect(formatAge(3 * 86_400_000 + 4 * 3600_000)).toBe('3d 4h')
  })
})

describe('stale locks', () => {
  it('a holder on this host whose process is gone is not running; this process is', () => {
    const gone = spawnSync(process.execPath, ['-e', '0']).pid
    expect(holderRunning({...HOLDER, host: hostname(), pid: gone})).toBe(false)
    expect(holderRunning({...HOLDER, host: hostname(), pid: process.pid})).toBe(true)
  })

  it('cannot tell for another host or no pid', () => {
    expect(holderRunning({...HOLDER, host: `${hostname()}-elsewhere`, pid: process.pid})).toBeUndefined()
    expect(holderRunning({...HOLDER, host: hostname(), pid: 0})).toBeUndefined()
  })

  it('the locked message names the holder and how to unlock, and says when it is stale', () => {
    const now = new Date('2026-11-22T06:04:30Z')
    expect(lockedMessage(HOLDER, {now})).toBe(
      'stack clinical-platform is locked by clinical deploy by alice@mgr-1 (pid 4242) since 2026-11-22T06:01:02Z (3m ago). If that run is gone (e.g. host rebooted), run: clinical unlock --stack clinical-platform',
    )
    const stale = lockedMessage(HOLDER, {now, running: false})
    expect(stale).toContain('no longer runs on this host (stale lock)')
    expect(stale).toContain('clinical unlock --stack clinical-platform')
    expect(stale).not.toContain('\n')
  })
})

describe('releasing the lock (fault injection with undici MockAgent: a daemon that restarts on cue)', () => {
  it('a Docker daemon restarting while the lock is released is waited out: the lock goes, no warning', async () => {
    const origin = 'http://docker.test'
    const mock = new MockAgent()
    mock.disableNetConnect()
    const engine = mock.get(origin)
    engine.intercept({path: '/_ping', method: 'GET'}).reply(200, 'OK', {headers: {'api-version': '1.41'}})
    engine.intercept({path: '/v1.41/configs/create', method: 'POST'}).reply(201, {ID: 'cfg1'})
    engine.intercept({path: '/v1.41/configs/cfg1', method: 'DELETE'}).reply(500, {message: 'rpc error: code = Unavailable'})
    engine
      .intercept({path: '/v1.41/configs/cfg1', method: 'DELETE'})
      .replyWithError(Object.assign(new Error('connect ECONNREFUSED'), {code: 'ECONNREFUSED'}))
    engine.intercept({path: '/v1.41/configs/cfg1', method: 'DELETE'}).reply(204, '')
    const docker = new DockerClient({dispatcher: mock, endpoint: {kind: 'tcp', origin, display: 'tcp://docker.test:2375'}})
    const warnings: string[] = []
    try {
      const lock = await acquireStackLock(docker, {stack: 's', command: 'clinical deploy', onWarning: (message) => warnings.push(message)})
      await lock.release()
      expect(warnings).toEqual([])
      mock.assertNoPendingInterceptors()
    } finally {
      await mock.close()
    }
  })

  it('a create whose answer is lost (the connection cut after the daemon took it) removes the lock it made, then fails', async () => {
    const origin = 'http://docker.test'
    const mock = new MockAgent()
    mock.disableNetConnect()
    const engine = mock.get(origin)
    engine.intercept({path: '/_ping', method: 'GET'}).reply(200, 'OK', {headers: {'api-version': '1.41'}})
    let created: {Name: string; Labels: Record<string, string>; Data: string} | undefined
    engine.intercept({path: '/v1.41/configs/create', method: 'POST', body: (body) => ((created = JSON.parse(body)), true)})
      .replyWithError(Object.assign(new Error('other side closed'), {code: 'UND_ERR_SOCKET'}))
    engine
      .intercept({path: (path) => path.startsWith('/v1.41/configs/clinical-lock-s'), method: 'GET'})
      .reply(() => ({statusCode: 200, data: JSON.stringify(asConfig(created!))}))
    engine.intercept({path: '/v1.41/configs/cfg1', method: 'DELETE'}).reply(204, '')
    const docker = new DockerClient({dispatcher: mock, endpoint: {kind: 'tcp', origin, display: 'tcp://docker.test:2375'}})
    try {
      await expect(acquireStackLock(docker, {stack: 's', command: 'clinical deploy'})).rejects.toThrow(/not reachable|other side closed/)
      mock.assertNoPendingInterceptors()
    } finally {
      await mock.close()
    }
  })
})
