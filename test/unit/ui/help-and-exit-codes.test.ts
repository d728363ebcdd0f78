import {execFile} from 'node:child_process'
import {existsSync} from 'node:fs'
import {join} from 'node:path'
import {promisify} from 'node:util'
import {beforeAll, describe, expect, it} from 'vitest'
import {ClinicalError, exitCodeOf, LockedError, RefusedError} from '../../../src/errors.js'
import {EXIT_CODE_MEANINGS, ExitCode, exitCodeHelp} from '../../../src/exit-codes.js'

const run = promisify(execFile)
const ROOT = join(import.meta.dirname, '..', '..', '..')
const BIN = join(ROOT, 'bin', 'run.js')

/** The BUILT cli (npm run build), as a user runs it; never throws. */
async function clinical(args: string[]): Promise<{exitCode: number; stdout: string; stderr: string}> {
  try {
    const {stdout, stderr} = await run(process.execPath, [BIN, ...args], {
      cwd: ROOT,
      // a fixed width keeps oclif's wrapping stable; no Docker is needed for help or parse errors
      env: {...process.env, COLUMNS: '120', OCLIF_COLUMNS: '120', DOCKER_HOST: 'unix:///nonexistent/clinical-help-test.sock'},
      timeout: 30_000,
    })
    return {exitCode: 0, stdout, stderr}
  } catch (error) {
    const failed = error as {code?: number | string; stdout?: string; stderr?: string}
    return {exitCode: typeof failed.code === 'number' ? failed.code : -1, stdout: failed.stdout ?? '', stderr: failed.stderr ?? ''}
  }
}

/** The EXIT CODES section of a help text: its lines up to the next section or the end. */
function exitCodesSection(help: string): string[] {
  const lines = help.split('\n')
  const start = lines.indexOf('EXIT CODES')
  expect(start, `no EXIT CODES section in:\n${help}`).toBeGreaterThanOrEqual(0)
  const rest = lines.slice(start + 1)
  const end = rest.findIndex((line) => /^[A-Z]/.test(line))
  return end === -1 ? rest : rest.slice(0, end)
}

function codesListed(section: string[]): number[] {
  return section.flatMap((line) => {
    const match = /^ {2}(\d+) +\S/.exec(line)
    return match ? [Number(match[1])] : []
  })
}

describe('the exit-code table', () => {
  it('has the codes of the contract, each with its meaning, in order', () => {
    expect(ExitCode).toEqual({Success: 0, RolledBack: 1, Refused: 2, Locked: 3, NeedsPerson: 4, Interrupted: 130})
    expect(EXIT_CODE_MEANINGS.map(([code]) => code)).toEqual([0, 1, 2, 3, 4, 130])
    for (const [, meaning] of EXIT_CODE_MEANINGS) expect(meaning.length).toBeGreaterThan(5)
    expect(exitCodeHelp().split('\n')).toHaveLength(6)
    expect(exitCodeHelp().split('\n')[5]).toBe('  130  interrupted (SIGINT/SIGTERM/SIGHUP) after rolling back what this run changed')
  })

  it('maps typed errors to their code and anything else to 4 (a person must look)', () => {
    expect(exitCodeOf(new RefusedError('no'))).toBe(2)
    expect(exitCodeOf(new LockedError('held'))).toBe(3)
    expect(exitCodeOf(new ClinicalError('rolled back', ExitCode.RolledBack))).toBe(1)
    expect(exitCodeOf(new Error('bug'))).toBe(4)
    expect(exitCodeOf('a string')).toBe(4)
  })
})

describe('help of the built cli (ClinicalHelp)', () => {
  beforeAll(() => {
    if (!existsSync(join(ROOT, 'dist', 'commands', 'status.js')) || !existsSync(join(ROOT, 'oclif.manifest.json'))) {
      throw new Error('the cli is not built: run `npm run build` before this test')
    }
  })

  it('clinical --help ends with the EXIT CODES section listing 0, 1, 2, 3, 4, 130', async () => {
    const {exitCode, stdout, stderr} = await clinical(['--help'])
    expect(exitCode, stderr).toBe(0)
    const section = exitCodesSection(stdout)
    expect(codesListed(section)).toEqual([0, 1, 2, 3, 4, 130])
    expect(section.join(' ')).toMatch(/0 +success/)
    expect(section.join(' ')).toMatch(/130 +interrupted \(SIGINT\/SIGTERM\/SIGHUP\)/)
    // after the command list, not between the usage and the commands
    expect(stdout.indexOf('EXIT CODES')).toBeGreaterThan(stdout.indexOf('COMMANDS'))
    expect(stdout).toMatch(/^ {2}status +Show the stack's services/m)
  })

  it('clinical status --help shows the flags, the examples and the EXIT CODES section', async () => {
    const {exitCode, stdout, stderr} = await clinical(['status', '--help'])
    expect(exitCode, stderr).toBe(0)
    expect(stdout).toContain('--stack=<value>')
    expect(stdout).toContain('--json')
    expect(stdout).toContain('EXAMPLES')
    expect(stdout).toContain('$ clinical status --stack clinical-platform --json')
    expect(stdout).toContain('DOCKER_HOST=tcp://manager-1:2376 DOCKER_TLS_VERIFY=1 clinical status')
    expect(codesListed(exitCodesSection(stdout))).toEqual([0, 1, 2, 3, 4, 130])
  })

  it('a bad flag value, an unknown flag and an unknown command exit 2 (refused before any change)', async () => {
    const badValue = await clinical(['status', '--stack', 'bad name!'])
    expect(badValue.exitCode).toBe(2)
    expect(badValue.stderr).toContain('is not a stack name')
    expect((await clinical(['status', '--bogus'])).exitCode).toBe(2)
    expect((await clinical(['no-such-command'])).exitCode).toBe(2)
  })
})
