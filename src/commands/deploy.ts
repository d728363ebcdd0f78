import {Flags} from '@oclif/core'
import {ClinicalCommand} from '../cli/base-command.js'
import {abortOnSignals} from '../cli/interrupt.js'
import {jsonFlag} from '../cli/flags.js'
import {DEPLOY_DEFAULTS, FLAG_ENV, resolveDeployOptions} from '../config/deploy-options.js'
import {deploy} from '../deploy/deploy.js'
import {DockerClient} from '../docker/client.js'
import {runReported} from '../notify/run-reported.js'
import {listrRunner} from '../ui/listr-runner.js'
import {chooseRenderer, rendererEnvironment} from '../ui/renderer.js'
import {formatRunSummary} from '../ui/run-summary.js'

export default class Deploy extends ClinicalCommand {
  static override summary = 'Deploy the stack with a health-gated rollout and an automatic rollback'
  static override description = `Phases: preflight (nothing changes) → lock → backup → docker stack deploy → converge (every service running its NEW spec, then a stability window) → health probes → app probe → post-deploy. When converge or a probe fails, the service specs saved by this run's backup are put back, and the stack is converged and probed again. Ctrl-C, SIGTERM or a dropped SSH session roll back too. Each flag also reads the environment variable in brackets; a .env file (--env-file, default ./.env when present) never overrides the real environment.`

  static override examples = [
    {description: 'Deploy with the defaults (reads ./.env)', command: '<%= config.bin %> <%= command.id %>'},
    {
      description: 'A stack of your own with its own health URL',
      command: '<%= config.bin %> <%= command.id %> --stack web --compose-file stack.yml --health-url https://web.example.org/health --app-probe off',
    },
    {description: 'In CI, one JSON result on stdout', command: '<%= config.bin %> <%= command.id %> --json > result.json'},
  ]

  static override flags = {
    stack: Flags.string({description: `name of the Docker stack [${FLAG_ENV.stack}] (default: ${DEPLOY_DEFAULTS.stack})`}),
    'compose-file': Flags.string({char: 'c', description: `compose file [${FLAG_ENV.composeFile}] (default: ${DEPLOY_DEFAULTS.composeFile})`}),
    'env-file': Flags.string({description: 'env file loaded with dotenv; never overrides the real environment (default: ./.env when present)'}),
    'backup-dir': Flags.string({description: `where backups go: <dir>/<stack>/<id>/ [${FLAG_ENV.backupDir}] (default: ${DEPLOY_DEFAULTS.backupDir})`}),
    'config-dir': Flags.string({description: `config dir archived in the backup [${FLAG_ENV.configDir}] (default: ${DEPLOY_DEFAULTS.configDir}; a missing default is a warning)`}),
    'require-env': Flags.string({description: `comma-separated variables that must be set (default: ${DEPLOY_DEFAULTS.requireEnv})`}),
    'min-free-disk': Flags.string({description: `free space needed on the backup dir's filesystem: B, KB, MB, GB, TB, PB (default: ${DEPLOY_DEFAULTS.minFreeDisk})`}),
    'health-url': Flags.string({multiple: true, description: 'URL that must answer 2xx/3xx 3 times in a row (repeatable; default: the seed URLs from DOMAIN; "none" for no HTTP probes)'}),
    'app-probe-url': Flags.string({description: 'app start-up URL; 200 or 302 passes (default: https://stats.$DOMAIN/app/independent-t-test)'}),
    'app-probe': Flags.string({options: ['warn', 'fail', 'off'], description: 'what a failed app probe does (default: warn)'}),
    timeout: Flags.string({description: `bound on converge and probes: 90s, 10m, 1h (default: ${DEPLOY_DEFAULTS.timeout})`}),
    rollback: Flags.boolean({default: true, allowNo: true, description: 'roll back automatically when the rollout fails (--no-rollback: leave it for a person; exit 4)'}),
    'allow-root': Flags.boolean({default: false, description: 'allow running as root'}),
    'backup-volumes': Flags.boolean({default: true, allowNo: true, description: 'archive the stack volumes in the backup (--no-backup-volumes to skip)'}),
    volume: Flags.string({multiple: true, description: 'also archive this volume in the backup (repeatable; it must be on this node)'}),
    'prune-images': Flags.boolean({default: false, description: 'remove dangling images after a good deploy'}),
    insecure: Flags.boolean({default: false, description: 'skip TLS verification of the probes'}),
    'resolve-image': Flags.string({options: ['always', 'changed', 'never'], description: 'passed to docker stack deploy: ask the registry for image digests (default: always)'}),
    'slack-webhook-url': Flags.string({description: `Slack incoming webhook for notifications [${FLAG_ENV.slackWebhookUrl}]`}),
    json: jsonFlag,
  }

  async run(): Promise<void> {
    const {flags} = await this.parse(Deploy)
    const options = resolveDeployOptions(
      {
        stack: flags.stack,
        composeFile: flags['compose-file'],
        envFile: flags['env-file'],
        backupDir: flags['backup-dir'],
        configDir: flags['config-dir'],
        requireEnv: flags['require-env'],
        minFreeDisk: flags['min-free-disk'],
        healthUrl: flags['health-url'],
        appProbeUrl: flags['app-probe-url'],
        appProbe: flags['app-probe'],
        timeout: flags.timeout,
        rollback: flags.rollback,
        allowRoot: flags['allow-root'],
        backupVolumes: flags['backup-volumes'],
        volumes: flags.volume,
        pruneImages: flags['prune-images'],
        insecure: flags.insecure,
        resolveImage: flags['resolve-image'],
        slackWebhookUrl: flags['slack-webhook-url'],
        json: flags.json,
      },
      process.env,
      process.cwd(),
    )
    this.useSecrets(options.redactor)
    const interrupt = abortOnSignals((signal, first) =>
      this.logToStderr(first ? `clinical: ${signal}: stopping, rolling back what this run changed, releasing the lock` : `clinical: ${signal}: still rolling back; please wait`),
    )
    const docker = new DockerClient()
    try {
      const reporting = {
        ...this.reportingOutput(),
        command: 'deploy' as const,
        stack: options.stack,
        backupDir: options.backupDir,
        flags,
        appVersion: options.env.APP_VERSION,
        redactor: options.redactor,
        slackWebhookUrl: options.slackWebhookUrl,
        docker,
      }
      const result = await runReported(
        reporting,
        () =>
          deploy(options, {
            docker,
            runner: listrRunner(chooseRenderer(rendererEnvironment(options.json)), {redactor: options.redactor, label: `clinical deploy of ${options.stack}`}),
            signal: interrupt.signal,
            uid: process.getuid?.(),
          }),
        (done) => (options.json ? this.printJson(done) : this.log(formatRunSummary(done))),
      )
      if (result.exitCode !== 0) this.exit(result.exitCode)
    } finally {
      interrupt.dispose()
      await docker.close()
    }
  }
}
