import {existsSync, readFileSync} from 'node:fs'
import {resolve} from 'node:path'
import dotenv from 'dotenv'
import {RefusedError} from '../errors.js'

export interface LoadedEnvFile {
  /** Absolute path, or undefined when no file was used. */
  path?: string
  values: Record<string, string>
}

/**
 * The `.env` file: `--env-file` (must exist) or `./.env` when present. Parsed with dotenv without touching
 * process.env and without printing anything (dotenv 17 logs on `config()`; `parse()` never does).
 */
export function loadEnvFile(explicitPath: string | undefined, cwd: string): LoadedEnvFile {
  const path = resolve(cwd, explicitPath ?? '.env')
  if (!existsSync(path)) {
    if (explicitPath) throw new RefusedError(`--env-file ${explicitPath}: no such file (looked at ${path})`)
    return {values: {}}
  }
  try {
    return {path, values: dotenv.parse(readFileSync(path))}
  } catch (error) {
    throw new RefusedError(`cannot read the env file ${path}: ${(error as Error).message}`)
  }
}

/** The environment of a run: the env file's values, overridden by the real environment (pure). */
export function mergeEnv(fileValues: Record<string, string>, processEnv: NodeJS.ProcessEnv): Record<string, string> {
  const merged: Record<string, string> = {...fileValues}
  for (const [name, value] of Object.entries(processEnv)) if (value !== undefined) merged[name] = value
  return merged
}
