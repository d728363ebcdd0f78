import {mkdtempSync, writeFileSync} from 'node:fs'
import {tmpdir} from 'node:os'
import {join} from 'node:path'
import {describe, expect, it} from 'vitest'
import {type DeployFlagValues, resolveDeployOptions, seedHealthUrls} from '../../../src/config/deploy-options.js'
import {parseDurationMs, parseSizeBytes} from '../../../src/config/parse-units.js'
import {RefusedError} from '../../../src/errors.js'

const noFlags: DeployFlagValues = {
  rollback: true,
  allowRoot: false,
  backupVolumes: true,
  pruneImages: false,
  json: false,
  insecure: false,
}

function tempDir(): string {
  return mkdtempSync(join(tmpdir(), 'clinical-options-'))
}

describe('resolveDeployOptions', () => {
  it('applies the defaults of the contract (DESIGN.md §2)', () => {
    const cwd = tempDir()
    const options = resolveDeployOptions(noFlags, {DOMAIN: 'example.org'}, cwd)
    expect(options.stack).toBe('clinical-platform')
    expect(options.composeFile).toBe(join(cwd, 'docker-compose.production.yml'))
    expect(options.backupDir).toBe('/opt/backups')
    expect(options.configDir).toBe('/opt/clinical-platform/config')
    expect(options.configDirExplicit).toBe(false)
    expect(options.requireEnv).toEqual(['DOMAIN', 'APP_VERSION', 'GRAFANA_PASSWORD', 'INFLUXDB_PASSWORD'])
    expect(options.minFreeDiskBytes).toBe(10 * 1024 ** 3)
    expect(options.timeoutMs).toBe(600_000)
    expect(options.probes).toEqual({
      healthUrls: seedHealthUrls('example.org'),
      appProbe: 'warn',
      appProbeUrl: 'https://stats.example.org/app/independent-t-test',
    })
  })

  it('a flag wins over its environment variable, which wins over the default', () => {
    const cwd = tempDir()
    const env = {CLINICAL_STACK: 'from-env', CLINICAL_BACKUP_DIR: '/b', DOMAIN: 'd.org'}
    expect(resolveDeployOptions(noFlags, env, cwd).stack).toBe('from-env')
    expect(resolveDeployOptions({...noFlags, stack: 'from-flag'}, env, cwd).stack).toBe('from-flag')
    expect(resolveDeployOptions(noFlags, env, cwd).backupDir).toBe('/b')
  })

  it('loads ./.env without overriding the real environment, and treats its values as secrets', () => {
    const cwd = tempDir()
    writeFileSync(join(cwd, '.env'), 'DOMAIN=file.org\nAPP_VERSION=1.2.3\nPLAIN_THING=visible-in-file\n')
    const options = resolveDeployOptions(noFlags, {DOMAIN: 'real.org', GRAFANA_PASSWORD: 'hunter22'}, cwd)
    expect(options.env.DOMAIN).toBe('real.org')
    expect(options.env.APP_VERSION).toBe('1.2.3')
    expect(options.envFile).toBe(join(cwd, '.env'))
    expect(options.redactor.redact('a hunter22 b visible-in-file c')).toBe('a *** b *** c')
  })

  it('an explicit --env-file that does not exist is refused, naming it', () => {
    expect(() => resolveDeployOptions({...noFlags, envFile: 'nope.env'}, {DOMAIN: 'd'}, tempDir())).toThrow(/--env-file nope.env: no such file/)
  })

  it('refuses bad values with the flag named', () => {
    const cwd = tempDir()
    const env = {DOMAIN: 'd.org'}
    expect(() => resolveDeployOptions({...noFlags, timeout: '10'}, env, cwd)).toThrow(RefusedError)
    expect(() => resolveDeployOptions({...noFlags, timeout: 'soon'}, env, cwd)).toThrow(/--timeout "soon"/)
    expect(() => resolveDeployOptions({...noFlags, minFreeDisk: '10 parsecs'}, env, cwd)).toThrow(/--min-free-disk/)
    expect(() => resolveDeployOptions({...noFlags, stack: 'bad name'}, env, cwd)).toThrow(/--stack/)
    expect(() => resolveDeployOptions({...noFlags, healthUrl: ['ftp://x']}, env, cwd)).toThrow(/--health-url ftp:\/\/x/)
    expect(() => resolveDeployOptions(noFlags, {}, cwd)).toThrow(/no health URLs: set DOMAIN/)
  })

  it('--health-url none and --app-probe off probe nothing', () => {
    const options = resolveDeployOptions({...noFlags, healthUrl: ['none'], appProbe: 'off'}, {}, tempDir())
    expect(options.probes).toEqual({healthUrls: [], appProbe: 'off'})
  })
})

describe('units', () => {
  it('durations need a unit', () => {
    expect(parseDurationMs('90s', '--timeout')).toBe(90_000)
    expect(parseDurationMs('10m', '--timeout')).toBe(600_000)
    expect(parseDurationMs('1h', '--timeout')).toBe(3_600_000)
    expect(() => parseDurationMs('600', '--timeout')).toThrow(/use a number with a unit/)
    expect(() => parseDurationMs('0s', '--timeout')).toThrow()
  })

  it('sizes take B, KB, MB, GB, TB, PB', () => {
    expect(parseSizeBytes('10GB', '--min-free-disk')).toBe(10 * 1024 ** 3)
    expect(parseSizeBytes('512MB', '--min-free-disk')).toBe(512 * 1024 ** 2)
    expect(parseSizeBytes('0B', '--min-free-disk')).toBe(0)
    expect(parseSizeBytes('1PB', '--min-free-disk')).toBe(1024 ** 5)
    expect(() => parseSizeBytes('10', '--min-free-disk')).toThrow(/B, KB, MB, GB, TB, PB/)
    expect(() => parseSizeBytes('10XB', '--min-free-disk')).toThrow()
  })
})

describe('resolveDeployOptions: secrets of probe URLs and of errors', () => {
  it('adds the password of each probe URL, as written and decoded, to the redactor', () => {
    const options = resolveDeployOptions(
      {...noFlags, healthUrl: ['https://mon:S3cret@grafana.x/api/health', 'https://admin:p@ss-word@traefik.x/ping'], appProbeUrl: 'https://u:a%2Fb%21c@stats.x/app'},
      {},
      tempDir(),
    )
    expect(options.redactor.redact('S3cret | p@ss-word | p%40ss-word | a%2Fb%21c | a/b!c')).toBe('*** | *** | *** | *** | ***')
  })

  it('an error after the env file is loaded carries its redactor: the env file values never show', async () => {
    const {secretsOf} = await import('../../../src/secrets/error-secrets.js')
    const cwd = tempDir()
    writeFileSync(join(cwd, '.env'), 'CLINICAL_STACK=bad stack Zq9\n')
    let thrown: unknown
    try {
      resolveDeployOptions(noFlags, {}, cwd)
    } catch (error) {
      thrown = error
    }
    expect(thrown).toBeInstanceOf(RefusedError)
    const redactor = secretsOf(thrown)
    expect(redactor).toBeDefined()
    expect(redactor!.redact((thrown as Error).message)).toBe('--stack "***" is not a stack name (letters, digits, \'_\', \'.\', \'-\')')
  })

  it('a probe URL refused for its scheme is named without its password', () => {
    expect(() => resolveDeployOptions({...noFlags, healthUrl: ['ftp://mon:S3cret@host/']}, {}, tempDir())).toThrow('--health-url ftp://mon:***@host/: only http:// and https:// URLs can be probed')
  })
})
