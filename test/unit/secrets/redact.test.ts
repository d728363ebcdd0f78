import {describe, expect, it} from 'vitest'
import {Redactor, secretValues} from '../../../src/secrets/redact.js'

describe('secretValues', () => {
  it('takes values of names matching PASSWORD, SECRET, TOKEN, KEY, WEBHOOK, CREDENTIAL', () => {
    const env = {
      GRAFANA_PASSWORD: 'p1',
      API_SECRET: 's1',
      GH_TOKEN: 't1',
      SSH_KEY: 'k1',
      SLACK_WEBHOOK_URL: 'w1',
      DB_CREDENTIALS: 'c1',
      DOMAIN: 'example.org',
      EMPTY_TOKEN: '',
    }
    expect(secretValues(env).sort()).toEqual(['c1', 'k1', 'p1', 's1', 't1', 'w1'])
  })
})

describe('Redactor', () => {
  it('replaces every occurrence, longest secret first', () => {
    const redactor = new Redactor(['hunter22', 'hunter22-extended'])
    expect(redactor.redact('x hunter22-extended y hunter22 z')).toBe('x *** y *** z')
  })

  it('redacts each line of a multi-line secret', () => {
    const redactor = new Redactor(['-----BEGIN KEY-----\nabcdefgh\n-----END KEY-----'])
    expect(redactor.redact('key line: abcdefgh')).toBe('key line: ***')
  })

  it('leaves very short values alone (they would mangle every message)', () => {
    expect(new Redactor(['ab']).redact('about')).toBe('about')
  })

  it('redacts strings deep inside JSON values', () => {
    const redactor = new Redactor(['s3cr3t!'])
    expect(redactor.redactValue({a: ['x s3cr3t! y'], b: {c: 's3cr3t!'}, n: 3})).toEqual({a: ['x *** y'], b: {c: '***'}, n: 3})
  })
})

describe('Redactor: URL secrets', () => {
  const webhook = 'https://hooks.slack.com/services/T0/B0/XYZsecret'

  it('also hides the percent-encoded form of a URL secret and its path below the host', () => {
    const redactor = new Redactor([webhook])
    expect(redactor.redact(`POST ${webhook} failed`)).toBe('POST *** failed')
    expect(redactor.redact(`?u=${encodeURIComponent(webhook)}`)).toBe('?u=***')
    expect(redactor.redact('404 on /services/T0/B0/XYZsecret')).toBe('404 on ***')
  })

  it('a path shorter than 8 characters is not a needle of its own', () => {
    const redactor = new Redactor(['https://example.org/abc'])
    expect(redactor.redact('GET /abc')).toBe('GET /abc')
    expect(redactor.redact('GET https://example.org/abc')).toBe('GET ***')
  })

  it('add() teaches a redactor more secrets, seen by every holder of it', () => {
    const redactor = new Redactor(['first-secret'])
    const holder = {redactor}
    redactor.add(['later-secret'])
    expect(holder.redactor.redact('first-secret later-secret')).toBe('*** ***')
  })
})

describe('Redactor.redactValue', () => {
  it('redacts strings and keys, converts Dates as JSON does, and keeps numbers', () => {
    const redactor = new Redactor(['3000', 'a"b\\c-secret'])
    expect(redactor.redactValue({durationMs: 13_000, 'key-3000': 'x a"b\\c-secret', at: new Date(0)})).toEqual({
      durationMs: 13_000,
      'key-***': 'x ***',
      at: '1970-01-01T00:00:00.000Z',
    })
  })
})
