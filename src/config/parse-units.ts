import bytes from 'bytes'
import ms from 'ms'
import {RefusedError} from '../errors.js'

/**
 * Durations like `90s`, `10m`, `1h` (the `ms` library; a unit is required so `--timeout 10` is not 10 ms).
 */
export function parseDurationMs(text: string, flag: string): number {
  const trimmed = text.trim()
  const value = /^\d+(\.\d+)?\s*[a-z]+$/i.test(trimmed) ? ms(trimmed as ms.StringValue) : undefined
  if (value === undefined || !Number.isFinite(value) || value <= 0) {
    throw new RefusedError(`${flag} ${JSON.stringify(text)} is not a duration; use a number with a unit: 90s, 10m, 1h`)
  }
  return value
}

const SIZE_PATTERN = /^\d+(\.\d+)?\s*(B|KB|MB|GB|TB|PB)$/i

/** Sizes like `10GB` (units B, KB, MB, GB, TB, PB, powers of 1024; the `bytes` library). */
export function parseSizeBytes(text: string, flag: string): number {
  const trimmed = text.trim()
  const value = SIZE_PATTERN.test(trimmed) ? bytes.parse(trimmed) : null
  if (value === null || !Number.isFinite(value) || value < 0) {
    throw new RefusedError(`${flag} ${JSON.stringify(text)} is not a size; use a number with a unit: B, KB, MB, GB, TB, PB (e.g. 10GB)`)
  }
  return value
}

export function formatBytes(value: number): string {
  return bytes.format(value, {unitSeparator: ' '}) ?? `${value} B`
}
