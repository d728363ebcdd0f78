import {describe, expect, it} from 'vitest'
import {withHelperContainer} from '../../../src/backup/helper-container.js'
import type {DockerClient} from '../../../src/docker/client.js'
import {DockerApiError, DockerNotFoundError} from '../../../src/docker/errors.js'

const HELPER_ID = 'a'.repeat(64)

/**
 * A daemon without a daemon: it creates the container as soon as the create request arrives, then answers after
 * `createDelayMs` (or fails with `createFails`), honouring the request's signal as undici does: an abort half-way
 * loses the answer, not the container. `removeFails` makes every removal fail with HTTP 500.
 */
function fakeDaemon(options: {createDelayMs?: number; createFails?: Error; removeFails?: boolean} = {}) {
  const containers = new Map<string, string>() // id → name
  const createSignals: Array<AbortSignal | undefined> = []
  const docker = {
    inspectImage: async () => ({}),
    createContainer: async (_body: unknown, request: {name?: string; signal?: AbortSignal} = {}) => {
      createSignals.push(request.signal)
      containers.set(HELPER_ID, request.name ?? '')
      await new Promise<void>((resolve, reject) => {
        const timer = setTimeout(resolve, options.createDelayMs ?? 0)
        request.signal?.addEventListener('abort', () => {
          clearTimeout(timer)
          reject(request.signal!.reason)
        })
      })
      if (options.createFails) throw options.createFails
      return {Id: HELPER_ID, Warnings: []}
    },
    removeContainer: async (idOrName: string) => {
      if (options.removeFails) throw new DockerApiError(500, 'DELETE', `/containers/${idOrName}`, 'device or resource busy')
      const id = [...containers].find(([id, name]) => id === idOrName || name === idOrName)?.[0]
      if (id === undefined) throw new DockerNotFoundError(404, 'DELETE', `/containers/${idOrName}`, 'no such container')
      containers.delete(id)
    },
  }
  return {docker: docker as unknown as DockerClient, containers, createSignals}
}

describe('withHelperContainer', () => {
  it('does not give the run signal to the create: an abort during it is seen right after, and the helper removed', async () => {
    const daemon = fakeDaemon({createDelayMs: 50})
    const controller = new AbortController()
    setTimeout(() => controller.abort(new Error('interrupted by SIGINT')), 10)
    let used = false
    const attempt = withHelperContainer(daemon.docker, {volume: 'shop_data', readOnly: true, signal: controller.signal}, async () => {
      used = true
    })
    await expect(attempt).rejects.toThrow('interrupted by SIGINT')
    expect(used).toBe(false)
    expect(daemon.createSignals[0]).not.toBe(controller.signal)
    expect(daemon.containers.size).toBe(0)
  })

  it('removes a helper by its name when the create failed after the daemon made it (answer lost)', async () => {
    const daemon = fakeDaemon({createFails: new Error('Headers Timeout Error')})
    const attempt = withHelperContainer(daemon.docker, {volume: 'shop_data', readOnly: true}, async () => 'never')
    await expect(attempt).rejects.toThrow('Headers Timeout Error')
    expect(daemon.containers.size).toBe(0)
  })

  it('after a successful use, a helper that cannot be removed is a warning naming it and docker rm -f, not a failure', async () => {
    const daemon = fakeDaemon({removeFails: true})
    const warnings: string[] = []
    const result = await withHelperContainer(
      daemon.docker,
      {volume: 'shop_data', readOnly: false, onWarning: (message) => warnings.push(message)},
      async () => 'restored',
    )
    expect(result).toBe('restored')
    expect(warnings).toHaveLength(1)
    expect(warnings[0]).toMatch(/^volume shop_data: could not remove the helper container aaaaaaaaaaaa: .*device or resource busy; remove it with: docker rm -f aaaaaaaaaaaa$/)
  })

  it('after a failed use, the failure of use is what is thrown, whatever the removal does', async () => {
    const daemon = fakeDaemon({removeFails: true})
    const warnings: string[] = []
    const attempt = withHelperContainer(daemon.docker, {volume: 'shop_data', readOnly: false, onWarning: (message) => warnings.push(message)}, async () => {
      throw new Error('PUT refused')
    })
    await expect(attempt).rejects.toThrow('PUT refused')
    expect(warnings).toEqual([])
  })
})
