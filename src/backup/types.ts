import type {ServiceSpec} from '../docker/types.js'

/** How a deploy probed the stack; recorded in the backup so `clinical rollback` can probe the same way. */
export interface ProbeSettings {
  healthUrls: string[]
  appProbeUrl?: string
  appProbe: 'warn' | 'fail' | 'off'
}

/** One service as it was before a deploy: `services/<name>.json` of a backup. */
export interface ServiceSnapshot {
  id: string
  name: string
  /** `Version.Index` when saved: informative only, never sent back (DESIGN.md §4). */
  version: number
  createdAt: string
  updatedAt: string
  spec: ServiceSpec
}

export interface ManifestFile {
  /** Relative to the backup directory, with `/`. */
  path: string
  size: number
  sha256: string
}

/** One volume archive of a backup: `volumes/<name>.tar.gz`. */
export interface ManifestVolume {
  /** The Docker volume name (`<stack>_<vol>` for a stack volume). */
  name: string
  /** Relative to the backup directory: `volumes/<name>.tar.gz`. */
  file: string
  /** Tar entries of the archive, the volume root `./` included. */
  entries: number
  /** Bytes of the tar before compression (what a restore writes, about). */
  tarBytes?: number
  /** Driver and labels of the volume, to create it again when it is gone at restore time. */
  driver?: string
  labels?: Record<string, string>
}

/** What took a backup: the deploy's backup phase, or `clinical backup create`. */
export type BackupTrigger = 'clinical deploy' | 'clinical backup create'

export interface BackupManifest {
  formatVersion: 1
  stack: string
  id: string
  createdAt: string
  who: {user: string; host: string; ciRunUrl?: string}
  appVersion?: string
  /** Names of the services saved under services/. */
  services: string[]
  /** Volume archives under volumes/. */
  volumes: ManifestVolume[]
  /** Absent in backups written before volume archives existed. */
  takenBy?: BackupTrigger
  probes: ProbeSettings
  /** What this backup does not hold, said plainly (for example: volumes not archived). */
  notes: string[]
  files: ManifestFile[]
}

/** A backup on disk with its service snapshots loaded. */
export interface Backup {
  id: string
  dir: string
  manifest: BackupManifest
  services: ServiceSnapshot[]
}
