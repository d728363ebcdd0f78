import {spawnSync} from 'node:child_process'
import {hostname} from 'node:os'
import {afterAll, afterEach, beforeAll, expect, it} from 'vitest'
import {
  acquireStackLock,
  currentHolder,
  LOCK_STACK_LABEL,
  lockConfigName,
  lockConfigSpec,
  readStackLock,
  removeStackLock,
} from '../../src/deploy/lock.js'
import {DockerClient} from '../../src/docker/client.js'
import {stackFilter} from '../../src/docker/stack.js'
import {LockedError} from '../../src/errors.js'
import {ExitCode} from '../../src/exit-codes.js'
import {describeOnSwarm, runClinical, uniqueStackName} from '../helpers/swarm.js'

describeOnSwarm('stack lock on the real swarm', () => {
  let docker: DockerClient
  const stacks: string[] = []
  const newStack = (): string => {
    const stack = uniqueStackName('lk')
    stacks.push(stack)
    return stack
  }

  beforeAll(() => {
    docker = new DockerClient()
  })

  // lock configs do not carry the stack label (removeStack would not find them): remove them by name
  afterEach(async () => {
    for (const stack of stacks.splice(0)) await removeStackLock(docker, stack).catch(() => undefined)
  })

  afterAll(async () => {
    await docker.close()
  })

  it('a held lock stops a second acquire at once, naming the holder; after release it can be taken again', async () => {
    const stack = newStack()
    const lock = await acquireStackLock(docker, {stack, command: 'clinical deploy'})
    expect(lock.holder).toMatchObject({stack, command: 'clinical deploy', host: hostname(), pid: process.pid})
    expect(await readStackLock(docker, stack)).toEqual(lock.holder)

    const error = await acquireStackLock(docker, {stack, command: 'clinical rollback'}).then(
      () => undefined,
      (failure: unknown) => failure,
    )
    expect(error).toBeInstanceOf(LockedError)
    expect((error as LockedError).exitCode).toBe(ExitCode.Locked)
    const message = (error as LockedError).message
    expect(message).toContain(`stack ${stack} is locked by clinical deploy by ${lock.holder.user}@${hostname()} (pid ${process.pid})`)
    expect(message).toContain(`clinical unlock --stack ${stack}`)
    expect(message).not.toContain('stale')

    await lock.release()
    await lock.release() // idempotent
    expect(await readStackLock(docker, stack)).toBeUndefined()
    const again = await acquireStackLock(docker, {stack, command: 'clinical rollback'})
    expect((await readStackLock(docker, stack))?.command).toBe('clinical rollback')
    await again.release()
  })

  it('of acquires racing in parallel, exactly one wins', async () => {
    const stack = newStack()
    const results = await Promise.allSettled(Array.from({length: 6}, (_, i) => acquireStackLock(docker, {stack, command: `racer ${i}`})))
    const won = results.filter((result) => result.status === 'fulfilled')
    const lost = results.filter((result) => result.status === 'rejected')
    expect(won).toHaveLength(1)
    expect(lost).toHaveLength(5)
    for (const result of lost) expect((result as PromiseRejectedResult).reason).toBeInstanceOf(LockedError)
    const winner = (won[0] as PromiseFulfilledResult<Awaited<ReturnType<typeof acquireStackLock>>>).value
    expect((await readStackLock(docker, stack))?.command).toBe(winner.holder.command)
    await winner.release()
  })

  it('the lock config carries the lock label, not the stack namespace label (docker stack rm leaves it)', async () => {
    const stack = newStack()
    const lock = await acquireStackLock(docker, {stack, command: 'clinical deploy'})
    const byLockLabel = await docker.listConfigs({filters: {label: [`${LOCK_STACK_LABEL}=${stack}`]}})
    expect(byLockLabel.map((config) => config.Spec.Name)).toEqual([lockConfigName(stack)])
    expect(await docker.listConfigs({filters: stackFilter(stack)})).toEqual([])
    await lock.release()
  })

  it('a lock left by a dead process on this host is called stale', async () => {
    const stack = newStack()
    const deadPid = spawnSync(process.execPath, ['-e', '0']).pid
    const holder = {...currentHolder({stack, command: 'clinical deploy'}), pid: deadPid}
    await docker.createConfig(lockConfigSpec(holder))
    const error = await acquireStackLock(docker, {stack, command: 'clinical deploy'}).catch((failure: unknown) => failure)
    expect(error).toBeInstanceOf(LockedError)
    expect((error as Error).message).toContain(`(pid ${deadPid})`)
    expect((error as Error).message).toContain('no longer runs on this host (stale lock)')
    expect((error as Error).message).toContain(`clinical unlock --stack ${stack}`)
  })

  it('release after a forced unlock leaves the new holder alone', async () => {
    const stack = newStack()
    const warnings: string[] = []
    const first = await acquireStackLock(docker, {stack, command: 'first', onWarning: (warning) => warnings.push(warning)})
    expect((await removeStackLock(docker, stack))?.command).toBe('first')
    const second = await acquireStackLock(docker, {stack, command: 'second'})
    await first.release()
    expect(warnings).toEqual([])
    expect((await readStackLock(docker, stack))?.command).toBe('second')
    await second.release()
    expect(await readStackLock(docker, stack)).toBeUndefined()
  })

  it('an acquire aborted before it starts takes no lock', async () => {
    const stack = newStack()
    const controller = new AbortController()
    controller.abort(new Error('interrupted'))
    await expect(acquireStackLock(docker, {stack, command: 'clinical deploy', signal: controller.signal})).rejects.toThrow('interrupted')
    expect(await readStackLock(docker, stack)).toBeUndefined()
  })

  it('clinical unlock shows the holder and removes the lock; with no lock it says so (exit 0 both)', async () => {
    const stack = newStack()
    const lock = await acquireStackLock(docker, {stack, command: 'clinical deploy'})
    const unlocked = await runClinical(['unlock', '--stack', stack])
    expect(unlocked.stderr).toContain('still runs on this host') // the holder is this test process
    expect(unlocked.exitCode).toBe(0)
    expect(unlocked.stdout.trim()).toMatch(
      new RegExp(`^removed the lock of stack ${stack}, held by clinical deploy by ${lock.holder.user}@${hostname()} \\(pid ${process.pid}\\) since \\S+Z \\(\\d+s ago\\)$`),
    )
    expect(await readStackLock(docker, stack)).toBeUndefined()
    await lock.release() // gone already: no throw

    const none = await runClinical(['unlock', '--stack', stack])
    expect(none).toMatchObject({exitCode: 0, stderr: ''})
    expect(none.stdout.trim()).toBe(`no lock held on stack ${stack}`)

    const dead = {...currentHolder({stack, command: 'clinical rollback'}), pid: spawnSync(process.execPath, ['-e', '0']).pid}
    await docker.createConfig(lockConfigSpec(dead))
    const json = await runClinical(['unlock', '--stack', stack, '--json'])
    expect(json.exitCode).toBe(0)
    expect(JSON.parse(json.stdout)).toEqual({stack, removed: true, holder: dead, holderRunning: false})
    expect(await readStackLock(docker, stack)).toBeUndefined()
  })
})
