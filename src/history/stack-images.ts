import type {DockerClient} from '../docker/client.js'
import {stackFilter} from '../docker/stack.js'

const IMAGES_TIMEOUT_MS = 5000

/**
 * Service name → image of every service of the stack as it is now (one listing; the image carries its digest
 * when `docker stack deploy` resolved one). Undefined when Docker does not answer within a few seconds: the
 * history line is written without images rather than not at all.
 */
export async function stackImages(docker: DockerClient, stack: string): Promise<Record<string, string> | undefined> {
  try {
    const services = await docker.listServices({filters: stackFilter(stack), signal: AbortSignal.timeout(IMAGES_TIMEOUT_MS)})
    const images: Record<string, string> = {}
    for (const service of [...services].sort((a, b) => (a.Spec.Name < b.Spec.Name ? -1 : 1))) {
      const image = service.Spec.TaskTemplate?.ContainerSpec?.Image
      if (image) images[service.Spec.Name] = image
    }
    return images
  } catch {
    return undefined
  }
}
