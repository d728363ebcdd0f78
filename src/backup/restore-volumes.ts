import {join} from 'node:path'
import type {DockerClient} from '../docker/client.js'
import {DockerConflictError, DockerNotFoundError} from '../docker/errors.js'
import {TERMINAL_TASK_STATES} from '../docker/types.js'
import {ClinicalError, RefusedError} from '../errors.js'
import {ExitCode} from '../exit-codes.js'
import {putVolumeArchive} from './put-volume-archive.js'
import {scaleService} from './scale-services.js'
import type {Backup} from './types.js'
import {verifyBackup} from './verify-backup.js'
import {
  type ServiceToStop,
  type VolumeTarget,
  containerName,
  foreignContainers,
  isActive,
  servicesToStop,
  volumeRefusal,
} from './volume-users.js'

const POLL_MS = 500
/** Task states in which a task may have a container that uses the volume. */
const CONTAINER_TASK_STATES: ReadonlySet<string> = new Set(['preparing', 'ready', 'starting', 'running'])

export interface RestoreVolumesOptions {
  backup: Backup
  /** Restore only these volumes of the backup (default: every volume it holds). */
  volumes?: readonly string[]
  /** Waits (tasks stopping, volumes released) end by this time (epoch ms). */
  deadlineMs: number
  /** Honoured until the first change; from then on the restore runs to its end (a half-restored volume is worse). */
  signal?: AbortSignal
  report?: (line: string) => void
  /** What went wrong without failing the restore (a helper container left behind); default: a `warning:` report line. */
  onWarning?: (message: string) => void
}

/** What a restore did, for the run's result and for deciding its exit code. */
export interface RestoreVolumesState {
  /** A service was scaled down: from here a failure leaves the stack changed (exit 4). */
  changed: boolean
  /** Volumes whose content was replaced by the backup's. */
  restored: string[]
  /** Services scaled to 0 during the restore, with the replicas they were scaled back to. */
  stopped: Array<{service: string; replicas: number}>
}

/**
 * Put a backup's volume archives back (`clinical rollback --restore-volumes`), so that each volume holds exactly
 * what the backup holds:
 * 1. verify the whole backup (sha256 of every file, every archive read through, no entry outside its volume);
 * 2. refuse, before any change, volumes that cannot be emptied by removing them (non-local driver, driver options),
 *    services that cannot be scaled to 0 (global, jobs), and containers using a volume that are not tasks of those;
 * 3. scale the services that mount the volumes to 0 and wait until their tasks and containers have stopped;
 * 4. per volume: remove the stopped task containers that still reference it, remove the volume and create it again
 *    (local driver) with the same name and labels (files created after the backup must not survive; PUT only adds and
 *    overwrites), then extract the archive into it through a never-started helper container (putVolumeArchive);
 * 5. scale the services back to their replicas. Converge and probes follow in the rollback.
 * Refusals before step 3 are RefusedError (exit 2, nothing changed). A failure after a volume was touched leaves
 * the services at 0 replicas (nothing runs on a half-restored volume) and says so (exit 4).
 */
