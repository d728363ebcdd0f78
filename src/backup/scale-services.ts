import pRetry from 'p-retry'
import type {DockerClient} from '../docker/client.js'
import {DockerUnreachableError, DockerUpdateOutOfSequenceError} from '../docker/errors.js'
import type {Service, ServiceSpec} from '../docker/types.js'

/** Re-read and re-send a scale refused as "update out of sequence" (or cut by a blip): this many attempts in all. */
const SCALE_ATTEMPTS = 3

/** The spec of a replicated service with `replicas` (pure; every other field as it is). */
export function specWithReplicas(spec: ServiceSpec, replicas: number): ServiceSpec {
  if (!spec.Mode?.Replicated) throw new Error(`service ${spec.Name} is not a replicated service: it cannot be scaled`)
  return {...spec, Mode: {...spec.Mode, Replicated: {...spec.Mode.Replicated, Replicas: replicas}}}
}

/** The replicas a replicated service asks for (a missing count is Docker's default, 1). */
export function replicasOf(service: Service): number {
  return service.Spec.Mode?.Replicated?.Replicas ?? 1
}

/**
 * Scale a replicated service: the spec is re-read right before sending, with its current `Version.Index` (never a
 * saved one; DESIGN.md §4); "update out of sequence" is retried by reading again. Only the replica count
 * changes, so Swarm scales without a rolling update.
 */
export async function scaleService(docker: DockerClient, serviceId: string, replicas: number, signal?: AbortSignal): Promise<void> {
  await pRetry(
    async () => {
      const fresh = await docker.inspectService(serviceId, signal)
      if (replicasOf(fresh) === replicas && fresh.Spec.Mode?.Replicated) return
      await docker.updateService(fresh.ID, fresh.Version.Index, specWithReplicas(fresh.Spec, replicas), {signal})
    },
    {
      retries: SCALE_ATTEMPTS - 1,
      minTimeout: 200,
      maxTimeout: 1000,
      randomize: true,
      signal,
      shouldRetry: ({error}) => error instanceof DockerUpdateOutOfSequenceError || error instanceof DockerUnreachableError,
    },
  )
}
