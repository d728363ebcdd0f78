import {PassThrough} from 'node:stream'
import {describe, expect, it} from 'vitest'
import {confirmVolumeRestore, confirmationDecision} from '../../../src/backup/restore-confirmation.js'
import type {BackupManifest} from '../../../src/backup/types.js'
import {RefusedError} from '../../../src/errors.js'

describe('confirmationDecision', () => {
  it('proceeds with --yes, asks a person at a terminal, refuses in CI or without a terminal', () => {
    expect(confirmationDecision({yes: true, isTTY: false, env: {CI: 'true'}})).toBe('proceed')
    expect(confirmationDecision({yes: false, isTTY: true, env: {}})).toBe('ask')
    expect(confirmationDecision({yes: false, isTTY: true, env: {CI: 'true'}})).toBe('refuse')
    expect(confirmationDecision({yes: false, isTTY: true, env: {GITHUB_ACTIONS: 'true'}})).toBe('refuse')
    expect(confirmationDecision({yes: false, isTTY: true, env: {CI: 'false'}})).toBe('ask')
    expect(confirmationDecision({yes: false, isTTY: false, env: {}})).toBe('refuse')
  })
})

describe('confirmVolumeRestore', () => {
  const backup = {
    id: '20240101-000000',
    manifest: {createdAt: '2024-01-01T00:00:00.000Z', volumes: [{name: 'shop_data', file: 'volumes/shop_data.tar.gz', entries: 3}]} as BackupManifest,
  }
  const terminal = (answer: string) => {
    const stdin = Object.assign(new PassThrough(), {isTTY: true})
    setTimeout(() => stdin.write(`${answer}\n`), 10)
    return stdin
  }

  it('asks at a terminal, naming the volumes and the backup; "yes" goes ahead, anything else is refused', async () => {
    const stderr = new PassThrough()
    let asked = ''
    stderr.on('data', (chunk) => (asked += chunk))
    await confirmVolumeRestore({stack: 'shop', backup, yes: false, env: {}, stdin: terminal('yes'), stderr})
    expect(asked).toContain('replaces the whole content of volume(s) shop_data of stack shop with backup 20240101-000000')
    await expect(confirmVolumeRestore({stack: 'shop', backup, yes: false, env: {}, stdin: terminal('no'), stderr: new PassThrough()})).rejects.toThrow(
      'volume restore not confirmed; nothing was changed',
    )
  })

  it('refuses without a terminal unless --yes, and refuses a backup without volume archives', async () => {
    const stdin = Object.assign(new PassThrough(), {isTTY: false})
    await expect(confirmVolumeRestore({stack: 'shop', backup, yes: false, env: {}, stdin, stderr: new PassThrough()})).rejects.toThrow(/pass --yes/)
    await expect(confirmVolumeRestore({stack: 'shop', backup, yes: true, env: {}, stdin, stderr: new PassThrough()})).resolves.toBeUndefined()
    const empty = {...backup, manifest: {...backup.manifest, volumes: []}}
    await expect(confirmVolumeRestore({stack: 'shop', backup: empty, yes: true, env: {}, stdin, stderr: new PassThrough()})).rejects.toBeInstanceOf(RefusedError)
  })
})