export async function restoreVolumes(docker: DockerClient, options: RestoreVolumesOptions, state: RestoreVolumesState): Promise<void> {
  const {backup, signal} = options
  const report = options.report ?? (() => undefined)
  const onWarning = options.onWarning ?? ((message: string) => report(`warning: ${message}`))
  const targets = await checkedTargets(docker, options)
  report(`backup ${backup.id} verified; restoring ${targets.map((target) => target.name).join(', ')}`)

  const services = await docker.listServices({signal})
  const {services: toStop, refusals} = servicesToStop(
    services,
    targets.map((target) => target.name),
  )
  if (refusals.length > 0) throw new RefusedError(`${refusals.join('; ')}; nothing was changed`)
  const stopIds = new Set(toStop.map((service) => service.id))
  for (const target of targets) {
    const containers = await docker.listContainers({all: true, filters: {volume: [target.name]}, signal})
    const foreign = foreignContainers(containers, stopIds)
    if (foreign.length > 0) {
      const names = foreign.map((container) => `${containerName(container)} (${container.State})`).join(', ')
      throw new RefusedError(
        `volume ${target.name} is used by container(s) ${names}, which are not tasks of the services that mount it: stop and remove them, then restore; nothing was changed`,
      )
    }
  }
  signal?.throwIfAborted()

  state.changed = true
  let touched = false
  try {
    await Promise.all(
      toStop.map(async (service) => {
        await scaleService(docker, service.id, 0)
        report(`service ${service.name}: scaled to 0 (was ${service.replicas})`)
      }),
    )
    await waitUntilStopped(docker, toStop, targets, options.deadlineMs)
    for (const target of targets) {
      await releaseVolume(docker, target, stopIds, options.deadlineMs)
      if (target.current) await removeVolumeWhenFree(docker, target.name, options.deadlineMs)
      touched = true
      await docker.createVolume({Name: target.name, Driver: 'local', Labels: target.labels})
      const file = join(backup.dir, target.archive.file)
      const entry = backup.manifest.files.find((candidate) => candidate.path === target.archive.file)!
      const put = await putVolumeArchive(docker, {
        volume: target.name,
        file,
        sha256: entry.sha256,
        entries: target.archive.entries,
        tarBytes: target.archive.tarBytes,
        onWarning,
      })
      state.restored.push(target.name)
      report(`volume ${target.name}: restored ${put.entries} entries (${put.tarBytes} bytes) from ${target.archive.file}`)
    }
  } catch (error) {
    throw await failedRestore(docker, {error, touched, toStop, targets, state, backupId: backup.id, report})
  }
  await scaleBack(docker, toStop, state, report)
}

/** Verify the backup and read what each volume is now; refusals here change nothing. */
async function checkedTargets(docker: DockerClient, options: RestoreVolumesOptions): Promise<VolumeTarget[]> {
  const {backup, signal} = options
  const archives = backup.manifest.volumes.filter((volume) => !options.volumes || options.volumes.includes(volume.name))
  const unknown = (options.volumes ?? []).filter((name) => !backup.manifest.volumes.some((volume) => volume.name === name))
  if (unknown.length > 0) throw new RefusedError(`backup ${backup.id} holds no archive of volume(s) ${unknown.join(', ')}`)
  if (archives.length === 0) {
    throw new RefusedError(`backup ${backup.id} holds no volume archives (taken with --no-backup-volumes, or the stack had no volumes); nothing to restore`)
  }
  const verified = await verifyBackup(backup.dir)
  if (!verified.ok) {
    const problems = verified.problems.map((problem) => `${problem.path}: ${problem.problem}`).join('; ')
    throw new RefusedError(`backup ${backup.id} failed verification, so nothing is restored from it: ${problems}; choose another backup (clinical backup list)`)
  }
  signal?.throwIfAborted()
  const targets: VolumeTarget[] = []
  for (const archive of archives) {
    let current
    try {
      current = await docker.inspectVolume(archive.name, signal)
    } catch (error) {
      if (!(error instanceof DockerNotFoundError)) throw error
    }
    const target: VolumeTarget = {name: archive.name, archive, current, labels: current?.Labels ?? archive.labels ?? {}}
    const refusal = volumeRefusal(target)
    if (refusal) throw new RefusedError(`${refusal}; nothing was changed`)
    targets.push(target)
  }
  return targets
}

/** Until every task of the stopped services is in a terminal state and no container using a volume is active. */
async function waitUntilStopped(docker: DockerClient, services: readonly ServiceToStop[], targets: readonly VolumeTarget[], deadlineMs: number): Promise<void> {
  let waitingFor = ''
  while (true) {
    const tasks = services.length > 0 ? await docker.listTasks({filters: {service: services.map((service) => service.id)}}) : []
    // a task still meant to run, or one whose container may still run (pending tasks being removed have none)
    const live = tasks.filter(
      (task) => !TERMINAL_TASK_STATES.has(task.Status.State) && (task.DesiredState === 'running' || CONTAINER_TASK_STATES.has(task.Status.State)),
    )
    const active: string[] = []
    for (const target of targets) {
      const containers = await docker.listContainers({all: true, filters: {volume: [target.name]}})
      active.push(...containers.filter(isActive).map(containerName))
    }
    if (live.length === 0 && active.length === 0) return
    waitingFor = [live.length > 0 ? `${live.length} task(s) still ${[...new Set(live.map((task) => task.Status.State))].join('/')}` : '', active.length > 0 ? `container(s) ${active.join(', ')} still running` : '']
      .filter(Boolean)
      .join(', ')
    if (Date.now() >= deadlineMs) throw new Error(`the services did not stop in time: ${waitingFor}`)
    await sleep(POLL_MS)
  }
}

