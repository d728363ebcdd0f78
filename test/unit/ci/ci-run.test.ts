import {describe, expect, it} from 'vitest'
import {githubRunUrl, isGitHubActions} from '../../../src/ci/ci-run.js'

describe('githubRunUrl', () => {
  it('is built from GITHUB_SERVER_URL, GITHUB_REPOSITORY and GITHUB_RUN_ID', () => {
    expect(githubRunUrl({GITHUB_REPOSITORY: 'acme/shop', GITHUB_RUN_ID: '7'})).toBe('https://github.com/acme/shop/actions/runs/7')
    expect(githubRunUrl({GITHUB_ACTIONS: 'true', GITHUB_SERVER_URL: 'https://ghe.example/', GITHUB_REPOSITORY: 'a/b', GITHUB_RUN_ID: '1'})).toBe(
      'https://ghe.example/a/b/actions/runs/1',
    )
  })

  it('is undefined without a repository and a run id', () => {
    expect(githubRunUrl({GITHUB_REPOSITORY: 'acme/shop'})).toBeUndefined()
    expect(githubRunUrl({GITHUB_RUN_ID: '7', GITHUB_ACTIONS: 'true'})).toBeUndefined()
    expect(githubRunUrl({})).toBeUndefined()
  })
})

describe('isGitHubActions', () => {
  it('is GITHUB_ACTIONS=true only', () => {
    expect(isGitHubActions({GITHUB_ACTIONS: 'true'})).toBe(true)
    expect(isGitHubActions({CI: 'true'})).toBe(false)
    expect(isGitHubActions({GITHUB_ACTIONS: 'false'})).toBe(false)
  })
})
