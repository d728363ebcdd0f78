import type {DockerEvent} from '../docker/types.js'

/**
 * A resilient watch of an event stream: `connect` opens the stream (`DockerClient.events`); when it ends or
 * fails, it is opened again after a bounded backoff with `since` = the time of the last event seen (or of the
 * last connect), so nothing in between is lost, and `onReconnect` tells the caller to resync by listing (there
 * may have been changes nobody was told about). Ends when `signal` aborts; never throws.
 */
export interface EventWatchOptions {
  connect: (options: {since?: number; signal: AbortSignal}) => AsyncIterable<DockerEvent>
  signal: AbortSignal
  onEvent: (event: DockerEvent) => void
  /** Called after each reconnect (not the first connect), with the error that ended the previous stream, if any. */
  onReconnect?: (info: {attempt: number; error?: unknown}) => void
  /** `since` of the first connect (epoch s): the time just before the caller's first listing. */
  sinceS?: number
  initialBackoffMs?: number
  maxBackoffMs?: number
}

export interface EventWatchStats {
  connects: number
  events: number
  lastError?: unknown
}

/** Backoff before reconnect attempt `attempt` (1-based): doubles from `initialMs`, capped at `maxMs`. Pure. */
export function reconnectDelayMs(attempt: number, initialMs = 250, maxMs = 5000): number {
  return Math.min(maxMs, initialMs * 2 ** Math.max(0, attempt - 1))
}

export async function watchEvents(options: EventWatchOptions): Promise<EventWatchStats> {
  const {signal} = options
  const stats: EventWatchStats = {connects: 0, events: 0}
  let since = options.sinceS
  let failuresInARow = 0
  while (!signal.aborted) {
    const connectedAtS = Math.floor(Date.now() / 1000)
    let endedBy: unknown
    let sawEvent = false
    stats.connects += 1
    if (stats.connects > 1) options.onReconnect?.({attempt: stats.connects - 1, error: stats.lastError})
    try {
      for await (const event of options.connect({since, signal})) {
        sawEvent = true
        stats.events += 1
        // `time` is in whole seconds: resuming from it may repeat an event or two, which only re-assesses.
        since = event.time
        options.onEvent(event)
      }
    } catch (error) {
      endedBy = error
    }
    if (signal.aborted) break
    stats.lastError = endedBy
    // A stream that delivered something worked: start the backoff over.
    failuresInARow = sawEvent ? 1 : failuresInARow + 1
    // Never go forward past an event not seen: resume from the last one seen, else from the first connect.
    since ??= connectedAtS
    await sleep(reconnectDelayMs(failuresInARow, options.initialBackoffMs, options.maxBackoffMs), signal)
  }
  return stats
}

function sleep(ms: number, signal: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    if (signal.aborted) return resolve()
    const onAbort = (): void => {
      clearTimeout(timer)
      resolve()
    }
    const timer = setTimeout(() => {
      signal.removeEventListener('abort', onAbort)
      resolve()
    }, ms)
    signal.addEventListener('abort', onAbort, {once: true})
  })
}
