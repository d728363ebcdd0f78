import {describe, expect, it} from 'vitest'
import {chooseRenderer, rendererEnvironment} from '../../../src/ui/renderer.js'

describe('chooseRenderer', () => {
  it('a person at a terminal gets the live renderer', () => {
    expect(chooseRenderer({isTTY: true, json: false, ci: false})).toEqual({kind: 'live'})
  })
  it('CI, pipes and dumb terminals get timestamped lines on stdout', () => {
    expect(chooseRenderer({isTTY: true, json: false, ci: true})).toEqual({kind: 'lines', stream: 'stdout'})
    expect(chooseRenderer({isTTY: false, json: false, ci: false})).toEqual({kind: 'lines', stream: 'stdout'})
    expect(chooseRenderer({isTTY: true, json: false, ci: false, term: 'dumb'})).toEqual({kind: 'lines', stream: 'stdout'})
  })
  it('GitHub Actions gets groups and annotations, on stderr with --json', () => {
    expect(chooseRenderer({isTTY: false, json: false, ci: true, githubActions: true})).toEqual({kind: 'github', stream: 'stdout'})
    expect(chooseRenderer({isTTY: false, json: true, ci: true, githubActions: true})).toEqual({kind: 'github', stream: 'stderr'})
    expect(rendererEnvironment(false, {GITHUB_ACTIONS: 'true'})).toMatchObject({ci: true, githubActions: true})
    expect(rendererEnvironment(false, {CI: 'true'})).toMatchObject({ci: true, githubActions: false})
  })
  it('--json keeps stdout for the result: lines go to stderr', () => {
    expect(chooseRenderer({isTTY: true, json: true, ci: false})).toEqual({kind: 'lines', stream: 'stderr'})
    expect(chooseRenderer({isTTY: false, json: true, ci: true})).toEqual({kind: 'lines', stream: 'stderr'})
  })
})
