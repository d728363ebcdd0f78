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

/** Replaces every known secret value (and each line of a multi-line one) with ***. */
export class Redactor {
  private readonly needles: string[]
  private readonly short = new Set<string>()

  constructor(secrets: Iterable<string> = []) {
    const needles = new Set<string>()
    for (const secret of secrets) {
      for (const part of [secret, ...secret.split(/\r?\n/)]) {
        const trimmed = part.trim()
        if (trimmed.length >= MIN_REDACTED_LENGTH) needles.add(trimmed)
        else if (trimmed) this.short.add(trimmed)
      }
    }
    // longest first, so a secret that contains another is replaced whole
    this.needles = [...needles].sort((a, b) => b.length - a.length)
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

  /** A deep copy of a JSON-like value with every string redacted. */
  redactValue<T>(value: T): T {
    if (typeof value === 'string') return this.redact(value) as T
    if (Array.isArray(value)) return value.map((item) => this.redactValue(item)) as T
    if (value && typeof value === 'object') {
      return Object.fromEntries(Object.entries(value).map(([key, item]) => [key, this.redactValue(item)])) as T
    }
    return value
  }
}
