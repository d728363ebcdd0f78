import {Command} from '@oclif/core'
import {ClinicalError, exitCodeOf} from '../errors.js'

/**
 * The base of every clinical command: turns a thrown error into one line on stderr and the exit code of the
 * one table (exit-codes.ts). oclif's own flag-parsing errors keep their exit code 2.
 */
export abstract class ClinicalCommand extends Command {
  protected override async catch(error: Error & {oclif?: {exit?: number}}): Promise<unknown> {
    if (error.oclif?.exit !== undefined) throw error // oclif's exit and parse errors: already mapped
    const message = error instanceof ClinicalError ? error.message : `unexpected error: ${error.message}`
    this.logToStderr(`clinical: ${oneLine(message)}`)
    if (!(error instanceof ClinicalError) && process.env.CLINICAL_DEBUG) this.logToStderr(error.stack ?? '')
    return this.exit(exitCodeOf(error))
  }
}

function oneLine(text: string): string {
  return text.replace(/\s*\n\s*/g, ' ').trim()
}
