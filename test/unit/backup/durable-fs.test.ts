import {describe, expect, it} from 'vitest'
import {backupWriteError, isInside} from '../../../src/backup/durable-fs.js'
import {ClinicalError} from '../../../src/errors.js'
import {ExitCode} from '../../../src/exit-codes.js'

function errno(code: string, path: string): NodeJS.ErrnoException {
  return Object.assign(new Error(`${code}: something, open '${path}'`), {code, path})
}

describe('backupWriteError (fault injected: errno errors built by hand, as the real ones cannot be produced here)', () => {
  it('says "disk full writing <file>" for ENOSPC', () => {
    const error = backupWriteError(errno('ENOSPC', '/opt/backups/shop/x.partial/config.tar.gz'), '/fallback')
    expect(error).toBeInstanceOf(ClinicalError)
    expect(error.exitCode).toBe(ExitCode.Refused)
    expect(error.message).toMatch(/^disk full writing \/opt\/backups\/shop\/x\.partial\/config\.tar\.gz: /)
  })

  it('names the directory and the errno for EACCES', () => {
    const error = backupWriteError(errno('EACCES', '/opt/backups/x'), '/fallback')
    expect(error.message).toMatch(/^cannot write backup to \/opt\/backups\/x: EACCES: .*choose another --backup-dir$/)
  })

  it('uses the fallback path when the error has none, and keeps a ClinicalError as it is', () => {
    expect(backupWriteError(new TypeError('boom'), '/b/services/x.json').message).toBe('cannot write backup to /b/services/x.json: boom')
    const original = new ClinicalError('already said', ExitCode.Refused)
    expect(backupWriteError(original, '/x')).toBe(original)
  })
})

describe('isInside', () => {
  it('knows a path inside a directory from a sibling with the same prefix', () => {
    expect(isInside('/opt/backups', '/opt/backups')).toBe(true)
    expect(isInside('/opt/backups', '/opt/backups/shop/1')).toBe(true)
    expect(isInside('/opt/backups', '/opt/backups-old/x')).toBe(false)
    expect(isInside('/opt/backups', '/opt')).toBe(false)
  })
})
