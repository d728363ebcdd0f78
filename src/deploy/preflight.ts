import {access, statfs} from 'node:fs/promises'
import {dirname} from 'node:path'
import {estimateBackupBytes, estimateVolumeBytes} from '../backup/estimate.js'
import {selectVolumes} from '../backup/stack-volumes.js'
import type {DeployOptions} from '../config/deploy-options.js'
import {formatBytes} from '../config/parse-units.js'
import type {DockerClient} from '../docker/client.js'
import {DockerNotFoundError} from '../docker/errors.js'
import {type ComposeSummary, renderComposeFile} from '../docker/stack-cli.js'
import {stackFilter} from '../docker/stack.js'
import {RefusedError} from '../errors.js'

export interface PreflightResult {
  compose: ComposeSummary
  /** The config dir to archive; undefined when the default dir does not exist (a warning). */
  configDir?: string
  freeBytes: number
  estimatedBackupBytes: number
  warnings: string[]
}

export interface PreflightInput {
  docker: DockerClient
  options: DeployOptions
  /** Process facts, passed in so the checks are testable. */
  uid?: number
  signal?: AbortSignal
  report: (line: string) => void
}

/**
 * Every check that must pass before anything changes (DESIGN.md §7). Cheap local checks first; each failure is a
 * RefusedError (exit 2) whose message names the file, variable or limit at fault. Secret values are never printed.
 */
export async function runPreflight(input: PreflightInput): Promise<PreflightResult> {
  const {docker, options, report, signal} = input
  const warnings: string[] = []
  const warn = (message: string): void => {
    warnings.push(message)
    report(`warning: ${message}`)
  }

  if (input.uid === 0 && !options.allowRoot) {
    throw new RefusedError('refusing to run as root: run as a member of the docker group, or pass --allow-root')
  }

  await access(options.composeFile).catch(() => {
    throw new RefusedError(`compose file ${options.composeFile} not found (--compose-file, CLINICAL_COMPOSE_FILE)`)
  })

  const missing = missingEnv(options.requireEnv, options.env)
  if (missing.length > 0) {
    throw new RefusedError(
      `required environment variable${missing.length > 1 ? 's' : ''} not set: ${missing.join(', ')} (set them in the environment or in ${options.envFile ?? '.env'})`,
    )
  }
  report(`environment: ${options.requireEnv.length} required variable(s) set${options.envFile ? `; env file ${options.envFile}` : ''}`)

  const info = await docker.info(signal)
  if (info.Swarm.LocalNodeState !== 'active' || !info.Swarm.ControlAvailable) {
    throw new RefusedError(
      `this Docker node (${info.Name}) is not an active swarm manager (swarm state: ${info.Swarm.LocalNodeState}); run clinical on a manager`,
    )
  }
  report(`docker: ${info.ServerVersion} on ${info.Name}, swarm manager`)

  const compose = await renderComposeFile(options.composeFile, {env: options.env, redactor: options.redactor, signal})
  if (compose.services.length === 0) throw new RefusedError(`compose file ${options.composeFile} defines no services`)
  report(`compose: ${compose.services.length} service(s): ${compose.services.map((service) => service.name).join(', ')}`)

  let configDir: string | undefined = options.configDir
  const configDirExists = await access(options.configDir).then(
    () => true,
    () => false,
  )
  if (!configDirExists) {
    if (options.configDirExplicit) throw new RefusedError(`config dir ${options.configDir} not found (--config-dir, CLINICAL_CONFIG_DIR)`)
    warn(`config dir ${options.configDir} not found: the backup will not hold a config archive`)
    configDir = undefined
  }

  const services = await docker.listServices({filters: stackFilter(options.stack), signal})
  let volumeBytes = 0
  if (options.backupVolumes) {
    // volumes to archive (a --volume not on this node is refused here), sized by /system/df
    const selection = await selectVolumes(docker, {stack: options.stack, services, extraVolumes: options.extraVolumes, signal})
    for (const skipped of selection.notArchived) warn(`volume ${skipped.name} will not be archived: ${skipped.reason}`)
    for (const elsewhere of selection.alsoElsewhere) warn(`volume ${elsewhere.name}: ${elsewhere.reason}`)
    const volumes = await estimateVolumeBytes(docker, selection.volumes.map((volume) => volume.Name), signal)
    for (const name of volumes.unknown) warn(`Docker could not tell the size of volume ${name}: the backup estimate leaves it out`)
    volumeBytes = volumes.bytes
    if (selection.volumes.length > 0) report(`volumes: ${selection.volumes.map((volume) => volume.Name).join(', ')} (${formatBytes(volumeBytes)} estimated)`)
  }
  const estimatedBackupBytes = await estimateBackupBytes({configDir, serviceCount: services.length, volumeBytes})
  const freeBytes = await freeBytesAt(options.backupDir)
  // the backup must fit and still leave --min-free-disk free
  const neededBytes = options.minFreeDiskBytes + estimatedBackupBytes
  if (freeBytes < neededBytes) {
    throw new RefusedError(
      `not enough free disk for ${options.backupDir}: ${formatBytes(freeBytes)} free, ${formatBytes(neededBytes)} needed (backup estimate ${formatBytes(estimatedBackupBytes)} + --min-free-disk ${formatBytes(options.minFreeDiskBytes)})`,
    )
  }
  report(`disk: ${formatBytes(freeBytes)} free at ${options.backupDir} (backup estimate ${formatBytes(estimatedBackupBytes)})`)

  for (const image of new Set(compose.services.map((service) => service.image).filter((image): image is string => Boolean(image)))) {
    try {
      await docker.inspectImage(image, signal)
    } catch (error) {
      if (!(error instanceof DockerNotFoundError)) throw error
      warn(`image ${image} is not on this node; each node will pull it from its registry`)
    }
  }

  return {compose, configDir, freeBytes, estimatedBackupBytes, warnings}
}

/** Names of required variables that are unset or empty (pure). */
export function missingEnv(required: readonly string[], env: Record<string, string>): string[] {
  return required.filter((name) => !env[name])
}

/** Free bytes for an unprivileged user on the filesystem that holds `path` (or its nearest existing parent). */
export async function freeBytesAt(path: string): Promise<number> {
  let current = path
  for (let depth = 0; depth < 64; depth++) {
    try {
      const stats = await statfs(current)
      return stats.bavail * stats.bsize
    } catch (error) {
      const parent = dirname(current)
      if ((error as NodeJS.ErrnoException).code !== 'ENOENT' || parent === current) {
        throw new RefusedError(`cannot read free disk space at ${path}: ${(error as Error).message}`)
      }
      current = parent
    }
  }
  throw new RefusedError(`cannot read free disk space at ${path}`)
}
