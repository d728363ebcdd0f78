import type {DockerClient} from '../docker/client.js'
import {DockerNotFoundError} from '../docker/errors.js'
import {stackFilter} from '../docker/stack.js'
import type {Service, Volume} from '../docker/types.js'
import {RefusedError} from '../errors.js'
import {VOLUME_NAME_PATTERN} from './manifest.js'

/** Which volumes a backup archives, and the ones it cannot, each with the reason (reported, never silently skipped). */
export interface VolumeSelection {
  /** Volumes on this node to archive, sorted by name: the stack's (label) and the `--volume` extras. */
  volumes: Volume[]
  notArchived: Array<{name: string; reason: string}>
  /**
   * Volumes archived from this node while a service mounting them also runs tasks on other nodes: each node has
   * its own volume of that name, and the copy here may be stale (the service moved). Reported, never silent.
   */
  alsoElsewhere: Array<{name: string; reason: string}>
}

/** A volume mount of a service spec: named (Source) or anonymous. */
export interface ServiceVolumeMount {
  service: string
  serviceId: string
  source?: string
  target?: string
}

/** The volume mounts of services' specs (pure). */
export function volumeMounts(services: readonly Service[]): ServiceVolumeMount[] {
  const mounts: ServiceVolumeMount[] = []
  for (const service of services) {
    for (const mount of service.Spec.TaskTemplate.ContainerSpec?.Mounts ?? []) {
      if ((mount.Type ?? 'volume') !== 'volume') continue
      mounts.push({service: service.Spec.Name, serviceId: service.ID, source: mount.Source || undefined, target: mount.Target})
    }
  }
  return mounts
}

/**
 * The volumes of a stack on this node (label `com.docker.stack.namespace=<stack>`) plus `extraVolumes`
 * (`--volume NAME`; one that is not on this node is refused with exit 2), and what the stack's services mount that
 * is not archived: an external volume (not the stack's), a volume that is not on this node (its tasks run on
 * other nodes, or never ran here), an anonymous volume.
 */
export async function selectVolumes(
  docker: DockerClient,
  options: {stack: string; services: readonly Service[]; extraVolumes?: readonly string[]; signal?: AbortSignal},
): Promise<VolumeSelection> {
  const {signal} = options
  const selected = new Map<string, Volume>()
  for (const volume of await docker.listVolumes({filters: stackFilter(options.stack), signal})) selected.set(volume.Name, volume)
  for (const name of new Set(options.extraVolumes ?? [])) {
    if (selected.has(name)) continue
    if (!VOLUME_NAME_PATTERN.test(name)) throw new RefusedError(`--volume ${JSON.stringify(name)} is not a Docker volume name`)
    const volume = await inspectOrUndefined(docker, name, signal)
    if (!volume) throw new RefusedError(`--volume ${name}: there is no volume of that name on this node (docker volume ls lists them)`)
    selected.set(name, volume)
  }

  const notArchived: VolumeSelection['notArchived'] = []
  const alsoElsewhere: VolumeSelection['alsoElsewhere'] = []
  const reported = new Set<string>()
  let localNodeId: string | undefined
  /** Nodes other than this one where the service runs tasks now. */
  const otherNodes = async (serviceId: string): Promise<string[]> => {
    localNodeId ??= (await docker.info(signal)).Swarm.NodeID
    const tasks = await docker.listTasks({filters: {service: [serviceId], 'desired-state': ['running']}, signal})
    return [...new Set(tasks.map((task) => task.NodeID).filter((node): node is string => Boolean(node) && node !== localNodeId))]
  }
  const nodeList = (nodes: string[]): string => nodes.map((node) => node.slice(0, 12)).join(', ')
  for (const mount of volumeMounts(options.services)) {
    if (!mount.source) {
      notArchived.push({
        name: `(anonymous, ${mount.service}:${mount.target ?? '?'})`,
        reason: `service ${mount.service} mounts an anonymous volume at ${mount.target ?? '?'}: each task has its own, none is archived`,
      })
      continue
    }
    if (reported.has(`${mount.source}\0${mount.serviceId}`)) continue
    reported.add(`${mount.source}\0${mount.serviceId}`)
    if (selected.has(mount.source)) {
      const nodes = await otherNodes(mount.serviceId)
      if (nodes.length > 0) {
        alsoElsewhere.push({
          name: mount.source,
          reason: `archived from this node, but service ${mount.service} runs tasks on node(s) ${nodeList(nodes)}, each with its own volume of that name: the copy here may be stale; back it up there too`,
        })
      }
      continue
    }
    if (reported.has(mount.source)) continue
    reported.add(mount.source)
    const local = await inspectOrUndefined(docker, mount.source, signal)
    if (local) {
      notArchived.push({
        name: mount.source,
        reason: `mounted by service ${mount.service} but not a volume of stack ${options.stack} (external): add --volume ${mount.source} to archive it`,
      })
      continue
    }
    const nodes = await otherNodes(mount.serviceId)
    notArchived.push({
      name: mount.source,
      reason:
        nodes.length > 0
          ? `mounted by service ${mount.service} but not on this node: its tasks run on node(s) ${nodeList(nodes)}; back it up there`
          : `mounted by service ${mount.service} but not on this node (no task of it has run here)`,
    })
  }
  return {volumes: [...selected.values()].sort((a, b) => (a.Name < b.Name ? -1 : a.Name > b.Name ? 1 : 0)), notArchived, alsoElsewhere}
}

async function inspectOrUndefined(docker: DockerClient, name: string, signal?: AbortSignal): Promise<Volume | undefined> {
  try {
    return await docker.inspectVolume(name, signal)
  } catch (error) {
    if (error instanceof DockerNotFoundError) return undefined
    throw error
  }
}
