import {describe, expect, it} from 'vitest'
import {type Plan, plainRunner} from '../../../src/deploy/plan.js'

interface Ctx {
  ran: string[]
  failure?: string
}

function plan(failAt?: string): Plan<Ctx> {
  const afterFailure = (ctx: Ctx): string | false => (ctx.failure ? 'an earlier phase failed' : false)
  const step = (id: string) => ({
    id,
    title: id,
    skip: id === 'rollback' ? (ctx: Ctx) => (ctx.failure ? false : 'no failure') : afterFailure,
    async run(ctx: Ctx) {
      ctx.ran.push(id)
      if (id === failAt) throw new Error(`${id} broke`)
    },
  })
  return {
    phases: ['a', 'b', 'c', 'rollback'].map(step),
    onError(ctx, phase) {
      ctx.failure ??= phase.id
    },
  }
}

describe('a plan of phases', () => {
  it('runs every phase in order and skips the rollback when nothing failed', async () => {
    const ctx: Ctx = {ran: []}
    const records = await plainRunner()(plan(), ctx)
    expect(ctx.ran).toEqual(['a', 'b', 'c'])
    expect(records.map((record) => record.status)).toEqual(['passed', 'passed', 'passed', 'skipped'])
  })

  it('after a failure, later phases are skipped and the rollback runs', async () => {
    const ctx: Ctx = {ran: []}
    const records = await plainRunner()(plan('b'), ctx)
    expect(ctx.ran).toEqual(['a', 'b', 'rollback'])
    expect(records.map((record) => record.status)).toEqual(['passed', 'failed', 'skipped', 'passed'])
    expect(records[1]!.error).toBe('b broke')
    expect(ctx.failure).toBe('b')
  })
})
