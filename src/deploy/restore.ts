import pRetry from 'p-retry'
import type {ServiceSnapshot} from '../backup/types.js'
import type {DockerClient} from '../docker/client.js'
import {DockerConflictError, DockerNotFoundError, DockerUpdateOutOfSequenceError, isTransientDockerError} from '../docker/errors.js'
import {stackFilter} from '../docker/stack.js'
import type {Service, ServiceSpec} from '../docker/types.js'
import {
  type ExistingRefs,
  missingReferencesMessage,
  planRestore,
  referencesSecretsOrConfigs,
  resolveReferences,
  specsEqual,
  specToCreate,
  specToRestore,
} from './restore-spec.js'

export {planRestore, type RestorePlan, specToCreate, specToRestore} from './restore-spec.js'

/** Re-read and re-apply an update refused as "out of sequence" (or cut by a blip): this many attempts in all. */
export const MAX_UPDATE_ATTEMPTS = 3
/** Listing the stack's services before restoring: a leader election or a daemon restart is waited out this often. */
const MAX_LIST_ATTEMPTS = 5
/**
 * Update states after which a service must be updated even when its spec already is the saved one: Swarm rolled it
 * back by itself (the spec is the old one again) or paused it. Every update clears UpdateStatus (DESIGN.md §4), and
 * an unchanged spec restarts no task; left as they are, converge would keep reading them as failures.
 */
const STATES_TO_CLEAR = new Set(['paused', 'rollback_started', 'rollback_paused', 'rollback_completed'])

export type RestoreAction = 'update' | 'create' | 'remove' | 'unchanged'

export interface RestoreProgressEvent {
  service: string
  action: RestoreAction
  status: 'started' | 'done' | 'failed'
  error?: string
}

export interface RestoreResult {
  updated: string[]
  created: string[]
  removed: string[]
  unchanged: string[]
  failed: Array<{service: string; error: string}>
}

export interface RestoreOptions {
  stack: string
  snapshots: readonly ServiceSnapshot[]
  signal?: AbortSignal
  onProgress?: (event: RestoreProgressEvent) => void
  /** Delay before a re-read after "update out of sequence" (tests: 0). */
  retryDelayMs?: number
}

/** A failure that retrying will not fix, with its one-line reason. */
class RestoreRefused extends Error {
  override readonly name = 'RestoreRefused'
}

/**
 * Put the stack's services back to saved specs (DESIGN.md §4), all services in parallel: a service saved and present
 * is updated (its current version re-read right before sending, never the saved one), one the failed deploy created
 * is removed, one it removed is created again. One failure does not stop the others: the result lists each with a
 * one-line error. Throws only when the stack's services cannot be listed at all.
 *
 * Registry credentials: inspect output holds none, so an update asks the daemon to keep the pull credentials it
 * already has: `registryAuthFrom=previous-spec` (the credentials sent with the spec before the failed deploy, i.e.
 * with the images being restored) when the service has a PreviousSpec, else `spec` (the current spec's): a
 * PreviousSpec is absent after Swarm rolled the service back by itself, and `previous-spec` is then refused.
 * A service created again has no credentials: its image must be on the nodes or pullable anonymously.
 */
