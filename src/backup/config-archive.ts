import {resolve} from 'node:path'
import {create} from 'tar'
import {type WrittenFile, isInside, writeStreamDurable} from './durable-fs.js'

/**
 * Archive a directory as a gzipped tar (`tar` package, no shell), streamed into a new 0600 file and fsynced.
 * Entries are relative (`./...`) and portable (no uid/gid/user names). Anything under `exclude` (the backup
 * being written, when the backup dir lies inside the config dir) is left out. Warnings of tar (for example a
 * socket it cannot archive) are passed to `onWarning`.
 */
export async function writeDirArchive(options: {
  dir: string
  file: string
  exclude?: string
  signal?: AbortSignal
  onWarning?: (message: string) => void
}): Promise<WrittenFile> {
  const cwd = resolve(options.dir)
  const exclude = options.exclude ? resolve(options.exclude) : undefined
  const pack = create(
    {
      gzip: true,
      cwd,
      portable: true,
      filter: exclude ? (path: string) => !isInside(exclude, resolve(cwd, path)) : undefined,
      onwarn: (_code: string, message: string | Error) => options.onWarning?.(message instanceof Error ? message.message : message),
    },
    ['.'],
  )
  return writeStreamDurable(options.file, pack as AsyncIterable<Uint8Array>, options.signal)
}
