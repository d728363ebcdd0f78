import {createInterface} from 'node:readline/promises'
import {RefusedError} from '../errors.js'
import type {Backup} from './types.js'

export type ConfirmationDecision = 'proceed' | 'ask' | 'refuse'

/**
 * Whether a volume restore may go ahead (pure): `--yes` proceeds; otherwise a person at a terminal is asked; in CI
 * (CI or GITHUB_ACTIONS set) or without a terminal there is nobody to ask, so it is refused.
 */
export function confirmationDecision(input: {yes: boolean; isTTY: boolean; env: NodeJS.ProcessEnv}): ConfirmationDecision {
  if (input.yes) return 'proceed'
  const ci = Boolean(input.env.CI && input.env.CI !== 'false' && input.env.CI !== '0') || input.env.GITHUB_ACTIONS === 'true'
  return ci || !input.isTTY ? 'refuse' : 'ask'
}

/** What the restore replaces, in one line (pure). */
export function restoreWarning(stack: string, backup: Pick<Backup, 'id' | 'manifest'>): string {
  const volumes = backup.manifest.volumes.map((volume) => volume.name)
  return `--restore-volumes replaces the whole content of volume(s) ${volumes.join(', ')} of stack ${stack} with backup ${backup.id} of ${backup.manifest.createdAt}: files written since then are lost, and the services using them are stopped meanwhile`
}

/**
 * Ask before a volume restore, unless `--yes`. Refused (exit 2, nothing changed) when there is nobody to ask or the
 * answer is not "yes"; a backup without volume archives is refused too.
 */
export async function confirmVolumeRestore(input: {
  stack: string
  backup: Pick<Backup, 'id' | 'manifest'>
  yes: boolean
  env: NodeJS.ProcessEnv
  stdin: NodeJS.ReadableStream & {isTTY?: boolean}
  stderr: NodeJS.WritableStream
}): Promise<void> {
  const {backup} = input
  if (backup.manifest.volumes.length === 0) {
    throw new RefusedError(`backup ${backup.id} holds no volume archives (taken with --no-backup-volumes, or the stack had no volumes): nothing to restore; run without --restore-volumes`)
  }
  const decision = confirmationDecision({yes: input.yes, isTTY: Boolean(input.stdin.isTTY), env: input.env})
  if (decision === 'proceed') return
  const warning = restoreWarning(input.stack, backup)
  if (decision === 'refuse') throw new RefusedError(`${warning}. Nobody to ask here (CI or no terminal): pass --yes to confirm; nothing was changed`)
  const readline = createInterface({input: input.stdin, output: input.stderr})
  try {
    const answer = await readline.question(`${warning}.\nType "yes" to restore: `)
    if (answer.trim().toLowerCase() !== 'yes') throw new RefusedError('volume restore not confirmed; nothing was changed')
  } finally {
    readline.close()
  }
}
