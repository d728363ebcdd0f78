import {Flags} from '@oclif/core'
import {ClinicalCommand} from '../cli/base-command.js'
import {abortOnSignals} from '../cli/interrupt.js'
import {jsonFlag, stackFlag} from '../cli/flags.js'
import {DEPLOY_DEFAULTS, FLAG_ENV, resolveProbeSettings} from '../config/deploy-options.js'
import {parseDurationMs} from '../config/parse-units.js'
import {rollback} from '../deploy/rollback.js'
import {join} from 'node:path'
import {readManifest} from '../backup/manifest.js'
import {loadBackup} from '../backup/backup-store.js'
import {confirmVolumeRestore} from '../backup/restore-confirmation.js'
import {DockerClient} from '../docker/client.js'
import {RefusedError} from '../errors.js'
import {runReported} from '../notify/run-reported.js'
import {Redactor, secretValues} from '../secrets/redact.js'
import {listrRunner} from '../ui/listr-runner.js'
import {chooseRenderer, rendererEnvironment} from '../ui/renderer.js'
import {formatRunSummary} from '../ui/run-summary.js'

export default class Rollback extends ClinicalCommand {
  static override summary = "Restore the service specs of a backup (default: the newest) and wait until healthy again"
  static override description = `Under the stack lock, puts back every service's saved spec (in parallel), removes services the backup does not hold, recreates those it holds that are gone, then converges and probes with the probe settings the deploy recorded in the backup (flags override them). Unknown --to → exit 2 listing the backups that exist. With --restore-volumes, the backup is verified and the content of its volumes is put back first (the services using them are scaled to 0 meanwhile; each volume is removed and created again, so files written after the backup do not survive); it asks unless --yes, and is refused in CI or without a terminal.`

  static override examples = [
    {description: 'At 3 a.m.: back to the state before the last deploy', command: '<%= config.bin %> <%= command.id %> --stack clinical-platform'},
    {description: 'To an older backup', command: '<%= config.bin %> <%= command.id %> --stack clinical-platform --to 20261121-031500'},
    {description: 'Also put back the volumes of that backup (asks first)', command: '<%= config.bin %> <%= command.id %> --to 20261121-031500 --restore-volumes'},
  ]

  static override flags = {
    stack: stackFlag,
    'backup-dir': Flags.string({env: FLAG_ENV.backupDir, default: DEPLOY_DEFAULTS.backupDir, description: 'where backups are: <dir>/<stack>/<id>/'}),
    to: Flags.string({description: 'backup id (YYYYMMDD-HHMMSS); default: the newest'}),
    timeout: Flags.string({default: DEPLOY_DEFAULTS.timeout, description: 'bound on converge and probes: 90s, 10m, 1h'}),
    'health-url': Flags.string({multiple: true, description: 'override the recorded health URLs ("none" for no HTTP probes)'}),
    'app-probe-url': Flags.string({description: 'override the recorded app probe URL'}),
    'app-probe': Flags.string({options: ['warn', 'fail', 'off'], description: 'override the recorded app probe mode'}),
    insecure: Flags.boolean({default: false, description: 'skip TLS verification of the probes'}),
    'allow-root': Flags.boolean({default: false, description: 'allow running as root'}),
    'restore-volumes': Flags.boolean({
      default: false,
      description: "also replace the content of the backup's volumes (verified first; services using them are scaled to 0 meanwhile); asks unless --yes",
    }),
    yes: Flags.boolean({default: false, description: 'do not ask before --restore-volumes (required in CI or without a terminal)'}),
    'slack-webhook-url': Flags.string({env: FLAG_ENV.slackWebhookUrl, description: 'Slack incoming webhook for notifications'}),
    json: jsonFlag,
  }

  async run(): Promise<void> {
    const {flags} = await this.parse(Rollback)
    const timeoutMs = parseDurationMs(flags.timeout, '--timeout')
    if (process.getuid?.() === 0 && !flags['allow-root']) {
      throw new RefusedError('refusing to run as root: run as a member of the docker group, or pass --allow-root')
    }
    const overridden = flags['health-url'] || flags['app-probe-url'] || flags['app-probe']
    const probes = overridden
      ? resolveProbeSettings(
          {healthUrl: flags['health-url'] ?? ['none'], appProbeUrl: flags['app-probe-url'], appProbe: flags['app-probe'] ?? (flags['app-probe-url'] ? 'warn' : 'off')},
          {},
        )
      : undefined
    const slackWebhookUrl = flags['slack-webhook-url'] || undefined
    const redactor = new Redactor([...secretValues(process.env), ...(slackWebhookUrl ? [slackWebhookUrl] : [])])
    this.useSecrets(redactor)
    let to = flags.to
    if (flags['restore-volumes']) {
      // ask about the backup that will be restored, and restore exactly that one
      const backup = await loadBackup(flags['backup-dir'], flags.stack, flags.to)
      await confirmVolumeRestore({stack: flags.stack, backup, yes: flags.yes, env: process.env, stdin: process.stdin, stderr: process.stderr})
      to = backup.id
    }
    const interrupt = abortOnSignals((signal) => this.logToStderr(`clinical: ${signal}: the rollback goes on until the stack is restored; please wait`))
    const docker = new DockerClient()
    try {
      const backupDir = flags['backup-dir']
      const result = await runReported(
        {
          ...this.reportingOutput(),
          command: 'rollback',
          stack: flags.stack,
          backupDir,
          flags,
          redactor,
          slackWebhookUrl,
          docker,
          target: to ? `to backup ${to}` : 'to the newest backup',
        },
        () =>
          rollback(
            {stack: flags.stack, backupDir, to, timeoutMs, probes, insecure: flags.insecure, restoreVolumes: flags['restore-volumes']},
            {docker, runner: listrRunner(chooseRenderer(rendererEnvironment(flags.json)), {redactor, label: `clinical rollback of ${flags.stack}`}), signal: interrupt.signal},
          ),
        (done) => (flags.json ? this.printJson(done) : this.log(formatRunSummary(done))),
        // the app version the stack runs after a rollback: the restored backup's
        {appVersionOf: async (done) => (done.backupId ? (await readManifest(join(backupDir, flags.stack, done.backupId))).manifest.appVersion : undefined)},
      )
      if (result.exitCode !== 0) this.exit(result.exitCode)
    } finally {
      interrupt.dispose()
      await docker.close()
    }
  }
}
