import {isAbsolute, resolve} from 'node:path'
import {probePasswords} from '../backup/probe-metadata.js'
import type {ProbeSettings} from '../backup/types.js'
import {STACK_NAME_PATTERN} from '../docker/stack.js'
import {RefusedError} from '../errors.js'
import {withSecrets} from '../secrets/error-secrets.js'
import type {Redactor} from '../secrets/redact.js'
import {withoutUrlPassword} from '../secrets/url-secrets.js'
import {type DeploySecrets, loadDeploySecrets} from './deploy-secrets.js'
import {parseDurationMs, parseSizeBytes} from './parse-units.js'

/** Defaults of DESIGN.md §2 (binding). */
export const DEPLOY_DEFAULTS = {
  stack: 'clinical-platform',
  composeFile: 'docker-compose.production.yml',
  backupDir: '/opt/backups',
  configDir: '/opt/clinical-platform/config',
  requireEnv: 'DOMAIN,APP_VERSION,GRAFANA_PASSWORD,INFLUXDB_PASSWORD',
  minFreeDisk: '10GB',
  appProbe: 'warn',
  timeout: '10m',
  resolveImage: 'always',
} as const

/** The environment variable each flag falls back to (DESIGN.md §2). */
export const FLAG_ENV = {
  stack: 'CLINICAL_STACK',
  composeFile: 'CLINICAL_COMPOSE_FILE',
  backupDir: 'CLINICAL_BACKUP_DIR',
  configDir: 'CLINICAL_CONFIG_DIR',
  slackWebhookUrl: 'SLACK_WEBHOOK_URL',
} as const

/** The seed's health URLs and app probe, built from DOMAIN. */
export function seedHealthUrls(domain: string): string[] {
  return [`https://stats.${domain}/actuator/health`, `https://monitoring.${domain}/api/health`, `https://traefik.${domain}/ping`]
}

export function seedAppProbeUrl(domain: string): string {
  return `https://stats.${domain}/app/independent-t-test`
}

/** The flags of `clinical deploy` as oclif parsed them (undefined when not given). */
export interface DeployFlagValues {
  stack?: string
  composeFile?: string
  envFile?: string
  backupDir?: string
  configDir?: string
  requireEnv?: string
  minFreeDisk?: string
  healthUrl?: string[]
  appProbeUrl?: string
  appProbe?: string
  timeout?: string
  rollback: boolean
  allowRoot: boolean
  backupVolumes: boolean
  /** `--volume NAME` (repeatable): volumes archived besides the stack's own. */
  volumes?: string[]
  pruneImages: boolean
  json: boolean
  insecure: boolean
  slackWebhookUrl?: string
  resolveImage?: string
}

export type ResolveImage = 'always' | 'changed' | 'never'

/** Everything a deploy needs, validated. Built once by `resolveDeployOptions`; the domain reads only this. */
export interface DeployOptions {
  stack: string
  composeFile: string
  envFile?: string
  backupDir: string
  configDir: string
  /** --config-dir (or its env) was given: a missing dir is an error, not a warning. */
  configDirExplicit: boolean
  requireEnv: string[]
  minFreeDiskBytes: number
  probes: ProbeSettings
  timeoutMs: number
  rollback: boolean
  allowRoot: boolean
  backupVolumes: boolean
  /** Volumes archived besides the stack's own (`--volume`); each must exist on this node. */
  extraVolumes?: string[]
  pruneImages: boolean
  json: boolean
  insecure: boolean
  resolveImage: ResolveImage
  slackWebhookUrl?: string
  /** The env file's values overridden by the real environment: what `docker stack deploy` interpolates with. */
  env: Record<string, string>
  /** Every secret value of this run (env names matching PASSWORD/SECRET/TOKEN/KEY/WEBHOOK/CREDENTIAL, all env-file values). */
  redactor: Redactor
}

/**
 * flags + environment + env file → validated options (DESIGN.md §2). A flag wins over its environment
 * variable, which wins over the default; the env file never overrides the real environment.
 * Throws RefusedError (exit 2) naming the flag at fault. The env file is loaded and the redactor built first: an
 * error after that carries the redactor (withSecrets), so the command prints it redacted and masked.
 */
export function resolveDeployOptions(flags: DeployFlagValues, processEnv: NodeJS.ProcessEnv, cwd: string): DeployOptions {
  const secrets = loadDeploySecrets(flags, processEnv, cwd)
  try {
    return validateDeployOptions(flags, secrets, cwd)
  } catch (error) {
    throw withSecrets(error, secrets.redactor)
  }
}

