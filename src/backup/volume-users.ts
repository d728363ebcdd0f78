import type {ContainerSummary, Service, Volume} from '../docker/types.js'
import {HELPER_LABEL} from './helper-container.js'
import {volumeMounts} from './stack-volumes.js'
import type {ManifestVolume} from './types.js'

/** Label Swarm puts on the container of each task. */
export const SWARM_SERVICE_ID_LABEL = 'com.docker.swarm.service.id'

/** One volume to restore: what it is now, and what to create again. */
export interface VolumeTarget {
  name: string
  /** The archive in the backup. */
  archive: ManifestVolume
  /** The volume as it is now; undefined when it does not exist (it is created). */
  current?: Volume
  /** Labels of the volume created again: the current ones, else the ones the backup recorded. */
  labels: Record<string, string>
}

/** The services to scale to 0 while volumes are restored, with the replicas to scale back to. */
export interface ServiceToStop {
  id: string
  name: string
  replicas: number
  volumes: string[]
}

/**
 * Why a volume cannot be restored by removing and creating it again, or undefined (pure). Only `local` volumes
 * without driver options are restored: for others (NFS through `o=`, plugins) removing the Docker volume may not
 * remove the data, and files written after the backup would survive the restore.
 */
export function volumeRefusal(target: VolumeTarget): string | undefined {
  const driver = target.current?.Driver ?? target.archive.driver ?? 'local'
  if (driver !== 'local') return `volume ${target.name} uses driver ${driver}: clinical restores local volumes only; restore it with that driver's tools`
  const options = target.current?.Options
  if (options && Object.keys(options).length > 0) {
    return `volume ${target.name} has driver options (${Object.keys(options).join(', ')}): removing it may not remove its data, so clinical does not restore it; restore it by hand`
  }
  return undefined
}

/**
 * The services (of any stack) whose spec mounts one of the volumes, or a refusal when one cannot be stopped by
 * scaling it to 0 (global services, jobs) (pure).
 */
export function servicesToStop(services: readonly Service[], volumeNames: readonly string[]): {services: ServiceToStop[]; refusals: string[]} {
  const wanted = new Set(volumeNames)
  const byId = new Map<string, ServiceToStop>()
  const refusals: string[] = []
  const serviceById = new Map(services.map((service) => [service.ID, service]))
  for (const mount of volumeMounts(services)) {
    if (!mount.source || !wanted.has(mount.source)) continue
    const service = serviceById.get(mount.serviceId)!
    if (!service.Spec.Mode?.Replicated) {
      refusals.push(
        `service ${mount.service} uses volume ${mount.source} and is not a replicated service, so it cannot be scaled to 0: remove it or stop it by hand, then restore`,
      )
      continue
    }
    const entry = byId.get(service.ID) ?? {id: service.ID, name: service.Spec.Name, replicas: service.Spec.Mode.Replicated.Replicas ?? 1, volumes: []}
    if (!entry.volumes.includes(mount.source)) entry.volumes.push(mount.source)
    byId.set(service.ID, entry)
  }
  return {services: [...byId.values()].sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0)), refusals}
}

/**
 * Containers that use a volume and that a restore may not remove: anything but a clinical helper, a task of a
 * service being stopped, or a stopped task of another swarm service (task history, e.g. from before that
 * service's mounts changed; Swarm removes those itself in time). A restore would pull the volume from under
 * them, so it is refused naming them (pure).
 */
export function foreignContainers(containers: readonly ContainerSummary[], stoppedServiceIds: ReadonlySet<string>): ContainerSummary[] {
  return containers.filter((container) => {
    const labels = container.Labels ?? {}
    if (labels[HELPER_LABEL] === 'true') return false
    const serviceId = labels[SWARM_SERVICE_ID_LABEL]
    if (serviceId && stoppedServiceIds.has(serviceId)) return false
    return !(serviceId && !isActive(container))
  })
}

/** A container that still holds its volume's files open. */
export function isActive(container: ContainerSummary): boolean {
  return container.State === 'running' || container.State === 'restarting' || container.State === 'paused' || container.State === 'removing'
}

export function containerName(container: ContainerSummary): string {
  return (container.Names[0] ?? container.Id.slice(0, 12)).replace(/^\//, '')
}
