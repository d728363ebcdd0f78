import {describe, expect, it} from 'vitest'
import {BACKUP_ID_PATTERN, formatBackupId, isBackupId, newBackupId} from '../../../src/backup/backup-id.js'

describe('newBackupId', () => {
  it('is the UTC time to the second as YYYYMMDD-HHMMSS', () => {
    expect(newBackupId(new Date('2024-03-07T09:05:02.999Z'), new Set())).toBe('20240307-090502')
    // a local-time offset in the input does not leak into the id
    expect(newBackupId(new Date('2024-03-07T23:30:00-02:00'), new Set())).toBe('20240308-013000')
    expect(newBackupId(new Date('2024-03-07T09:05:02Z'), new Set())).toMatch(BACKUP_ID_PATTERN)
  })

  it('takes the next free second when the id is taken, also across minute, day and year boundaries', () => {
    expect(newBackupId(new Date('2024-03-07T09:05:02Z'), new Set(['20240307-090502']))).toBe('20240307-090503')
    expect(newBackupId(new Date('2024-03-07T09:05:02Z'), new Set(['20240307-090502', '20240307-090503', '20240307-090505']))).toBe(
      '20240307-090504',
    )
    expect(newBackupId(new Date('2023-12-31T23:59:59Z'), new Set(['20231231-235959']))).toBe('20240101-000000')
  })

  it('never returns an id that exists, however many are taken in a row', () => {
    const now = new Date('2024-01-01T00:00:00Z')
    const taken = new Set<string>()
    for (let i = 0; i < 200; i++) {
      const id = newBackupId(now, taken)
      expect(taken.has(id)).toBe(false)
      taken.add(id)
    }
    expect(taken.size).toBe(200)
    expect([...taken].sort().at(-1)).toBe('20240101-000319')
  })

  it('throws on an invalid date', () => {
    expect(() => newBackupId(new Date('nope'), new Set())).toThrow(RangeError)
  })
})

describe('isBackupId', () => {
  it('accepts only YYYYMMDD-HHMMSS', () => {
    expect(isBackupId(formatBackupId(new Date('2030-10-11T12:13:14Z')))).toBe(true)
    for (const bad of ['20240101-000000.partial', '2024010-000000', '20240101000000', '../20240101-000000', 'latest', '']) {
      expect(isBackupId(bad)).toBe(false)
    }
  })
})
