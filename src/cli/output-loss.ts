/**
 * A dropped SSH session, a closed pipe (`clinical deploy | head`), a terminal gone: writes to stdout or stderr then
 * fail (EIO, EPIPE, ENOTCONN). The run must go on without its output — roll back what it changed, release the lock,
 * write the history — instead of dying of an unhandled 'error' event half-way (DESIGN.md §7).
 *
 * oclif installs a stdout 'error' listener that swallows EPIPE but rethrows everything else (EIO after SIGHUP), and
 * stderr has none: both are replaced by one that only remembers that the output is gone.
 */
let outputGone: NodeJS.ErrnoException | undefined

export function keepRunningWithoutOutput(streams: NodeJS.WriteStream[] = [process.stdout, process.stderr]): void {
  for (const stream of streams) {
    stream.removeAllListeners('error')
    stream.on('error', (error: NodeJS.ErrnoException) => {
      outputGone ??= error
    })
  }
}

/** The first write error of stdout or stderr since keepRunningWithoutOutput, if any. */
export function outputLost(): NodeJS.ErrnoException | undefined {
  return outputGone
}
