/**
 * Secret values and their redaction (DESIGN.md §7). A secret is the value of an environment variable whose name
 * matches PASSWORD, SECRET, TOKEN, KEY, WEBHOOK or CREDENTIAL, or any value from the env file.
 */
export const SECRET_NAME_PATTERN = /PASSWORD|PASSWD|SECRET|TOKEN|KEY|WEBHOOK|CREDENTIAL/i

/** Values shorter than this are not redacted inside other text (they would mangle every message). */
export const MIN_REDACTED_LENGTH = 4

export const REDACTED = '***'

/** The secret values among environment variables (pure). */
export function secretValues(env: Record<string, string | undefined>, alwaysSecret: Record<string, string> = {}): string[] {
  const values = new Set<string>()
  for (const [name, value] of Object.entries(env)) {
    if (value && SECRET_NAME_PATTERN.test(name)) values.add(value)
  }
  for (const value of Object.values(alwaysSecret)) if (value) values.add(value)
  return [...values]
}

/** A URL secret's path below its host shorter than this is not a needle of its own (`/`, `/health`). */
export const MIN_URL_PATH_SECRET_LENGTH = 8

/**
 * More needles for a secret that is an http(s) URL (the Slack webhook): its percent-encoded form (a URL inside a
 * query string or an error text) and its path below the host when at least MIN_URL_PATH_SECRET_LENGTH long
 * (`/services/T0/B0/XYZ`, which error texts quote without the host). Nothing for other secrets (pure).
 */
export function urlSecretForms(secret: string): string[] {
  if (!/^https?:\/\/[^\s]+$/i.test(secret)) return []
  let parsed: URL
  try {
    parsed = new URL(secret)
  } catch {
    return []
  }
  const forms = new Set<string>([encodeURIComponent(secret)])
  const rawPath = /^[a-z][a-z0-9+.-]*:\/\/[^/?#]*(.*)$/is.exec(secret)?.[1] ?? ''
  for (const path of [rawPath, `${parsed.pathname}${parsed.search}`]) {
    if (path.length >= MIN_URL_PATH_SECRET_LENGTH) forms.add(path)
  }
  forms.delete(secret)
  return [...forms]
}

/** Replaces every known secret value (each line of a multi-line one, and the other forms of a URL) with ***. */
export class Redactor {
  private needles: string[] = []
  private readonly secrets = new Set<string>()
  private readonly short = new Set<string>()

  constructor(secrets: Iterable<string> = []) {
    this.add(secrets)
  }

  /**
   * Also hide these values from now on (e.g. a probe URL's password, known once the flags are parsed). Mutates this
   * redactor, so every holder of it (the plan runner, Slack, the history) hides them as well.
   */
  add(secrets: Iterable<string>): this {
    const needles = new Set(this.needles)
    for (const secret of secrets) {
      if (!secret || this.secrets.has(secret)) continue
      this.secrets.add(secret)
      for (const part of [secret, ...secret.split(/\r?\n/)]) {
        const trimmed = part.trim()
        if (trimmed.length >= MIN_REDACTED_LENGTH) {
          needles.add(trimmed)
          for (const form of urlSecretForms(trimmed)) needles.add(form)
        } else if (trimmed) this.short.add(trimmed)
      }
    }
    // longest first, so a secret that contains another is replaced whole
    this.needles = [...needles].sort((a, b) => b.length - a.length)
    return this
  }

  /** The secret values this redactor hides (for ::add-mask::). */
  get values(): readonly string[] {
    return this.needles
  }

  /** How many distinct secret values (or lines of one) are too short to redact or mask: said in a warning, never shown. */
  get shortValueCount(): number {
    return this.short.size
  }

  redact(text: string): string {
    let out = text
    for (const needle of this.needles) {
      if (out.includes(needle)) out = out.split(needle).join(REDACTED)
    }
    return out
  }

  /**
   * A deep copy of a JSON-like value with every string redacted, object keys included; a value with `toJSON` (a Date)
   * is converted first, as JSON.stringify would. Redact before serialising: a secret holding `"` or `\` is then
   * found as it is, not as its JSON escape, and a number is never cut by a secret made of digits.
   */
  redactValue<T>(value: T): T {
    if (typeof value === 'string') return this.redact(value) as T
    if (Array.isArray(value)) return value.map((item) => this.redactValue(item)) as T
    if (value && typeof value === 'object') {
      const toJSON = (value as {toJSON?: unknown}).toJSON
      if (typeof toJSON === 'function') return this.redactValue(toJSON.call(value)) as T
      return Object.fromEntries(Object.entries(value).map(([key, item]) => [this.redact(key), this.redactValue(item)])) as T
    }
    return value
  }
}
