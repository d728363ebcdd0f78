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

export interface BackupManifest {
  formatVersion: 1
  stack: string
  id: string
  createdAt: string
  who: {user: string; host: string; ciRunUrl?: string}
  appVersion?: string
  /** Names of the services saved under services/. */
  services: string[]
  /** Volume archives under volumes/ (none until volume backups exist). */
  volumes: Array<{name: string; file: string; entries: number}>
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
