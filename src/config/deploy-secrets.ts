import {urlPasswordsIn} from '../secrets/url-secrets.js'
import {Redactor, secretValues} from '../secrets/redact.js'
import {loadEnvFile, type LoadedEnvFile, mergeEnv} from './env-file.js'

/** Step one of a deploy's options: the env file, the merged environment and every secret value known so far. */
export interface DeploySecrets {
  envFile: LoadedEnvFile
  /** The env file's values overridden by the real environment. */
  env: Record<string, string>
  /** `--slack-webhook-url`, else SLACK_WEBHOOK_URL. */
  slackWebhookUrl?: string
  /**
   * Secret-named variables, every value of the env file, the Slack URL and the password of each probe URL given
   * (`--health-url`, `--app-probe-url`): built before anything is validated, so no error can show them.
   */
  redactor: Redactor
}

export function loadDeploySecrets(
  flags: {envFile?: string; slackWebhookUrl?: string; healthUrl?: string[]; appProbeUrl?: string},
  processEnv: NodeJS.ProcessEnv,
  cwd: string,
): DeploySecrets {
  const envFile = loadEnvFile(flags.envFile, cwd)
  const env = mergeEnv(envFile.values, processEnv)
  // SLACK_WEBHOOK_URL: FLAG_ENV.slackWebhookUrl of deploy-options.ts
  const slackWebhookUrl = flags.slackWebhookUrl ?? (env.SLACK_WEBHOOK_URL || undefined)
  const redactor = new Redactor([
    ...secretValues(env),
    ...Object.values(envFile.values),
    ...(slackWebhookUrl ? [slackWebhookUrl] : []),
    ...urlPasswordsIn([flags.healthUrl, flags.appProbeUrl]),
  ])
  return {envFile, env, ...(slackWebhookUrl ? {slackWebhookUrl} : {}), redactor}
}
