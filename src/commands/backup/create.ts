import {Flags} from '@oclif/core'
import {takeBackup} from '../../backup/take-backup.js'
import {ClinicalCommand} from '../../cli/base-command.js'
import {jsonFlag, stackFlag} from '../../cli/flags.js'
import {abortOnSignals} from '../../cli/interrupt.js'
import {DEPLOY_DEFAULTS, FLAG_ENV, resolveProbeSettings} from '../../config/deploy-options.js'
import {formatBytes, parseSizeBytes} from '../../config/parse-units.js'
import {DockerClient} from '../../docker/client.js'
import {ClinicalError, RefusedError, exitCodeOf} from '../../errors.js'
import {ExitCode} from '../../exit-codes.js'
import {appendHistory} from '../../history/history-file.js'

export default class BackupCreate extends ClinicalCommand {
  static override summary = "Back up the stack now, as a deploy's backup phase does, under the stack lock"
  static override description = `Writes <backup-dir>/<stack>/<id>/: every service spec, config.tar.gz, volumes/<volume>.tar.gz for each volume of the stack on this node (plus --volume extras), and manifest.json with the size and sha256 of every file. Volumes are read through a helper container that is created and never started. It is refused (exit 2) when the backup dir's filesystem cannot hold the estimate plus --min-free-disk. The new backup is then verified (re-read from disk; one that does not verify is removed) and --keep N removes older backups, never the newest good one nor the newest taken by a deploy (the one clinical rollback needs to undo the last deploy). A deploy or rollback running holds the lock: exit 3. Nothing in the stack changes: a failed backup is exit 2 and leaves nothing that looks complete.`

  static override examples = [
    {description: 'Back up the default stack', command: '<%= config.bin %> <%= command.id %>'},
    {description: 'Keep the 7 newest backups, as JSON', command: '<%= config.bin %> <%= command.id %> --stack clinical-platform --keep 7 --json'},
    {description: 'Also archive a volume outside the stack', command: '<%= config.bin %> <%= command.id %> --volume shared_uploads'},
  ]

  static override flags = {
    stack: stackFlag,
    'backup-dir': Flags.string({env: FLAG_ENV.backupDir, default: DEPLOY_DEFAULTS.backupDir, description: 'where backups go: <dir>/<stack>/<id>/'}),
    'config-dir': Flags.string({description: `config dir archived as config.tar.gz [${FLAG_ENV.configDir}] (default: ${DEPLOY_DEFAULTS.configDir}; a missing default is a note)`}),
    volume: Flags.string({multiple: true, description: 'also archive this volume (repeatable); it must be on this node'}),
    'backup-volumes': Flags.boolean({default: true, allowNo: true, description: 'archive the stack volumes (--no-backup-volumes: specs and config only)'}),
    keep: Flags.integer({min: 1, description: 'then keep only the N newest backups (never removes the newest good one nor the one a rollback needs)'}),
    'min-free-disk': Flags.string({
      description: `free space the backup must leave on the backup dir's filesystem: B, KB, MB, GB, TB, PB (default: ${DEPLOY_DEFAULTS.minFreeDisk}, as for deploy)`,
    }),
    'health-url': Flags.string({multiple: true, description: 'health URLs to record for a rollback to this backup (default: those of the newest backup)'}),
    'app-probe-url': Flags.string({description: 'app probe URL to record'}),
    'app-probe': Flags.string({options: ['warn', 'fail', 'off'], description: 'app probe mode to record'}),
    'allow-root': Flags.boolean({default: false, description: 'allow running as root'}),
    json: jsonFlag,
  }

  async run(): Promise<void> {
    const {flags} = await this.parse(BackupCreate)
    if (process.getuid?.() === 0 && !flags['allow-root']) {
      throw new RefusedError('refusing to run as root: run as a member of the docker group, or pass --allow-root')
    }
    const minFreeDiskBytes = parseSizeBytes(flags['min-free-disk'] ?? DEPLOY_DEFAULTS.minFreeDisk, '--min-free-disk')
    const configDirGiven = flags['config-dir'] ?? (process.env[FLAG_ENV.configDir] || undefined)
    const probesGiven = flags['health-url'] || flags['app-probe-url'] || flags['app-probe']
    const probes = probesGiven
      ? resolveProbeSettings(
          {healthUrl: flags['health-url'] ?? ['none'], appProbeUrl: flags['app-probe-url'], appProbe: flags['app-probe'] ?? (flags['app-probe-url'] ? 'warn' : 'off')},
          {},
        )
      : undefined
    const interrupt = abortOnSignals((signal) => this.logToStderr(`clinical: ${signal}: stopping the backup`))
    const docker = new DockerClient()
    const startedAtMs = Date.now()
    // the audit trail of the stack (clinical history) records every backup create, failed ones too
    const record = (entry: {outcome: string; exitCode: number; message: string; backupId?: string}): Promise<unknown> =>
      appendHistory({
        backupDir: flags['backup-dir'],
        stack: flags.stack,
        command: 'backup create',
        startedAt: new Date(startedAtMs).toISOString(),
        clinicalVersion: this.config.version,
        flags,
        ...entry,
        durationMs: Date.now() - startedAtMs,
        redactor: this.secrets,
      }).catch((error: Error) => this.warning(`the backup was not recorded in the history of stack ${flags.stack} (${error.message})`))
    try {
      const result = await takeBackup(docker, {
        stack: flags.stack,
        backupDir: flags['backup-dir'],
        configDir: configDirGiven ?? DEPLOY_DEFAULTS.configDir,
        configDirRequired: configDirGiven !== undefined,
        backupVolumes: flags['backup-volumes'],
        extraVolumes: flags.volume ?? [],
        probes,
        appVersion: process.env.APP_VERSION || undefined,
        keep: flags.keep,
        minFreeDiskBytes,
        signal: interrupt.signal,
        report: flags.json ? undefined : (line) => this.log(line),
        onWarning: (message) => this.warning(message),
        redactor: this.secrets,
      }).catch(async (error: unknown) => {
        await record({outcome: 'failed', exitCode: exitCodeOf(error), message: error instanceof Error ? error.message : String(error)})
        throw error
      })
      await record({
        outcome: result.verified ? 'success' : 'failed',
        exitCode: result.verified ? ExitCode.Success : ExitCode.Refused,
        message: `backup ${result.id}: ${result.services.length} service(s), ${result.volumes.length} volume(s)${result.verified ? '' : ', does not verify (removed)'}${result.retention?.removed.length ? `; removed ${result.retention.removed.join(', ')}` : ''}`,
        backupId: result.id,
      })
      if (flags.json) {
        this.printJson(result)
      } else {
        for (const note of result.notes) this.log(`note: ${note}`)
        this.log(
          `backup ${result.id} of stack ${result.stack}: ${result.services.length} service(s), ${result.volumes.length} volume(s), ${formatBytes(result.sizeBytes)}; ${result.verified ? 'verified' : 'FAILED verification, removed'}`,
        )
        for (const problem of result.problems) this.log(`  ${problem.path}: ${problem.problem}`)
      }
      if (!result.verified) {
        throw new ClinicalError(
          `backup ${result.id} was written to ${result.dir} but does not verify (disk or filesystem problem?), so it was removed (its manifest first): see the problems above`,
          ExitCode.Refused,
        )
      }
    } finally {
      interrupt.dispose()
      await docker.close()
    }
  }
}
