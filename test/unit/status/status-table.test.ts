import {describe, expect, it} from 'vitest'
import type {ServiceStatus, StackStatus} from '../../../src/status/stack-status.js'
import {formatStatusTable} from '../../../src/ui/status-table.js'

const NOW = new Date('2024-05-01T12:00:00Z')

function row(name: string, overrides: Partial<ServiceStatus> = {}): ServiceStatus {
  return {
    name,
    id: `id-${name}`,
    image: 'clinical-test/busybox:v1',
    mode: 'replicated',
    desired: 1,
    running: 1,
    updateState: null,
    updateMessage: null,
    lastTaskError: null,
    ...overrides,
  }
}

describe('formatStatusTable', () => {
  it('prints a header line, aligned columns, images without digests and "-" for no update state', () => {
    const status: StackStatus = {
      stack: 's1',
      services: [
        row('s1_agent', {mode: 'global', image: 'clinical-test/busybox:v1@sha256:0123456789abcdef'}),
        row('s1_web', {image: 'clinical-test/busybox:v2', desired: 2, running: 1, updateState: 'updating'}),
        row('s1_zero', {desired: 0, running: 0}),
      ],
    }
    expect(formatStatusTable(status, NOW).split('\n')).toEqual([
      'Stack s1: 3 service(s)',
      '',
      'SERVICE   IMAGE                     MODE        REPLICAS  UPDATE',
      's1_agent  clinical-test/busybox:v1  global      1/1       -',
      's1_web    clinical-test/busybox:v2  replicated  1/2       updating',
      's1_zero   clinical-test/busybox:v1  replicated  0/0       -',
    ])
  })

  it('lists the update message and the last task error (with slot and age) under the table', () => {
    const status: StackStatus = {
      stack: 's1',
      services: [
        row('s1_crash', {
          running: 0,
          lastTaskError: {taskId: 't1', slot: 1, state: 'failed', error: 'task: non-zero exit (3)', at: '2024-05-01T11:59:30Z'},
        }),
        row('s1_global', {
          mode: 'global',
          lastTaskError: {taskId: 't2', slot: null, state: 'rejected', error: 'No such image: x', at: '2024-05-01T11:45:00Z'},
        }),
        row('s1_web', {updateState: 'paused', updateMessage: 'update paused due to failure or early termination of task t9'}),
      ],
    }
    const lines = formatStatusTable(status, NOW).split('\n')
    expect(lines.slice(-5)).toEqual([
      '',
      'Last errors:',
      '  s1_crash slot 1: failed 30s ago: task: non-zero exit (3)',
      '  s1_global: rejected 15m ago: No such image: x',
      '  s1_web: update paused: update paused due to failure or early termination of task t9',
    ])
    expect(lines).toContain('s1_crash   clinical-test/busybox:v1  replicated  0/1       -')
  })

  it('prints ages in hours and days for old errors, and no "Last errors" section without errors', () => {
    const old = (at: string): StackStatus => ({
      stack: 's1',
      services: [row('s1_web', {lastTaskError: {taskId: 't', slot: 1, state: 'failed', error: 'e', at}})],
    })
    expect(formatStatusTable(old('2024-05-01T09:00:00Z'), NOW)).toContain('failed 3h ago: e')
    expect(formatStatusTable(old('2024-04-28T12:00:00Z'), NOW)).toContain('failed 3d ago: e')
    expect(formatStatusTable({stack: 's1', services: [row('s1_web')]}, NOW)).not.toContain('Last errors')
  })

  it('a completed update is not listed as an error; a rollback by Swarm is', () => {
    const completed = row('s1_web', {updateState: 'completed', updateMessage: 'update completed'})
    expect(formatStatusTable({stack: 's1', services: [completed]}, NOW)).not.toContain('Last errors')
    const rolledBack = row('s1_web', {updateState: 'rollback_completed', updateMessage: 'rollback completed'})
    expect(formatStatusTable({stack: 's1', services: [rolledBack]}, NOW)).toContain('  s1_web: update rollback_completed: rollback completed')
  })
})
