import {describe, expect, it} from 'vitest'
import {BACKUP_ID_PATTERN, backupIdMs, formatBackupId, isBackupId, newBackupId} from '../../../src/backup/backup-id.js'

describe('newBackupId', () => {
  it('is the UTC time to the second as YYYYMMDD-HHMMSS', () => {
    expect(newBackupId(new Date('2024-03-07T09:05:02.999Z'), new Set())).toBe('20240307-090502')
    // a local-time offset in the input does not leak into the id
    expect(newBackupId(new Date('2024-03-07T23:30:00-02:00'), new Set())).toBe('20240308-013000')
    expect(newBackupId(new Date('2024-03-07T09:05:02Z'), new Set())).toMatch(BACKUP_ID_PATTERN)
  })

  it('takes the second after the newest id when the id is taken, also across minute, day and year boundaries', () => {
    expect(newBackupId(new Date('2024-03-07T09:05:02Z'), new Set(['20240307-090502']))).toBe('20240307-090503')
    // a free second before the newest id would sort older than it: never reused
    expect(newBackupId(new Date('2024-03-07T09:05:02Z'), new Set(['20240307-090502', '20240307-090503', '20240307-090505']))).toBe(
      '20240307-090506',
    )
    expect(newBackupId(new Date('2023-12-31T23:59:59Z'), new Set(['20231231-235959']))).toBe('20240101-000000')
  })

  it('sorts after every existing id when the clock stepped back', () => {
    const existing = new Set(['20240307-100000', '20240307-083000', 'not-an-id'])
    const id = newBackupId(new Date('2024-03-07T09:00:00Z'), existing)
    expect(id).toBe('20240307-100001')
    expect([...existing, id].filter(isBackupId).sort().at(-1)).toBe(id)
    // older ids only: the clock decides
    expect(newBackupId(new Date('2024-03-07T09:00:00Z'), new Set(['20240307-083000']))).toBe('20240307-090000')
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

describe('backupIdMs', () => {
  it('reads the UTC instant of an id back, and nothing from a non-id', () => {
    expect(backupIdMs('20240307-090502')).toBe(Date.parse('2024-03-07T09:05:02Z'))
    expect(backupIdMs(formatBackupId(new Date('2030-10-11T12:13:14Z')))).toBe(Date.parse('2030-10-11T12:13:14Z'))
    expect(backupIdMs('20240307-090502.partial')).toBeUndefined()
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
