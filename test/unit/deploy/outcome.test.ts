import {describe, expect, it} from 'vitest'
import {decideOutcome} from '../../../src/deploy/outcome.js'
import {LockedError, RefusedError} from '../../../src/errors.js'

const rolledBack = {startedAtMs: 1, ok: true, updated: ['s'], created: [], removed: []}
const rollbackFailed = {...rolledBack, ok: false, error: 'could not restore s'}

describe('decideOutcome (the exit-code table of DESIGN.md §2)', () => {
  it('0: no failure', () => {
    expect(decideOutcome({changed: true, interrupted: false, rollbackDisabled: false}).exitCode).toBe(0)
  })
  it('2: refused before any change', () => {
    const outcome = decideOutcome({failure: {phase: 'preflight', error: new RefusedError('DOMAIN not set')}, changed: false, interrupted: false, rollbackDisabled: false})
    expect(outcome).toMatchObject({outcome: 'refused', exitCode: 2})
    expect(outcome.message).toContain('nothing was changed')
  })
  it('2: a failed backup aborts before any change', () => {
    expect(decideOutcome({failure: {phase: 'backup', error: new Error('ENOSPC')}, changed: false, interrupted: false, rollbackDisabled: false}).exitCode).toBe(2)
  })
  it('3: locked', () => {
    expect(decideOutcome({failure: {phase: 'lock', error: new LockedError('held')}, changed: false, interrupted: false, rollbackDisabled: false}).exitCode).toBe(3)
  })
  it('1: failed and rolled back healthy', () => {
    expect(decideOutcome({failure: {phase: 'converge', error: new Error('x')}, changed: true, interrupted: false, rollback: rolledBack, rollbackDisabled: false}).exitCode).toBe(1)
  })
  it('4: the rollback failed', () => {
    expect(decideOutcome({failure: {phase: 'converge', error: new Error('x')}, changed: true, interrupted: false, rollback: rollbackFailed, rollbackDisabled: false}).exitCode).toBe(4)
  })
  it('4: rollback disabled', () => {
    expect(decideOutcome({failure: {phase: 'converge', error: new Error('x')}, changed: true, interrupted: false, rollbackDisabled: true}).exitCode).toBe(4)
  })
  it('130: interrupted and rolled back', () => {
    expect(decideOutcome({failure: {phase: 'converge', error: new Error('aborted')}, changed: true, interrupted: true, rollback: rolledBack, rollbackDisabled: false}).exitCode).toBe(130)
  })
  it('130: interrupted before any change', () => {
    const outcome = decideOutcome({failure: {phase: 'preflight', error: new Error('aborted')}, changed: false, interrupted: true, rollbackDisabled: false})
    expect(outcome).toMatchObject({outcome: 'interrupted', exitCode: 130})
    expect(outcome.message).toContain('nothing was changed')
  })
  it('4: interrupted and the rollback failed', () => {
    expect(decideOutcome({failure: {phase: 'converge', error: new Error('aborted')}, changed: true, interrupted: true, rollback: rollbackFailed, rollbackDisabled: false}).exitCode).toBe(4)
  })
})