export async function restoreServices(docker: DockerClient, options: RestoreOptions): Promise<RestoreResult> {
  const {stack, snapshots, signal} = options
  const emit = (event: RestoreProgressEvent): void => options.onProgress?.(event)
  const needsRefs = snapshots.some((snapshot) => referencesSecretsOrConfigs(snapshot.spec))
  const [current, refs] = await Promise.all([
    pRetry(() => docker.listServices({filters: stackFilter(stack), signal}), {
      retries: MAX_LIST_ATTEMPTS - 1,
      minTimeout: options.retryDelayMs ?? 500,
      maxTimeout: (options.retryDelayMs ?? 500) * 8,
      randomize: (options.retryDelayMs ?? 500) > 0,
      signal,
      shouldRetry: ({error}) => !signal?.aborted && isTransientDockerError(error),
    }),
    needsRefs ? existingRefs(docker, signal) : Promise.resolve(undefined),
  ])
  const plan = planRestore(snapshots, current)
  const result: RestoreResult = {updated: [], created: [], removed: [], unchanged: [], failed: []}

  const prepare = (spec: ServiceSpec): ServiceSpec => {
    if (!refs) return spec
    const resolved = resolveReferences(spec, refs)
    if (resolved.missing.length > 0) throw new RestoreRefused(missingReferencesMessage(resolved.missing))
    return resolved.spec
  }
  const updateOne = (snapshot: ServiceSnapshot, serviceId: string): Promise<'updated' | 'unchanged'> =>
    updateWithRetry(docker, serviceId, (fresh) => prepare(specToRestore(snapshot.spec, fresh)), {
      signal,
      retryDelayMs: options.retryDelayMs,
    })

  const track = async (service: string, action: Exclude<RestoreAction, 'unchanged'>, run: () => Promise<keyof Omit<RestoreResult, 'failed'>>): Promise<void> => {
    emit({service, action, status: 'started'})
    try {
      const outcome = await run()
      result[outcome].push(service)
      emit({service, action: outcome === 'unchanged' ? 'unchanged' : action, status: 'done'})
    } catch (error) {
      const message = oneLine(error)
      result.failed.push({service, error: message})
      emit({service, action, status: 'failed', error: message})
    }
  }

  await Promise.allSettled([
    ...plan.update.map(({snapshot, current: service}) => track(snapshot.spec.Name, 'update', () => updateOne(snapshot, service.ID))),
    ...plan.create.map((snapshot) =>
      track(snapshot.spec.Name, 'create', async () => {
        try {
          await docker.createService(prepare(specToCreate(snapshot.spec, stack)), {signal})
          return 'created'
        } catch (error) {
          // a service of that name exists outside the stack's label (or appeared meanwhile): put the saved spec on it
          if (!(error instanceof DockerConflictError)) throw error
          return updateOne(snapshot, snapshot.spec.Name)
        }
      }),
    ),
    ...plan.remove.map((service) =>
      track(service.Spec.Name, 'remove', async () => {
        try {
          await docker.removeService(service.ID, signal)
        } catch (error) {
          if (!(error instanceof DockerNotFoundError)) throw error
        }
        return 'removed'
      }),
    ),
  ])
  for (const list of [result.updated, result.created, result.removed, result.unchanged]) list.sort()
  result.failed.sort((a, b) => (a.service < b.service ? -1 : a.service > b.service ? 1 : 0))
  return result
}

/**
 * Inspect the service, build the spec to send from the fresh copy, and update with the fresh `Version.Index`;
 * nothing is sent when the spec already is the current one (unless its update state needs clearing, see
 * STATES_TO_CLEAR). "update out of sequence" (someone updated the service in between), a dropped connection and a
 * 5xx (a leader election) are retried by reading again, MAX_UPDATE_ATTEMPTS attempts in all: a retry after an
 * update that did land finds the spec equal and sends nothing.
 */
async function updateWithRetry(
  docker: DockerClient,
  serviceId: string,
  build: (fresh: Service) => ServiceSpec,
  options: {signal?: AbortSignal; retryDelayMs?: number},
): Promise<'updated' | 'unchanged'> {
  const delayMs = options.retryDelayMs ?? 200
  try {
    return await pRetry(
      async () => {
        const fresh = await docker.inspectService(serviceId, options.signal)
        const spec = build(fresh)
        if (specsEqual(spec, fresh.Spec) && !STATES_TO_CLEAR.has(fresh.UpdateStatus?.State ?? '')) return 'unchanged' as const
        await docker.updateService(fresh.ID, fresh.Version.Index, spec, {
          registryAuthFrom: fresh.PreviousSpec ? 'previous-spec' : 'spec',
          signal: options.signal,
        })
        return 'updated' as const
      },
      {
        retries: MAX_UPDATE_ATTEMPTS - 1,
        minTimeout: delayMs,
        maxTimeout: delayMs * 4,
        randomize: delayMs > 0,
        signal: options.signal,
        shouldRetry: ({error}) =>
          !options.signal?.aborted && !(error instanceof RestoreRefused) && (error instanceof DockerUpdateOutOfSequenceError || isTransientDockerError(error)),
      },
    )
  } catch (error) {
    if (error instanceof DockerUpdateOutOfSequenceError) {
      throw new RestoreRefused(
        `update out of sequence ${MAX_UPDATE_ATTEMPTS} times in a row (another client keeps updating this service): stop it, then run clinical rollback`,
      )
    }
    throw error
  }
}

async function existingRefs(docker: DockerClient, signal?: AbortSignal): Promise<ExistingRefs | undefined> {
  try {
    const [secrets, configs] = await Promise.all([docker.listSecrets({signal}), docker.listConfigs({signal})])
    return {
      secrets: secrets.map((secret) => ({ID: secret.ID, Name: secret.Spec.Name})),
      configs: configs.map((config) => ({ID: config.ID, Name: config.Spec.Name})),
    }
  } catch (error) {
    if (signal?.aborted) throw error
    // cannot list them: send the specs as saved and let the daemon judge each one
    return undefined
  }
}

function oneLine(error: unknown): string {
  const message = error instanceof Error ? error.message : String(error)
  return message.replace(/\s*\n\s*/g, ' ').trim()
}
