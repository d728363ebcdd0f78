import {join} from 'node:path'
import {Config, Flags} from '@oclif/core'
import {afterEach, beforeAll, describe, expect, it, vi} from 'vitest'
import {ClinicalCommand} from '../../../src/cli/base-command.js'
import {RefusedError} from '../../../src/errors.js'
import {withSecrets} from '../../../src/secrets/error-secrets.js'
import {Redactor} from '../../../src/secrets/redact.js'

const ROOT = join(import.meta.dirname, '..', '..', '..')
let config: Config

beforeAll(async () => {
  config = await Config.load(ROOT)
})

afterEach(() => {
  vi.unstubAllEnvs()
  vi.restoreAllMocks()
})

/** Runs a command in this process; what it printed on stdout and stderr, and what it threw. */
async function runCommand(command: typeof ClinicalCommand, argv: string[]): Promise<{stdout: string; stderr: string; error?: Error & {oclif?: {exit?: number}}}> {
  const stdout: string[] = []
  const stderr: string[] = []
  vi.spyOn(console, 'log').mockImplementation((...args: unknown[]) => void stdout.push(args.join(' ')))
  vi.spyOn(console, 'error').mockImplementation((...args: unknown[]) => void stderr.push(args.join(' ')))
  vi.spyOn(process.stdout, 'write').mockImplementation((chunk: string | Uint8Array) => (stdout.push(String(chunk).replace(/\n$/, '')), true))
  vi.spyOn(process.stderr, 'write').mockImplementation((chunk: string | Uint8Array) => (stderr.push(String(chunk).replace(/\n$/, '')), true))
  try {
    await (command as unknown as {run(argv: string[], config: Config): Promise<unknown>}).run(argv, config)
    return {stdout: stdout.join('\n'), stderr: stderr.join('\n')}
  } catch (error) {
    return {stdout: stdout.join('\n'), stderr: stderr.join('\n'), error: error as Error}
  } finally {
    vi.restoreAllMocks()
  }
}

describe('ClinicalCommand.printJson', () => {
  class PrintsJson extends ClinicalCommand {
    static override flags = {}
    async run(): Promise<void> {
      await this.parse(PrintsJson)
      this.useSecrets(new Redactor(['3000', 'quo"te\\back-secret']))
      this.printJson({durationMs: 13_000, port: 3000, note: 'ran with quo"te\\back-secret on :3000', when: new Date(0)})
    }
  }

  it('redacts the strings, then serialises: valid JSON, numbers intact, a secret holding " or \\ still hidden', async () => {
    const {stdout, error} = await runCommand(PrintsJson, [])
    expect(error).toBeUndefined()
    const printed = JSON.parse(stdout) as Record<string, unknown>
    expect(printed).toEqual({durationMs: 13_000, port: 3000, note: 'ran with *** on :***', when: '1970-01-01T00:00:00.000Z'})
    expect(stdout).not.toContain('back-secret')
  })
})

describe('ClinicalCommand.catch', () => {
  class TakesAnInteger extends ClinicalCommand {
    static override flags = {count: Flags.integer({description: 'a number'})}
    async run(): Promise<void> {
      await this.parse(TakesAnInteger)
    }
  }

  it("redacts oclif's parse errors (they quote the value at fault) before rethrowing them", async () => {
    vi.stubEnv('GRAFANA_PASSWORD', 'Hunter2-parse-secret')
    const {error, stdout, stderr} = await runCommand(TakesAnInteger, ['--count', 'Hunter2-parse-secret'])
    expect(error?.oclif?.exit).toBe(2)
    expect(error?.message).toMatch(/Expected an integer but received: \*\*\*/)
    expect(error?.stack ?? '').not.toContain('Hunter2-parse-secret')
    expect(`${stdout}${stderr}`).not.toContain('Hunter2-parse-secret')
  })

  class ThrowsWithSecrets extends ClinicalCommand {
    static override flags = {}
    async run(): Promise<void> {
      await this.parse(ThrowsWithSecrets)
      throw withSecrets(new RefusedError('--stack "from-the-env-file-Zq9" is not a stack name'), new Redactor(['from-the-env-file-Zq9']))
    }
  }

  it('prints an error carrying a redactor (withSecrets) redacted with it, and masks it first in GitHub Actions', async () => {
    vi.stubEnv('GITHUB_ACTIONS', 'true')
    const {error, stdout, stderr} = await runCommand(ThrowsWithSecrets, [])
    expect(error?.oclif?.exit).toBe(2)
    const all = `${stdout}\n${stderr}`
    expect(stdout.split('\n')[0]).toBe('::add-mask::from-the-env-file-Zq9')
    expect(all.replace('::add-mask::from-the-env-file-Zq9', '')).not.toContain('from-the-env-file-Zq9')
    expect(stderr).toContain('clinical: --stack "***" is not a stack name')
  })
})

describe('ClinicalCommand.parse', () => {
  class ProbesAUrl extends ClinicalCommand {
    static override flags = {'health-url': Flags.string({multiple: true})}
    async run(): Promise<void> {
      const {flags} = await this.parse(ProbesAUrl)
      const redactor = new Redactor([])
      this.useSecrets(redactor)
      // what a plan runner holding the command's own redactor would print
      this.log(redactor.redact(`probing with S3cret-flag-pw and p@ss-flag: ${flags['health-url']?.join(' ')}`))
    }
  }

  it("adds the password of every URL among the flags to the redactor a command adopts (raw and decoded)", async () => {
    const {stdout, error} = await runCommand(ProbesAUrl, ['--health-url', 'https://mon:S3cret-flag-pw@grafana.x/api/health', '--health-url', 'https://a:p%40ss-flag@h/'])
    expect(error).toBeUndefined()
    expect(stdout).not.toContain('S3cret-flag-pw')
    expect(stdout).not.toContain('p@ss-flag')
    expect(stdout).not.toContain('p%40ss-flag')
    expect(stdout).toContain('https://mon:***@grafana.x/api/health')
  })
})
