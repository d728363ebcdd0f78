/**
 * Ctrl-C, SIGTERM and a dropped SSH session (SIGHUP) abort the returned signal: the run stops waiting, rolls back
 * what it changed and releases its lock. Further signals are reported, not obeyed, until the rollback ends.
 */
export function abortOnSignals(onSignal: (signal: NodeJS.Signals, first: boolean) => void): {signal: AbortSignal; dispose: () => void} {
  const controller = new AbortController()
  const signals: NodeJS.Signals[] = ['SIGINT', 'SIGTERM', 'SIGHUP']
  const handler = (received: NodeJS.Signals): void => {
    const first = !controller.signal.aborted
    controller.abort(new Error(`interrupted by ${received}`))
    onSignal(received, first)
  }
  for (const name of signals) process.on(name, handler)
  return {
    signal: controller.signal,
    dispose: () => {
      for (const name of signals) process.off(name, handler)
    },
  }
}
