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
