import {Args, Flags} from '@oclif/core'
import {verifyBackupById} from '../../backup/backup-list.js'
import {ClinicalCommand} from '../../cli/base-command.js'
import {jsonFlag, stackFlag} from '../../cli/flags.js'
import {DEPLOY_DEFAULTS, FLAG_ENV} from '../../config/deploy-options.js'
import {ExitCode} from '../../exit-codes.js'

export default class BackupVerify extends ClinicalCommand {
  static override summary = 'Re-hash every file of a backup against its manifest and read every archive through'
  static override description = `Checks each file's size and sha256 against manifest.json, reads each .tar.gz through (gzip and every tar header: complete, the entry count of the manifest, no entry outside its volume), and names files that are missing or not in the manifest. Prints one line per problem, naming the file. The result is recorded for clinical backup list.

Exit codes: 0 the backup is intact; 2 it is not (each mismatch is named) or the id is unknown. A damaged backup is refused for use, and nothing was changed: the same code clinical rollback gives when asked to restore it. With --json, prints {stack, id, dir, ok, problems: [{path, problem}]}.`

  static override examples = [
    {description: 'Check one backup', command: '<%= config.bin %> <%= command.id %> 20261122-031500'},
    {description: 'In a script', command: '<%= config.bin %> <%= command.id %> 20261122-031500 --stack clinical-platform --json'},
  ]

  static override args = {
    id: Args.string({required: true, description: 'backup id (YYYYMMDD-HHMMSS), as clinical backup list shows'}),
  }

  static override flags = {
    stack: stackFlag,
    'backup-dir': Flags.string({env: FLAG_ENV.backupDir, default: DEPLOY_DEFAULTS.backupDir, description: 'where backups are: <dir>/<stack>/<id>/'}),
    json: jsonFlag,
  }

  async run(): Promise<void> {
    const {args, flags} = await this.parse(BackupVerify)
    const result = await verifyBackupById(flags['backup-dir'], flags.stack, args.id)
    if (flags.json) {
      this.printJson({stack: flags.stack, id: result.id, dir: result.dir, ok: result.ok, problems: result.problems})
    } else if (result.ok) {
      this.log(`backup ${result.id} of stack ${flags.stack} is intact: every file matches its manifest and every archive reads through`)
    } else {
      for (const problem of result.problems) this.log(`${problem.path}: ${problem.problem}`)
    }
    if (!result.ok) {
      this.logToStderr(`clinical: backup ${result.id} failed verification: ${result.problems.map((problem) => problem.path).join(', ')}; do not restore it: choose another backup (clinical backup list)`)
      this.exit(ExitCode.Refused)
    }
  }
}
