import {Flags} from '@oclif/core'
import {listBackupsWithStatus} from '../../backup/backup-list.js'
import {ClinicalCommand} from '../../cli/base-command.js'
import {jsonFlag, stackFlag} from '../../cli/flags.js'
import {DEPLOY_DEFAULTS, FLAG_ENV} from '../../config/deploy-options.js'
import {formatBackupTable} from '../../backup/backup-table.js'

export default class BackupList extends ClinicalCommand {
  static override summary = 'List the backups of the stack, newest first'
  static override description = `Reads <backup-dir>/<stack>/ (no Docker needed). A directory without a complete manifest (a backup being written, or one that failed) is not listed. "verified" is the result of the last clinical backup verify (or of the check after backup create): yes, NO, or - when never verified; --verify checks every backup now. With --json, prints {stack, backupDir, backups: [{id, createdAt, takenBy, appVersion, sizeBytes, services, volumes, verified: {ok, at, problems} | null}]}.`

  static override examples = [
    {description: 'The backups of the default stack', command: '<%= config.bin %> <%= command.id %>'},
    {description: 'As JSON, checking each backup now', command: '<%= config.bin %> <%= command.id %> --stack clinical-platform --verify --json'},
  ]

  static override flags = {
    stack: stackFlag,
    'backup-dir': Flags.string({env: FLAG_ENV.backupDir, default: DEPLOY_DEFAULTS.backupDir, description: 'where backups are: <dir>/<stack>/<id>/'}),
    verify: Flags.boolean({default: false, description: 're-hash every backup now (reads every archive) and record the results'}),
    json: jsonFlag,
  }

  async run(): Promise<void> {
    const {flags} = await this.parse(BackupList)
    const backups = await listBackupsWithStatus(flags['backup-dir'], flags.stack, {verifyNow: flags.verify})
    if (flags.json) this.printJson({stack: flags.stack, backupDir: flags['backup-dir'], backups})
    else this.log(formatBackupTable(flags.stack, backups))
  }
}
