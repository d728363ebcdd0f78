import {Flags} from '@oclif/core'
import {ClinicalCommand} from '../../cli/base-command.js'
import {jsonFlag, stackFlag} from '../../cli/flags.js'
import {DEPLOY_DEFAULTS, FLAG_ENV} from '../../config/deploy-options.js'
import {ClinicalError, RefusedError} from '../../errors.js'
import {ExitCode} from '../../exit-codes.js'
import {historyPath, verifyHistory} from '../../history/history-file.js'

export default class HistoryVerify extends ClinicalCommand {
  static override summary = "Check that the stack's history was not edited: every line's sha256 and the chain of hashes"
  static override description = `Each line of <backup-dir>/<stack>/history.jsonl ends with the sha256 of its own text and carries (prev) the sha256 of the line before it. An edited line, or a line removed or inserted in the middle, breaks them: the command then names each line at fault and exits 4 (a person must look). No history file: exit 2. Lines removed from the end cannot be told from a shorter history: keep a copy elsewhere when that matters.

With --json, prints {stack, path, lines, ok, problems: [{line, problem}]}.`

  static override examples = [
    {description: 'The default stack', command: '<%= config.bin %> <%= command.id %>'},
    {description: 'As JSON for scripts', command: '<%= config.bin %> <%= command.id %> --stack clinical-platform --json'},
  ]

  static override flags = {
    stack: stackFlag,
    'backup-dir': Flags.string({env: FLAG_ENV.backupDir, default: DEPLOY_DEFAULTS.backupDir, description: 'where backups and the history are: <dir>/<stack>/history.jsonl'}),
    json: jsonFlag,
  }

  async run(): Promise<void> {
    const {flags} = await this.parse(HistoryVerify)
    const file = historyPath(flags['backup-dir'], flags.stack)
    const result = await verifyHistory(file).catch((error: NodeJS.ErrnoException) => {
      if (error.code === 'ENOENT') throw new RefusedError(`no history for stack ${flags.stack}: ${file} does not exist (check --stack and --backup-dir)`)
      throw new RefusedError(`cannot read ${file}: ${error.message}`)
    })
    if (flags.json) {
      this.printJson({stack: flags.stack, ...result})
      if (!result.ok) this.exit(ExitCode.NeedsPerson)
      return
    }
    if (result.ok) {
      this.log(`history of stack ${flags.stack} intact: ${result.lines} line(s), every sha256 and the chain check out (${file})`)
      return
    }
    for (const problem of result.problems) this.logToStderr(`${file}:${problem.line}: ${problem.problem}`)
    const lines = [...new Set(result.problems.map((problem) => problem.line))]
    throw new ClinicalError(
      `the history of stack ${flags.stack} was changed: line(s) ${lines.join(', ')} of ${file} fail verification; find out who edited it (keep the file as it is)`,
      ExitCode.NeedsPerson,
    )
  }
}
