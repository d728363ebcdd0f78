import {Redactor} from './redact.js'

/**
 * An error thrown after a command learnt more secrets than its environment holds (deploy's env file) but before it
 * could hand them to its output: it carries the redactor, and the command's catch() redacts and masks with it.
 */
const SECRETS = Symbol.for('clinical.secrets')

/** `error`, carrying `redactor` (not enumerable: never serialised). A non-object is wrapped in an Error first. */
export function withSecrets(error: unknown, redactor: Redactor): Error {
  const carrier = error instanceof Error ? error : new Error(String(error))
  Object.defineProperty(carrier, SECRETS, {value: redactor, enumerable: false, configurable: true})
  return carrier
}

/** The redactor an error carries (withSecrets), if any. */
export function secretsOf(error: unknown): Redactor | undefined {
  if (typeof error !== 'object' || error === null) return undefined
  const redactor = (error as {[SECRETS]?: unknown})[SECRETS]
  return redactor instanceof Redactor ? redactor : undefined
}
