import {Readable} from 'node:stream'
import {Header} from 'tar'
import type {DockerClient} from '../docker/client.js'
import {DockerNotFoundError} from '../docker/errors.js'

/**
 * The image of the helper containers that read and write volume archives. They are created and never started,
 * so the image only has to exist: clinical imports it itself (`POST /images/create?fromSrc=-`) from a tar made in
 * memory holding one small text file. No registry is asked.
 */
export const HELPER_IMAGE_REPO = 'clinical/volume-helper'
export const HELPER_IMAGE_TAG = '1'
export const HELPER_IMAGE = `${HELPER_IMAGE_REPO}:${HELPER_IMAGE_TAG}`
/** The one file of the image; also the command of its containers (which never run). */
export const HELPER_FILE = 'clinical-volume-helper'
const HELPER_TEXT = 'clinical volume helper: this container is created and never started; it only mounts a volume to read or write its archive.\n'

const BLOCK = 512

/** The helper image's root filesystem: a tar holding `/clinical-volume-helper` (pure, deterministic). */
export function helperRootfsTar(): Buffer {
  const body = Buffer.from(HELPER_TEXT, 'utf8')
  const header = new Header({
    path: HELPER_FILE,
    mode: 0o644,
    uid: 0,
    gid: 0,
    size: body.byteLength,
    mtime: new Date(0),
    type: 'File',
  })
  const headerBlock = Buffer.alloc(BLOCK)
  header.encode(headerBlock, 0)
  const padding = Buffer.alloc((BLOCK - (body.byteLength % BLOCK)) % BLOCK)
  return Buffer.concat([headerBlock, body, padding, Buffer.alloc(2 * BLOCK)])
}

/** Make sure the helper image exists on this node: import it when it is absent. */
export async function ensureHelperImage(docker: DockerClient, signal?: AbortSignal): Promise<void> {
  try {
    await docker.inspectImage(HELPER_IMAGE, signal)
    return
  } catch (error) {
    if (!(error instanceof DockerNotFoundError)) throw error
  }
  await docker.importImage(Readable.from([helperRootfsTar()]), {
    repo: HELPER_IMAGE_REPO,
    tag: HELPER_IMAGE_TAG,
    changes: [`CMD ["/${HELPER_FILE}"]`, 'LABEL io.clinical.volume-helper=true'],
    signal,
  })
}
