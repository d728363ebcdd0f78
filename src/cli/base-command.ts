import {format} from 'node:util'
import {Command, type Interfaces} from '@oclif/core'
import {isGitHubActions} from '../ci/ci-run.js'
import {annotation, maskCommands} from '../ci/workflow-commands.js'
import {ClinicalError, exitCodeOf} from '../errors.js'
import {secretsOf} from '../secrets/error-secrets.js'
import {MIN_REDACTED_LENGTH, Redactor, secretValues} from '../secrets/redact.js'
import {urlPasswordsIn} from '../secrets/url-secrets.js'
import {keepRunningWithoutOutput} from './output-loss.js'

/**
 * The base of every clinical command: turns a thrown error into one line on stderr and the exit code of the
 * one table (exit-codes.ts). oclif's own flag-parsing errors keep their exit code 2.
 *
 * Secrets (DESIGN.md §7): everything the command logs, and every error it prints, goes through `secrets` (the
 * secret values of the environment, and the password of every URL among the parsed flags; a command that loads
 * more, like deploy's env file, calls `useSecrets`, and an error carrying a redactor (withSecrets) is printed with
 * it). In GitHub Actions every secret value is first announced with `::add-mask::`, before any other line.
 * `--json` output goes through `printJson`: its strings are redacted before it is serialised.
 */
export abstract class ClinicalCommand extends Command {
  protected secrets: Redactor = new Redactor(secretValues(process.env))
  private readonly masked = new Set<string>()
  private shortValuesWarned = 0
  /** Passwords of the URLs among the parsed flags (`--health-url https://user:pw@host/...`). */
  private readonly flagSecrets: string[] = []

  protected override async init(): Promise<void> {
    keepRunningWithoutOutput()
    this.useSecrets(this.secrets)
    await super.init()
  }

  /** GITHUB_ACTIONS=true. */
  protected get githubActions(): boolean {
    return isGitHubActions(process.env)
  }

  /** Writes a workflow command line (GitHub Actions): on stderr with --json (stdout holds the JSON), else stdout. */
  protected writeWorkflowCommand(line: string): void {
    const stream = this.argv.includes('--json') ? process.stderr : process.stdout
    stream.write(`${line}\n`)
  }

  /** Parses as oclif does; the password of every URL among the flag values becomes a secret of this run. */
  protected override async parse<F extends FlagOutput, B extends FlagOutput, A extends FlagOutput>(
    options?: Interfaces.Input<F, B, A>,
    argv?: string[],
  ): Promise<Interfaces.ParserOutput<F, B, A>> {
    const parsed = await super.parse(options, argv)
    const passwords = urlPasswordsIn(Object.values(parsed.flags as Record<string, unknown>))
    if (passwords.length > 0) {
      this.flagSecrets.push(...passwords)
      this.useSecrets(this.secrets)
    }
    return parsed
  }

  /**
   * From now on, redact with `redactor`, which also learns the URL passwords of the flags (it is mutated, so the
   * caller's plan runner, Slack and history hide them too); in GitHub Actions, mask the values not masked yet
   * (before anything else).
   */
  protected useSecrets(redactor: Redactor): void {
    this.secrets = redactor.add(this.flagSecrets)
    if (!this.githubActions) return
    for (const line of maskCommands(redactor.values, this.masked)) this.writeWorkflowCommand(line)
    if (redactor.shortValueCount > this.shortValuesWarned) {
      this.shortValuesWarned = redactor.shortValueCount
      this.writeWorkflowCommand(
        annotation(
          'warning',
          `${redactor.shortValueCount} secret value(s) shorter than ${MIN_REDACTED_LENGTH} characters are neither masked nor redacted (masking them would hide every such string in the log); use longer secrets`,
          'clinical: short secrets',
        ),
      )
    }
  }

  /** A warning on stderr (an annotation in GitHub Actions); redacted. */
  protected warning(message: string): void {
    if (this.githubActions) this.writeWorkflowCommand(annotation('warning', this.secrets.redact(message)))
    else this.logToStderr(`clinical: warning: ${message}`)
  }

  /** What runReported needs from the command: GitHub Actions output, the job summary file, warnings, version. */
  protected reportingOutput(): {githubWrite?: (line: string) => void; stepSummaryPath?: string; warn: (message: string) => void; clinicalVersion: string} {
    const github = this.githubActions
    return {
      ...(github ? {githubWrite: (line: string) => this.writeWorkflowCommand(this.secrets.redact(line))} : {}),
      ...(github && process.env.GITHUB_STEP_SUMMARY ? {stepSummaryPath: process.env.GITHUB_STEP_SUMMARY} : {}),
      warn: (message: string) => this.warning(message),
      clinicalVersion: this.config.version,
    }
  }

  /**
   * `--json` output: the value's strings (and keys) redacted, then serialised, with no pass over the text after: a
   * secret made of digits cannot cut a number, and a secret holding `"` or `\` is found as it is.
   */
  protected printJson(value: unknown): void {
    super.log(JSON.stringify(this.secrets.redactValue(value), null, 2))
  }

  override log(message = '', ...args: unknown[]): void {
    super.log(this.secrets.redact(format(message, ...args)))
  }

  override logToStderr(message = '', ...args: unknown[]): void {
    super.logToStderr(this.secrets.redact(format(message, ...args)))
  }

  protected override async catch(error: Error & {oclif?: {exit?: number}}): Promise<unknown> {
    const carried = secretsOf(error)
    if (carried) this.useSecrets(carried)
    if (error.oclif?.exit !== undefined) throw this.redactedError(error) // oclif's exit and parse errors: already mapped
    const message = oneLine(this.secrets.redact(error instanceof ClinicalError ? error.message : `unexpected error: ${error.message}`))
    if (this.githubActions) this.writeWorkflowCommand(annotation('error', message, `clinical ${this.id ?? ''}`.trim()))
    this.logToStderr(`clinical: ${message}`)
    if (!(error instanceof ClinicalError) && process.env.CLINICAL_DEBUG) this.logToStderr(this.secrets.redact(error.stack ?? ''))
    return this.exit(exitCodeOf(error))
  }

  /**
   * The error with its message and stack redacted, for oclif to print: its parse errors quote the value at fault
   * ("Expected an integer but received: ..."). Own properties are defined: CLIError's stack is a getter.
   */
  private redactedError<E extends Error>(error: E): E {
    const redact = (name: 'message' | 'stack'): void => {
      const text = error[name]
      if (typeof text === 'string' && this.secrets.redact(text) !== text) {
        Object.defineProperty(error, name, {value: this.secrets.redact(text), writable: true, configurable: true, enumerable: false})
      }
    }
    redact('message')
    redact('stack')
    const suggestions = (error as {suggestions?: unknown}).suggestions
    if (Array.isArray(suggestions)) (error as {suggestions?: unknown}).suggestions = this.secrets.redactValue(suggestions)
    return error
  }
}

/** The shape oclif's parse() takes for flags and args (not exported by @oclif/core). */
type FlagOutput = {[name: string]: any}

function oneLine(text: string): string {
  return text.replace(/\s*\n\s*/g, ' ').trim()
}
