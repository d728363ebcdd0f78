import {describe, expect, it} from 'vitest'
import {urlPasswords, urlPasswordsIn, withoutUrlPassword, withoutUrlPasswords} from '../../../src/secrets/url-secrets.js'

describe('urlPasswords', () => {
  it('finds the password as written and decoded, with WHATWG parsing (the last @ ends it)', () => {
    expect(urlPasswords('https://mon:S3cret@grafana.x/api/health')).toEqual(['S3cret'])
    expect(urlPasswords('https://admin:p@ss@host/')).toEqual(['p%40ss', 'p@ss'])
    expect(urlPasswords('https://u:a%2Fb%21@host/')).toEqual(['a%2Fb%21', 'a/b!'])
    expect(urlPasswords('https://u:bad%zz@host/')).toEqual(['bad%zz'])
    expect(urlPasswords('https://user@host/')).toEqual([])
    expect(urlPasswords('not a url')).toEqual([])
  })

  it('urlPasswordsIn: strings and arrays of strings among flag values', () => {
    expect(urlPasswordsIn([['https://a:one1@h/', 'none'], 'https://b:two2@h/', true, 3, undefined])).toEqual(['one1', 'two2'])
  })
})

describe('withoutUrlPassword', () => {
  it('replaces the whole password, not up to its first @', () => {
    expect(withoutUrlPassword('https://admin:p@ss@host/x')).toBe('https://admin:***@host/x')
    expect(withoutUrlPassword('https://mon:S3cret@grafana.x/api/health')).toBe('https://mon:***@grafana.x/api/health')
    expect(withoutUrlPassword('https://grafana.x/api/health')).toBe('https://grafana.x/api/health')
    expect(withoutUrlPassword('https://user@grafana.x/')).toBe('https://user@grafana.x/')
  })

  it('a text that is no URL as a whole loses everything up to the last @ of the authority', () => {
    expect(withoutUrlPassword('url=https://admin:p@ss@host/x')).toBe('url=https://admin:***@host/x')
    expect(withoutUrlPasswords('probe https://a:p@ss@h/x and https://b:q@k/')).toBe('probe https://a:***@h/x and https://b:***@k/')
  })
})