/** Step two of resolveDeployOptions: everything but the env file, validated. */
function validateDeployOptions(flags: DeployFlagValues, secrets: DeploySecrets, cwd: string): DeployOptions {
  const {envFile, env, slackWebhookUrl, redactor} = secrets
  const fromEnv = (name: string): string | undefined => (env[name] === '' ? undefined : env[name])

  const stack = flags.stack ?? fromEnv(FLAG_ENV.stack) ?? DEPLOY_DEFAULTS.stack
  if (!STACK_NAME_PATTERN.test(stack)) {
    throw new RefusedError(`--stack ${JSON.stringify(stack)} is not a stack name (letters, digits, '_', '.', '-')`)
  }
  const configDirGiven = flags.configDir ?? fromEnv(FLAG_ENV.configDir)
  const requireEnv = (flags.requireEnv ?? DEPLOY_DEFAULTS.requireEnv)
    .split(',')
    .map((name) => name.trim())
    .filter(Boolean)
  const appProbe = flags.appProbe ?? DEPLOY_DEFAULTS.appProbe
  if (appProbe !== 'warn' && appProbe !== 'fail' && appProbe !== 'off') {
    throw new RefusedError(`--app-probe ${JSON.stringify(appProbe)}: use warn, fail or off`)
  }
  const resolveImage = flags.resolveImage ?? DEPLOY_DEFAULTS.resolveImage
  if (resolveImage !== 'always' && resolveImage !== 'changed' && resolveImage !== 'never') {
    throw new RefusedError(`--resolve-image ${JSON.stringify(resolveImage)}: use always, changed or never`)
  }
  const probes = resolveProbeSettings(flags, env)
  // the seed URLs come from DOMAIN: a password there is only known now
  redactor.add(probePasswords(probes))

  return {
    stack,
    composeFile: absolute(flags.composeFile ?? fromEnv(FLAG_ENV.composeFile) ?? DEPLOY_DEFAULTS.composeFile, cwd),
    envFile: envFile.path,
    backupDir: absolute(flags.backupDir ?? fromEnv(FLAG_ENV.backupDir) ?? DEPLOY_DEFAULTS.backupDir, cwd),
    configDir: absolute(configDirGiven ?? DEPLOY_DEFAULTS.configDir, cwd),
    configDirExplicit: configDirGiven !== undefined,
    requireEnv,
    minFreeDiskBytes: parseSizeBytes(flags.minFreeDisk ?? DEPLOY_DEFAULTS.minFreeDisk, '--min-free-disk'),
    probes,
    timeoutMs: parseDurationMs(flags.timeout ?? DEPLOY_DEFAULTS.timeout, '--timeout'),
    rollback: flags.rollback,
    allowRoot: flags.allowRoot,
    backupVolumes: flags.backupVolumes,
    extraVolumes: flags.volumes ?? [],
    pruneImages: flags.pruneImages,
    json: flags.json,
    insecure: flags.insecure,
    resolveImage,
    slackWebhookUrl,
    env,
    redactor,
  }
}

/**
 * Health URLs: `--health-url` (repeatable; `none` for no HTTP probes), else the seed's three URLs from DOMAIN.
 * App probe: `--app-probe-url`, else the seed's URL from DOMAIN; mode warn/fail/off.
 */
export function resolveProbeSettings(
  flags: Pick<DeployFlagValues, 'healthUrl' | 'appProbeUrl' | 'appProbe'>,
  env: Record<string, string>,
): ProbeSettings {
  const domain = env.DOMAIN || undefined
  const appProbe = (flags.appProbe ?? DEPLOY_DEFAULTS.appProbe) as ProbeSettings['appProbe']
  let healthUrls: string[]
  if (flags.healthUrl && flags.healthUrl.length > 0) {
    healthUrls = flags.healthUrl.includes('none') ? [] : flags.healthUrl
  } else if (domain) {
    healthUrls = seedHealthUrls(domain)
  } else {
    throw new RefusedError('no health URLs: set DOMAIN (the seed URLs are built from it) or pass --health-url (or --health-url none)')
  }
  for (const url of healthUrls) checkUrl(url, '--health-url')
  let appProbeUrl: string | undefined
  if (appProbe !== 'off') {
    appProbeUrl = flags.appProbeUrl ?? (domain ? seedAppProbeUrl(domain) : undefined)
    if (!appProbeUrl) throw new RefusedError('no app probe URL: set DOMAIN, pass --app-probe-url, or --app-probe off')
    checkUrl(appProbeUrl, '--app-probe-url')
  }
  return {healthUrls, appProbe, ...(appProbeUrl ? {appProbeUrl} : {})}
}

function checkUrl(url: string, flag: string): void {
  let parsed: URL
  try {
    parsed = new URL(url)
  } catch {
    throw new RefusedError(`${flag} ${JSON.stringify(withoutUrlPassword(url))} is not a URL`)
  }
  if (parsed.protocol !== 'http:' && parsed.protocol !== 'https:') {
    throw new RefusedError(`${flag} ${withoutUrlPassword(url)}: only http:// and https:// URLs can be probed`)
  }
}

function absolute(path: string, cwd: string): string {
  return isAbsolute(path) ? path : resolve(cwd, path)
}
