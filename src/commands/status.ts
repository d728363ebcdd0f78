import {ClinicalCommand} from '../cli/base-command.js'
import {jsonFlag, stackFlag} from '../cli/flags.js'
import {DockerClient} from '../docker/client.js'
import {readStackStatus} from '../status/stack-status.js'
import {formatStatusTable} from '../ui/status-table.js'

export default class Status extends ClinicalCommand {
  static override summary = "Show the stack's services: image, replicas, update state and the last task error"
  static override description = `Reads the swarm (nothing changes). Replicas are running/desired tasks as Swarm counts them; the last error is the newest task error of each service (for example "task: non-zero exit (3)"). With --json, prints {stack, services: [{name, id, image, mode, desired, running, updateState, updateMessage, lastTaskError: {taskId, slot, state, error, at} | null}]}.`

  static override examples = [
    {description: 'The default stack (clinical-platform, or $CLINICAL_STACK)', command: '<%= config.bin %> <%= command.id %>'},
    {description: 'One stack, as JSON for scripts', command: '<%= config.bin %> <%= command.id %> --stack clinical-platform --json'},
    {description: 'A remote manager over TLS', command: 'DOCKER_HOST=tcp://manager-1:2376 DOCKER_TLS_VERIFY=1 <%= config.bin %> <%= command.id %>'},
  ]

  static override flags = {
    stack: stackFlag,
    json: jsonFlag,
  }

  async run(): Promise<void> {
    const {flags} = await this.parse(Status)
    const docker = new DockerClient()
    try {
      const status = await readStackStatus(docker, flags.stack)
      if (flags.json) this.printJson(status)
      else this.log(formatStatusTable(status))
    } finally {
      await docker.close()
    }
  }
}
