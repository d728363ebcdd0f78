import {describe, expect, it} from 'vitest'
import {safeFlags} from '../../../src/history/history-entry.js'

describe('safeFlags', () => {
  it('removes the whole password of a URL flag (WHATWG parsing: not cut at its first @)', () => {
    const flags = safeFlags({
      'health-url': ['https://admin:p@ss@host/health', 'https://mon:S3cret@grafana.x/api/health', 'https://plain.x/ping'],
      'app-probe-url': 'https://u:pw@stats.x/app',
    })
    expect(flags['health-url']).toEqual(['https://admin:***@host/health', 'https://mon:***@grafana.x/api/health', 'https://plain.x/ping'])
    expect(flags['app-probe-url']).toBe('https://u:***@stats.x/app')
    expect(JSON.stringify(flags)).not.toMatch(/ss@host|S3cret/)
  })

  it('secret-named flags become ***', () => {
    expect(safeFlags({'slack-webhook-url': 'https://hooks.slack.com/x', stack: 'web'})).toEqual({'slack-webhook-url': '***', stack: 'web'})
  })
})
