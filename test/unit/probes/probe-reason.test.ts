import {describe, expect, it} from 'vitest'
import {describeAttemptError, formatProbeDuration, probeFailureReason} from '../../../src/probes/probe-reason.js'

const url = 'https://stats.example.org/actuator/health'

describe('formatProbeDuration', () => {
  it.each([
    [0, '0ms'],
    [850.4, '850ms'],
    [4200, '4.2s'],
    [60_000, '60s'],
    [119_400, '119s'],
    [150_000, '2m30s'],
    [600_000, '10m'],
  ])('%d ms → %s', (ms, text) => {
    expect(formatProbeDuration(ms)).toBe(text)
  })
})

describe('describeAttemptError', () => {
  it('says how long a timed-out attempt waited, not the DOMException text', () => {
    const error = new DOMException('The operation was aborted due to timeout', 'TimeoutError')
    expect(describeAttemptError(error, 5000)).toBe('no answer within 5000ms')
  })

  it('keeps a message that already names its code, and appends a code it lacks', () => {
    const refused = Object.assign(new Error('connect ECONNREFUSED 127.0.0.1:1'), {code: 'ECONNREFUSED'})
    expect(describeAttemptError(refused, 5000)).toBe('connect ECONNREFUSED 127.0.0.1:1')
    const closed = Object.assign(new Error('other side closed'), {code: 'UND_ERR_SOCKET'})
    expect(describeAttemptError(closed, 5000)).toBe('other side closed (UND_ERR_SOCKET)')
  })

  it('keeps one line only', () => {
    expect(describeAttemptError(new Error('first\nsecond'), 5000)).toBe('first')
    expect(describeAttemptError('plain\ntext', 5000)).toBe('plain')
  })
})

describe('probeFailureReason', () => {
  const base = {url, durationMs: 60_000, consecutive: 0, successesNeeded: 3}

  it('names the URL, the last refused status and the attempts', () => {
    expect(probeFailureReason({...base, attempts: 14, last: {status: 503, accepted: false}, lastRefusedStatus: 503})).toBe(
      `${url} answered HTTP 503 (last of 14 attempts in 60s)`,
    )
  })

  it('names the last error, and an earlier refused status when there was one', () => {
    expect(probeFailureReason({...base, attempts: 1, durationMs: 1200, last: {error: 'connect ECONNREFUSED 127.0.0.1:9'}})).toBe(
      `${url}: connect ECONNREFUSED 127.0.0.1:9 (1 attempt in 1.2s)`,
    )
    expect(probeFailureReason({...base, attempts: 9, last: {error: 'no answer within 5000ms'}, lastRefusedStatus: 404})).toBe(
      `${url}: no answer within 5000ms (last of 9 attempts in 60s; before that it answered HTTP 404)`,
    )
  })

  it('says when the deadline came in the middle of a run of successes', () => {
    expect(probeFailureReason({...base, attempts: 6, consecutive: 2, last: {status: 200, accepted: true}})).toBe(
      `${url} answered HTTP 200 only 2 of 3 times in a row before the deadline (6 attempts in 60s)`,
    )
  })

  it('says when no attempt could be made', () => {
    expect(probeFailureReason({...base, attempts: 0})).toBe(`${url}: the deadline passed before the first attempt`)
  })
})

describe('probeFailureReason: a URL with a password', () => {
  it('names the URL without its password', () => {
    const reason = probeFailureReason({
      url: 'https://mon:S3cret@grafana.x/api/health',
      attempts: 2,
      durationMs: 3000,
      last: {status: 401, accepted: false},
      consecutive: 0,
      successesNeeded: 3,
    })
    expect(reason).toBe('https://mon:***@grafana.x/api/health answered HTTP 401 (last of 2 attempts in 3.0s)')
    expect(probeFailureReason({url: 'https://admin:p@ss@host/', attempts: 0, durationMs: 0, consecutive: 0, successesNeeded: 3})).not.toContain('ss@')
  })
})