/** Remove the stopped containers that still reference the volume: tasks of the stopped services and helpers. */
async function releaseVolume(docker: DockerClient, target: VolumeTarget, stopIds: ReadonlySet<string>, deadlineMs: number): Promise<void> {
  const containers = await docker.listContainers({all: true, filters: {volume: [target.name]}})
  const foreign = foreignContainers(containers, stopIds)
  if (foreign.length > 0) throw new Error(`volume ${target.name} was taken by container(s) ${foreign.map(containerName).join(', ')} meanwhile`)
  for (const container of containers) {
    if (isActive(container)) throw new Error(`container ${containerName(container)} is ${container.State} again`)
    await retryUntil(deadlineMs, async () => {
      try {
        await docker.removeContainer(container.Id, {volumes: true})
      } catch (error) {
        if (error instanceof DockerNotFoundError) return
        throw error
      }
    })
  }
}

/** Remove the volume, retrying while Docker still counts a container being removed as its user. */
async function removeVolumeWhenFree(docker: DockerClient, name: string, deadlineMs: number): Promise<void> {
  await retryUntil(deadlineMs, async () => {
    try {
      await docker.removeVolume(name)
    } catch (error) {
      if (error instanceof DockerNotFoundError) return
      throw error
    }
  })
}

/** Retry `run` while Docker answers 409 (a container is still being removed), until the deadline. */
async function retryUntil(deadlineMs: number, run: () => Promise<void>): Promise<void> {
  while (true) {
    try {
      return await run()
    } catch (error) {
      if (!(error instanceof DockerConflictError) || Date.now() >= deadlineMs) throw error
      await sleep(POLL_MS)
    }
  }
}

async function scaleBack(docker: DockerClient, services: readonly ServiceToStop[], state: RestoreVolumesState, report: (line: string) => void): Promise<void> {
  const failures: string[] = []
  await Promise.all(
    services.map(async (service) => {
      try {
        await scaleService(docker, service.id, service.replicas)
        state.stopped.push({service: service.name, replicas: service.replicas})
        report(`service ${service.name}: scaled back to ${service.replicas}`)
      } catch (error) {
        failures.push(`${service.name} (to ${service.replicas}: ${(error as Error).message})`)
      }
    }),
  )
  if (failures.length > 0) {
    throw new ClinicalError(
      `volumes ${state.restored.join(', ')} were restored, but scaling back failed for ${failures.join(', ')}: run docker service scale for them`,
      ExitCode.NeedsPerson,
    )
  }
}

/** The error of a restore that failed after its first change, after scaling back when no volume was touched yet. */
async function failedRestore(
  docker: DockerClient,
  input: {
    error: unknown
    touched: boolean
    toStop: readonly ServiceToStop[]
    targets: readonly VolumeTarget[]
    state: RestoreVolumesState
    backupId: string
    report: (line: string) => void
  },
): Promise<ClinicalError> {
  const reason = input.error instanceof Error ? input.error.message : String(input.error)
  if (!input.touched) {
    const scaledBack = await scaleBack(docker, input.toStop, input.state, input.report).then(
      () => 'the services were scaled back to their replicas',
      (error: Error) => error.message,
    )
    return new ClinicalError(`restoring volumes failed before any volume was changed: ${reason}; ${scaledBack}. Check clinical status`, ExitCode.NeedsPerson, {
      cause: input.error,
    })
  }
  const pending = input.targets.map((target) => target.name).filter((name) => !input.state.restored.includes(name))
  const left = input.toStop.map((service) => `${service.name} (${service.replicas} replica(s))`).join(', ')
  return new ClinicalError(
    `restoring volume ${pending[0]} failed: ${reason}. Volume(s) ${pending.join(', ')} may be empty or partly restored` +
      (left ? `; services ${left} are left at 0 replicas so that nothing runs on them` : '') +
      `. Fix the cause, then run clinical rollback --restore-volumes --to ${input.backupId} again`,
    ExitCode.NeedsPerson,
    {cause: input.error},
  )
}

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms))
}
