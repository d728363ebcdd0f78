import type {DockerClient} from '../docker/client.js'
import {stackFilter} from '../docker/stack.js'
import type {Redactor} from '../secrets/redact.js'
import {selectVolumes} from './stack-volumes.js'
import type {Backup, BackupTrigger, ProbeSettings} from './types.js'
import {archiveVolume} from './volume-archive.js'
import {type VolumeSource, writeBackup} from './write-backup.js'

export interface CreateBackupOptions {
  stack: string
  /** Backups go to `<backupDir>/<stack>/<id>/`. */
  backupDir: string
  /** Archived as `config.tar.gz` when given and it exists. */
  configDir?: string
  /** --config-dir was given explicitly: a missing dir is refused; otherwise it is a note in the manifest. */
  configDirRequired: boolean
  appVersion?: string
  probes: ProbeSettings
  /** Archive the stack's volumes (default true; `--no-backup-volumes` turns it off, and the manifest says so). */
  backupVolumes?: boolean
  /** `--volume NAME`: volumes archived besides the stack's own; one missing on this node is refused (exit 2). */
  extraVolumes?: readonly string[]
  /** Recorded in the manifest; retention keeps the newest backup taken by a deploy. */
  takenBy?: BackupTrigger
  /** One line per step worth telling (each volume archived). */
  onProgress?: (line: string) => void
  /** What went wrong without failing the backup (a helper container left behind); default: a `warning:` progress line. */
  onWarning?: (message: string) => void
  /** gzip level of volume archives (default VOLUME_GZIP_LEVEL). */
  gzipLevel?: number
  now?: Date
  signal?: AbortSignal
  /** Where `who.ciRunUrl` is read from (GITHUB_*); default process.env. */
  env?: NodeJS.ProcessEnv
  /** Applied to the manifest's free-text metadata (app version, probes, notes, who); never to the spec files. */
  redactor?: Redactor
}

export const NO_BACKUP_VOLUMES_NOTE = 'volumes were not backed up (--no-backup-volumes)'

/**
 * Back up a stack before a deploy: every service's full spec as the Engine API returns it, the config dir, an
 * archive of each volume of the stack on this node (DESIGN.md §2), and a manifest of hashes written last. A stack
 * without services (first deploy) gives a backup with no services: rolling back to it removes everything.
 */
export async function createBackup(docker: DockerClient, options: CreateBackupOptions): Promise<Backup> {
  const {signal} = options
  signal?.throwIfAborted()
  const services = await docker.listServices({filters: stackFilter(options.stack), signal})
  const volumeSources: VolumeSource[] = []
  const volumeNotes: string[] = []
  if (options.backupVolumes === false) {
    volumeNotes.push(NO_BACKUP_VOLUMES_NOTE)
  } else {
    const selection = await selectVolumes(docker, {stack: options.stack, services, extraVolumes: options.extraVolumes, signal})
    for (const skipped of selection.notArchived) {
      volumeNotes.push(`volume ${skipped.name} not archived: ${skipped.reason}`)
    }
    for (const elsewhere of selection.alsoElsewhere) volumeNotes.push(`volume ${elsewhere.name}: ${elsewhere.reason}`)
    for (const volume of selection.volumes) {
      volumeSources.push({
        name: volume.Name,
        driver: volume.Driver,
        labels: volume.Labels ?? undefined,
        archive: async (file, archiveSignal) => {
          const startedMs = Date.now()
          const archive = await archiveVolume(docker, {
            volume: volume.Name,
            file,
            signal: archiveSignal,
            gzipLevel: options.gzipLevel,
            onWarning: options.onWarning ?? ((message) => options.onProgress?.(`warning: ${message}`)),
          })
          const seconds = Math.max(0.001, (Date.now() - startedMs) / 1000)
          options.onProgress?.(
            `volume ${volume.Name}: ${archive.entries} entries, ${mib(archive.tarBytes)} MiB → ${mib(archive.size)} MiB gz in ${seconds.toFixed(1)}s (${mib(archive.tarBytes / seconds)} MiB/s)`,
          )
          return archive
        },
      })
    }
  }
  return writeBackup({...options, services, volumeSources, volumeNotes})
}

function mib(bytes: number): string {
  return (bytes / (1024 * 1024)).toFixed(1)
}
