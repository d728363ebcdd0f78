import {Flags} from '@oclif/core'
import {ClinicalCommand} from '../cli/base-command.js'
import {jsonFlag, stackFlag} from '../cli/flags.js'
import {DEPLOY_DEFAULTS, FLAG_ENV} from '../config/deploy-options.js'
import {historyPath, readHistory} from '../history/history-file.js'
import {formatHistoryTable} from '../history/history-table.js'

export default class History extends ClinicalCommand {
  static override summary = 'The audit trail of the stack: every deploy, rollback, backup and unlock, newest first'
  static override description = `Reads <backup-dir>/<stack>/history.jsonl (nothing changes). Each line records when, who (user, host, CI run), the command and its flags (never a secret value), the app version, the images after the run, the backup, the outcome, the exit code and the duration of each phase. Each line also carries the sha256 of the line before it: clinical history verify checks the chain.

With --json, prints {stack, file, total, entries: [{line, time, startedAt, stack, command, outcome, exitCode, who, flags, appVersion, images, backupId, message, durationMs, phases, details, prev, sha256}]}, newest first.`

  static override examples = [
    {description: 'The last 20 runs of the default stack', command: '<%= config.bin %> <%= command.id %>'},
    {description: 'Everything, as JSON', command: '<%= config.bin %> <%= command.id %> --stack clinical-platform --limit 0 --json'},
    {description: 'Check that nobody edited it', command: '<%= config.bin %> history verify --stack clinical-platform'},
  ]

  static override flags = {
    stack: stackFlag,
    'backup-dir': Flags.string({env: FLAG_ENV.backupDir, default: DEPLOY_DEFAULTS.backupDir, description: 'where backups and the history are: <dir>/<stack>/history.jsonl'}),
    limit: Flags.integer({default: 20, min: 0, description: 'how many runs, newest first (0: all)'}),
    json: jsonFlag,
  }

  async run(): Promise<void> {
    const {flags} = await this.parse(History)
    const file = historyPath(flags['backup-dir'], flags.stack)
    const {records, unreadableLines, exists} = await readHistory(file)
    const newestFirst = records.reverse()
    const shown = flags.limit > 0 ? newestFirst.slice(0, flags.limit) : newestFirst
    if (flags.json) {
      this.printJson({stack: flags.stack, file, total: records.length, entries: shown.map(({line, entry}) => ({line, ...entry}))})
    } else if (!exists || records.length === 0) {
      this.log(`no history for stack ${flags.stack} in ${file}`)
    } else {
      this.log(`${shown.length} of ${records.length} run(s) of stack ${flags.stack}, newest first (${file})`)
      this.log(formatHistoryTable(shown))
    }
    if (unreadableLines.length > 0) {
      this.warning(`line(s) ${unreadableLines.join(', ')} of ${file} are not JSON: run clinical history verify --stack ${flags.stack}`)
    }
  }
}
