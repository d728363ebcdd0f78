/** What every measure of `npm run bench` gets and returns. */
import type {DockerClient} from '../../src/docker/client.js'

export interface BenchContext {
  docker: DockerClient
  /** A temp dir of this run (compose files, backups, config): removed at the end. */
  workDir: string
  log: (line: string) => void
  /** Every stack a measure creates is registered first, so the run removes it whatever happens. */
  track: (stack: string) => string
  /** Remove a stack now (services, configs, volumes, lock). */
  remove: (stack: string) => Promise<void>
}

export interface MeasureResult {
  id: number
  title: string
  /** clinical's figure, formatted. */
  clinical: string
  /** The baseline's figure and what it is. */
  baseline: string
  /** The ratio to the baseline, formatted (e.g. "40× faster"). */
  ratio: string
  target: string
  verdict: 'met' | 'missed' | 'n/a'
  /** One line for the console and BENCHMARKS.md. */
  summary: string
  /** How it was measured and the raw figures (BENCHMARKS.md). */
  details: string[]
}

export const seconds = (ms: number, digits = 1): string => `${(ms / 1000).toFixed(digits)} s`
export const millis = (ms: number): string => `${Math.round(ms)} ms`
export const signedSeconds = (ms: number): string => `${ms >= 0 ? '+' : '−'}${Math.abs(ms / 1000).toFixed(1)} s`
