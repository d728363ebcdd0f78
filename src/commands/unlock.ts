import {Flags} from '@oclif/core'
import {ClinicalCommand} from '../cli/base-command.js'
import {jsonFlag, stackFlag} from '../cli/flags.js'
import {DEPLOY_DEFAULTS, FLAG_ENV} from '../config/deploy-options.js'
import {DockerClient} from '../docker/client.js'
import {describeHolder, holderRunning, type LockHolder, removeStackLock} from '../deploy/lock.js'
import {exitCodeOf} from '../errors.js'
import {appendHistory} from '../history/history-file.js'

export default class Unlock extends ClinicalCommand {
  static override summary = "Remove the stack's deploy lock, showing who held it"
  static override description = `Use it when a deploy or rollback died without releasing its lock (host rebooted, runner killed): clinical deploy and clinical rollback then stop at once with exit 3 and name the holder.

The lock is the swarm config clinical-lock-<stack> (a hashed name when the stack name is long); this removes it, whoever holds it. When the holder is a process on this host that still runs, a warning says so: that run then carries on unlocked. No lock held is not an error (exit 0).

With --json, prints {stack, removed, holder: {stack, command, user, host, pid, startedAt, ciRunUrl?} | null, holderRunning: true | false | null} (null: the holder ran on another host, so whether it still runs is unknown).`

  static override examples = [
    {description: 'Clear the lock of the default stack (clinical-platform, or $CLINICAL_STACK)', command: '<%= config.bin %> <%= command.id %>'},
    {description: 'Clear the lock of one stack, as JSON for scripts', command: '<%= config.bin %> <%= command.id %> --stack clinical-platform --json'},
    {description: 'On a remote manager over TLS', command: 'DOCKER_HOST=tcp://manager-1:2376 DOCKER_TLS_VERIFY=1 <%= config.bin %> <%= command.id %> --stack clinical-platform'},
  ]

  static override flags = {
    stack: stackFlag,
    'backup-dir': Flags.string({env: FLAG_ENV.backupDir, default: DEPLOY_DEFAULTS.backupDir, description: 'the history of the stack is <dir>/<stack>/history.jsonl (an unlock is recorded there)'}),
    json: jsonFlag,
  }

  async run(): Promise<void> {
    const {flags} = await this.parse(Unlock)
    const docker = new DockerClient()
    const startedAtMs = Date.now()
    const record = async (entry: {outcome: string; exitCode: number; message: string; holder?: LockHolder}): Promise<void> => {
      await appendHistory({
        backupDir: flags['backup-dir'],
        stack: flags.stack,
        command: 'unlock',
        startedAt: new Date(startedAtMs).toISOString(),
        clinicalVersion: this.config.version,
        flags,
        outcome: entry.outcome,
        exitCode: entry.exitCode,
        message: entry.message,
        durationMs: Date.now() - startedAtMs,
        ...(entry.holder ? {details: {holder: entry.holder}} : {}),
        redactor: this.secrets,
      }).catch((error: Error) => this.warning(`the unlock was not recorded in the history of stack ${flags.stack} (${error.message})`))
    }
    try {
      let holder: LockHolder | undefined
      try {
        holder = await removeStackLock(docker, flags.stack)
      } catch (error) {
        await record({outcome: 'error', exitCode: exitCodeOf(error), message: (error as Error).message})
        throw error
      }
      await record(
        holder
          ? {outcome: 'removed', exitCode: 0, message: `removed the lock held by ${describeHolder(holder)}`, holder}
          : {outcome: 'no-lock', exitCode: 0, message: 'no lock was held'},
      )
      const running = holder ? holderRunning(holder) : undefined
      if (flags.json) {
        this.printJson({stack: flags.stack, removed: Boolean(holder), holder: holder ?? null, holderRunning: running ?? null})
      } else if (holder) {
        this.log(`removed the lock of stack ${flags.stack}, held by ${describeHolder(holder)}`)
      } else {
        this.log(`no lock held on stack ${flags.stack}`)
      }
      if (holder && running) {
        this.logToStderr(`clinical: warning: the holder (pid ${holder.pid}) still runs on this host and now carries on without the lock`)
      }
    } finally {
      await docker.close()
    }
  }
}
