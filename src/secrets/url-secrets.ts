/**
 * Passwords inside URLs (DESIGN.md §7), found with WHATWG URL parsing (pure): the password of
 * `https://user:pw@host/` is a secret, and a URL is shown or written down without it.
 */
import {REDACTED} from './redact.js'

function parseUrl(text: string): URL | undefined {
  try {
    return new URL(text)
  } catch {
    return undefined
  }
}

function decoded(text: string): string {
  try {
    return decodeURIComponent(text)
  } catch {
    return text
  }
}

/** The password of a URL, as written (percent-encoded) and decoded; none when the URL has no password. */
export function urlPasswords(url: string): string[] {
  const password = parseUrl(url)?.password
  if (!password) return []
  return [...new Set([password, decoded(password)])]
}

/** The passwords of every URL among flag values (strings and arrays of strings); other values are ignored. */
export function urlPasswordsIn(values: Iterable<unknown>): string[] {
  const passwords = new Set<string>()
  for (const value of values) {
    for (const item of Array.isArray(value) ? value : [value]) {
      if (typeof item === 'string' && item.includes('@')) for (const password of urlPasswords(item)) passwords.add(password)
    }
  }
  return [...passwords]
}

/**
 * A URL as it may be shown or written down: its password replaced with *** (WHATWG URL parsing, so the password of
 * `https://admin:p@ss@host` is `p@ss`). In a text that does not parse as a URL, whatever sits between
 * `scheme://user:` and the last `@` of the authority goes.
 */
export function withoutUrlPassword(url: string): string {
  if (!url.includes('@')) return url
  const parsed = parseUrl(url)
  if (parsed) {
    if (!parsed.password) return url
    parsed.password = REDACTED
    return parsed.toString()
  }
  // not a URL as a whole (`url=https://u:p@host`): everything up to the last `@` before the path is the password
  return url.replace(/\b([a-z][a-z0-9+.-]*:\/\/[^/?#\s:@]*):[^/?#\s]*@/gi, `$1:${REDACTED}@`)
}

/** Every whitespace-separated URL of a text without its password (withoutUrlPassword). */
export function withoutUrlPasswords(text: string): string {
  if (!text.includes('@')) return text
  return text
    .split(/(\s+)/)
    .map((token) => withoutUrlPassword(token))
    .join('')
}
