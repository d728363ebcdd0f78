import type {DockerClient} from '../docker/client.js'
import {stackFilter} from '../docker/stack.js'
import type {Redactor} from '../secrets/redact.js'
import type {Backup, ProbeSettings} from './types.js'
import {writeBackup} from './write-backup.js'

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
  now?: Date
  signal?: AbortSignal
  /** Where `who.ciRunUrl` is read from (GITHUB_*); default process.env. */
  env?: NodeJS.ProcessEnv
  /** Applied to the manifest's free-text metadata (app version, probes, notes, who); never to the spec files. */
  redactor?: Redactor
}

/**
 * Back up a stack before a deploy: every service's full spec as the Engine API returns it, the config dir, and a
 * manifest of hashes written last (DESIGN.md §2). A stack without services (first deploy) gives a backup with
 * no services: rolling back to it removes everything.
 */
export async function createBackup(docker: DockerClient, options: CreateBackupOptions): Promise<Backup> {
  options.signal?.throwIfAborted()
  const services = await docker.listServices({filters: stackFilter(options.stack), signal: options.signal})
  return writeBackup({...options, services})
}
