import {Command, Help, type Interfaces} from '@oclif/core'
import {EXIT_CODE_MEANINGS} from '../exit-codes.js'

/**
 * oclif's help plus the exit-code table as the last section, at the root, under every topic and under every
 * command (loaded only for `--help`, so it costs nothing at start-up).
 */
export default class ClinicalHelp extends Help {
  // formatRoot() is only the top of the root help (topics and commands follow it): append after all of them.
  protected override async showRootHelp(): Promise<void> {
    await super.showRootHelp()
    this.log(this.exitCodesSection())
    this.log('')
  }

  protected override async showTopicHelp(topic: Interfaces.Topic): Promise<void> {
    await super.showTopicHelp(topic)
    this.log(this.exitCodesSection())
    this.log('')
  }

  protected override formatCommand(command: Command.Loadable): string {
    return `${super.formatCommand(command)}\n\n${this.exitCodesSection()}`
  }

  private exitCodesSection(): string {
    return this.section(
      'EXIT CODES',
      EXIT_CODE_MEANINGS.map(([code, meaning]): [string, string] => [String(code), meaning]),
    )
  }
}
