import {randomBytes} from 'node:crypto'
import type {DockerClient} from '../docker/client.js'
import {DockerNotFoundError} from '../docker/errors.js'
import {HELPER_FILE, HELPER_IMAGE, ensureHelperImage} from './helper-image.js'

/** Label of every helper container, so a restore recognises leftovers of a killed run as clinical's own. */
export const HELPER_LABEL = 'io.clinical.volume-helper'
/** Where the volume is mounted inside the helper. */
export const HELPER_MOUNT = '/data'
const REMOVE_TIMEOUT_MS = 15_000

/** The body of `POST /containers/create` for a helper mounting one volume (pure). */
export function helperContainerSpec(volume: string, options: {readOnly: boolean}): Record<string, unknown> {
  return {
    Image: HELPER_IMAGE,
    Cmd: [`/${HELPER_FILE}`],
    Labels: {[HELPER_LABEL]: 'true', [`${HELPER_LABEL}.volume`]: volume},
    NetworkDisabled: true,
    HostConfig: {
      NetworkMode: 'none',
      Mounts: [{Type: 'volume', Source: volume, Target: HELPER_MOUNT, ReadOnly: options.readOnly, VolumeOptions: {NoCopy: true}}],
    },
  }
}

/** The create request gets its own bound, not the run's signal (see withHelperContainer). */
const CREATE_TIMEOUT_MS = 60_000

/** A fresh name for a helper, so that one whose create answer was lost can still be found and removed. */
export function helperContainerName(): string {
  return `clinical-volume-helper-${randomBytes(6).toString('hex')}`
}

export interface HelperContainerOptions {
  volume: string
  readOnly: boolean
  /** The run's signal: checked before and right after the create (never given to it), and passed on to `use` by the caller. */
  signal?: AbortSignal
  /** Told when the helper could not be removed after a successful `use` (default: a line on stderr). */
  onWarning?: (message: string) => void
}

/**
 * Create a helper container mounting `volume` at /data (never started), run `use` with its id, and remove the
 * container on every path: success, failure, or abort (the removal has its own timeout, not the run's signal).
 * The create request is not given the run's signal either: aborting it half-way could leave a container the daemon
 * created whose id we never heard. An abort during the create is seen right after it, and the helper removed; a
 * create that failed (its own timeout, a dropped connection) is followed by a removal by the helper's unique name.
 * When `use` succeeded, a helper that cannot be removed is a warning naming it and `docker rm -f <id>`, not a
 * failure: the volume was read or restored.
 */
export async function withHelperContainer<T>(docker: DockerClient, options: HelperContainerOptions, use: (containerId: string) => Promise<T>): Promise<T> {
  const {signal} = options
  await ensureHelperImage(docker, signal)
  signal?.throwIfAborted()
  const name = helperContainerName()
  let id: string
  try {
    ;({Id: id} = await docker.createContainer(helperContainerSpec(options.volume, {readOnly: options.readOnly}), {
      name,
      signal: AbortSignal.timeout(CREATE_TIMEOUT_MS),
    }))
  } catch (error) {
    await removeHelper(docker, name).catch(() => undefined)
    throw error
  }
  let result: T
  try {
    signal?.throwIfAborted()
    result = await use(id)
  } catch (error) {
    // the failure of `use` is what the user must see; a failed removal must not hide it
    await removeHelper(docker, id).catch(() => undefined)
    throw error
  }
  try {
    await removeHelper(docker, id)
  } catch (error) {
    const warn = options.onWarning ?? ((message: string) => process.stderr.write(`warning: ${message}\n`))
    warn(`volume ${options.volume}: ${(error as Error).message}`)
  }
  return result
}

/** Remove a helper by id or name; a helper already gone is fine. */
async function removeHelper(docker: DockerClient, id: string): Promise<void> {
  try {
    await docker.removeContainer(id, {force: true, volumes: true, signal: AbortSignal.timeout(REMOVE_TIMEOUT_MS)})
  } catch (error) {
    if (error instanceof DockerNotFoundError) return
    const shown = /^[0-9a-f]{64}$/.test(id) ? id.slice(0, 12) : id
    throw new Error(`could not remove the helper container ${shown}: ${(error as Error).message}; remove it with: docker rm -f ${shown}`, {
      cause: error,
    })
  }
}
