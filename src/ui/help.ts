import {Command, Help} from '@oclif/core'
import {EXIT_CODE_MEANINGS} from '../exit-codes.js'

/**
 * oclif's help plus the exit-code table, under every command and at the root (loaded only for `--help`,
 * so it costs nothing at start-up).
 */
export default class ClinicalHelp extends Help {
  override formatRoot(): string {
    return `${super.formatRoot()}\n\n${this.exitCodesSection()}`
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
