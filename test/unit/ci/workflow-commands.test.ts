import {describe, expect, it} from 'vitest'
import {annotation, escapeData, escapeProperty, GROUP_END, groupStart, maskCommands} from '../../../src/ci/workflow-commands.js'
import {Redactor} from '../../../src/secrets/redact.js'

describe('workflow commands', () => {
  it('escapes data and properties as the runner un-escapes them', () => {
    expect(escapeData('50% done\r\nnext')).toBe('50%25 done%0D%0Anext')
    expect(escapeProperty('a: b, c')).toBe('a%3A b%2C c')
  })

  it('builds groups and annotations on one line each', () => {
    expect(groupStart('Converge:\nevery service')).toBe('::group::Converge: every service')
    expect(GROUP_END).toBe('::endgroup::')
    expect(annotation('error', 'web: task: non-zero exit (3)\nsecond line', 'clinical deploy of web, converge')).toBe(
      '::error title=clinical deploy of web%2C converge::web: task: non-zero exit (3)%0Asecond line',
    )
    expect(annotation('warning', 'careful')).toBe('::warning::careful')
  })
})

describe('maskCommands', () => {
  it('masks every line of a multi-line secret on its own line, and each value once', () => {
    const redactor = new Redactor(['-----BEGIN KEY-----\nAAAAsecretbody\n-----END KEY-----', 'hunter2hunter2', 'hunter2hunter2'])
    const lines = maskCommands(redactor.values)
    expect(lines).toContain('::add-mask::-----BEGIN KEY-----')
    expect(lines).toContain('::add-mask::AAAAsecretbody')
    expect(lines).toContain('::add-mask::-----END KEY-----')
    expect(lines.filter((line) => line === '::add-mask::hunter2hunter2')).toHaveLength(1)
    expect(lines.every((line) => !line.includes('%0A'))).toBe(true)
  })

  it('escapes % so the runner masks the value itself, and skips what is already masked', () => {
    const masked = new Set<string>()
    expect(maskCommands(['p%0Ass'], masked)).toEqual(['::add-mask::p%250Ass'])
    expect(maskCommands(['p%0Ass', 'other-secret'], masked)).toEqual(['::add-mask::other-secret'])
  })

  it('leaves out values too short to mask (the Redactor counts them for a warning)', () => {
    const redactor = new Redactor(['x', 'ab', 'long-enough'])
    expect(maskCommands(redactor.values)).toEqual(['::add-mask::long-enough'])
    expect(redactor.shortValueCount).toBe(2)
  })
})
