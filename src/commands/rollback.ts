import {Flags} from '@oclif/core'
import {ClinicalCommand} from '../cli/base-command.js'
import {abortOnSignals} from '../cli/interrupt.js'
import {jsonFlag, stackFlag} from '../cli/flags.js'
import {DEPLOY_DEFAULTS, FLAG_ENV, resolveProbeSettings} from '../config/deploy-options.js'
import {parseDurationMs} from '../config/parse-units.js'
import {rollback} from '../deploy/rollback.js'
import {DockerClient} from '../docker/client.js'
import {RefusedError} from '../errors.js'
import {listrRunner} from '../ui/listr-runner.js'
import {chooseRenderer, rendererEnvironment} from '../ui/renderer.js'
import {formatRunSummary} from '../ui/run-summary.js'

export default class Rollback extends ClinicalCommand {
  static override summary = "Restore the service specs of a backup (default: the newest) and wait until healthy again"
  static override description = `Under the stack lock, puts back every service's saved spec (in parallel), removes services the backup does not hold, recreates those it holds that are gone, then converges and probes with the probe settings the deploy recorded in the backup (flags override them). Unknown --to → exit 2 listing the backups that exist.`

  static override examples = [
    {description: 'At 3 a.m.: back to the state before the last deploy', command: '<%= config.bin %> <%= command.id %> --stack clinical-platform'},
    {description: 'To an older backup', command: '<%= config.bin %> <%= command.id %> --stack clinical-platform --to 20261121-031500'},
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
    const interrupt = abortOnSignals((signal) => this.logToStderr(`clinical: ${signal}: the rollback goes on until the stack is restored; please wait`))
    const docker = new DockerClient()
    try {
      const result = await rollback(
        {stack: flags.stack, backupDir: flags['backup-dir'], to: flags.to, timeoutMs, probes, insecure: flags.insecure},
        {docker, runner: listrRunner(chooseRenderer(rendererEnvironment(flags.json))), signal: interrupt.signal},
      )
      if (flags.json) this.log(JSON.stringify(result, null, 2))
      else this.log(formatRunSummary(result))
      if (result.exitCode !== 0) this.exit(result.exitCode)
    } finally {
      interrupt.dispose()
      await docker.close()
    }
  }
}
