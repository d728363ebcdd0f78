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

/**
 * Create a helper container mounting `volume` at /data (never started), run `use` with its id, and remove the
 * container on every path: success, failure, or abort (the removal has its own timeout, not the run's signal).
 */
export async function withHelperContainer<T>(
  docker: DockerClient,
  options: {volume: string; readOnly: boolean; signal?: AbortSignal},
  use: (containerId: string) => Promise<T>,
): Promise<T> {
  await ensureHelperImage(docker, options.signal)
  const {Id} = await docker.createContainer(helperContainerSpec(options.volume, {readOnly: options.readOnly}), {signal: options.signal})
  let result: T
  try {
    result = await use(Id)
  } catch (error) {
    // the failure of `use` is what the user must see; a failed removal must not hide it
    await removeHelper(docker, Id).catch(() => undefined)
    throw error
  }
  await removeHelper(docker, Id)
  return result
}

async function removeHelper(docker: DockerClient, id: string): Promise<void> {
  try {
    await docker.removeContainer(id, {force: true, volumes: true, signal: AbortSignal.timeout(REMOVE_TIMEOUT_MS)})
  } catch (error) {
    if (error instanceof DockerNotFoundError) return
    throw new Error(`could not remove the helper container ${id.slice(0, 12)}: ${(error as Error).message}; remove it with: docker rm -f ${id.slice(0, 12)}`, {
      cause: error,
    })
  }
}
