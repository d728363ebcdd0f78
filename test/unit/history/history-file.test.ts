import {mkdtemp, readFile, rm, stat, writeFile} from 'node:fs/promises'
import {tmpdir} from 'node:os'
import {join} from 'node:path'
import {afterEach, beforeEach, describe, expect, it} from 'vitest'
import {safeFlags} from '../../../src/history/history-entry.js'
import {appendHistory, historyPath, readHistory, sha256Hex, verifyHistory, verifyHistoryText} from '../../../src/history/history-file.js'
import {Redactor} from '../../../src/secrets/redact.js'

const who = {user: 'alice', host: 'mgr-1'}

describe('history.jsonl', () => {
  let dir = ''
  beforeEach(async () => {
    dir = await mkdtemp(join(tmpdir(), 'clinical-history-'))
  })
  afterEach(async () => {
    await rm(dir, {recursive: true, force: true})
  })

  const append = (n: number, extra: Record<string, unknown> = {}) =>
    appendHistory({backupDir: dir, stack: 'web', command: 'deploy', who, outcome: 'success', exitCode: 0, backupId: `2026112${n}-000000`, ...extra})

  it('appends one line per run, each carrying the sha256 of the line before; private file and directory', async () => {
    await append(1)
    await append(2)
    await append(3)
    const path = historyPath(dir, 'web')
    const lines = (await readFile(path, 'utf8')).trimEnd().split('\n')
    expect(lines).toHaveLength(3)
    expect(JSON.parse(lines[0]!).prev).toBeNull()
    expect(JSON.parse(lines[1]!).prev).toBe(sha256Hex(lines[0]!))
    expect(JSON.parse(lines[2]!).prev).toBe(sha256Hex(lines[1]!))
    expect((await stat(path)).mode & 0o777).toBe(0o600)
    expect((await stat(join(dir, 'web'))).mode & 0o777).toBe(0o700)
    expect(await verifyHistory(path)).toEqual({path, lines: 3, ok: true, problems: []})
    const {records} = await readHistory(path)
    expect(records.map((record) => [record.line, record.entry.backupId])).toEqual([
      [1, '20261121-000000'],
      [2, '20261122-000000'],
      [3, '20261123-000000'],
    ])
  })

  it('verify names the edited line (and the next one, whose prev no longer matches)', async () => {
    await append(1)
    await append(2)
    await append(3)
    const path = historyPath(dir, 'web')
    const text = await readFile(path, 'utf8')
    await writeFile(path, text.replace('"backupId":"20261122-000000"', '"backupId":"20261129-000000"'))
    const result = await verifyHistory(path)
    expect(result.ok).toBe(false)
    expect(result.problems.map((problem) => problem.line)).toEqual([2, 3])
    expect(result.problems[0]!.problem).toMatch(/edited/)
  })

  it('an edit of the last line is found too (its own sha256)', async () => {
    await append(1)
    await append(2)
    const path = historyPath(dir, 'web')
    const text = await readFile(path, 'utf8')
    await writeFile(path, text.replace('"outcome":"success","exitCode":0,"backupId":"20261122', '"outcome":"success","exitCode":1,"backupId":"20261122'))
    expect((await verifyHistory(path)).problems).toEqual([{line: 2, problem: expect.stringMatching(/does not match its sha256/)}])
  })

  it('a line edited with its sha256 recomputed, a removed line, an inserted line: all found', () => {
    const lines = ['{"a":1', '{"a":2', '{"a":3'].reduce<string[]>((out, body) => {
      const prev = out.length ? sha256Hex(out.at(-1)!) : null
      const full = `${body},"prev":${JSON.stringify(prev)}}`
      out.push(`${full.slice(0, -1)},"sha256":"${sha256Hex(full)}"}`)
      return out
    }, [])
    expect(verifyHistoryText(`${lines.join('\n')}\n`).problems).toEqual([])
    // line 2 rewritten consistently: line 3's prev still names the original
    const forgedBody = `{"a":9,"prev":${JSON.stringify(sha256Hex(lines[0]!))}}`
    const forged = `${forgedBody.slice(0, -1)},"sha256":"${sha256Hex(forgedBody)}"}`
    expect(verifyHistoryText([lines[0], forged, lines[2]].join('\n')).problems.map((problem) => problem.line)).toEqual([3])
    expect(verifyHistoryText([lines[0], lines[2]].join('\n')).problems.map((problem) => problem.line)).toEqual([2])
    expect(verifyHistoryText([lines[1], lines[2]].join('\n')).problems[0]).toEqual({line: 1, problem: expect.stringMatching(/first line/)})
    expect(verifyHistoryText([lines[0], 'not json', lines[1]].join('\n')).problems.map((problem) => problem.line)).toEqual([2, 3])
  })

  it('concurrent appends keep the chain intact', async () => {
    await Promise.all(Array.from({length: 12}, (_, index) => append(index % 10)))
    const result = await verifyHistory(historyPath(dir, 'web'))
    expect(result).toMatchObject({ok: true, lines: 12})
  })

  it('writes no secret: secret-named flags are ***, URL passwords go, every value is redacted', async () => {
    const redactor = new Redactor(['tok-123456', 'grafana-pw-9'])
    await appendHistory({
      backupDir: dir,
      stack: 'web',
      command: 'deploy',
      who,
      outcome: 'rolled-back',
      exitCode: 1,
      message: 'probe failed: https://stats.example.org answered 401 with grafana-pw-9',
      flags: {'slack-webhook-url': 'https://hooks.slack.com/services/T/B/tok-123456', 'health-url': ['https://admin:grafana-pw-9@stats.example.org/health'], stack: 'web'},
      redactor,
    })
    const text = await readFile(historyPath(dir, 'web'), 'utf8')
    expect(text).not.toContain('tok-123456')
    expect(text).not.toContain('grafana-pw-9')
    const entry = JSON.parse(text)
    expect(entry.flags).toEqual({'slack-webhook-url': '***', 'health-url': ['https://admin:***@stats.example.org/health'], stack: 'web'})
    expect(entry.message).toBe('probe failed: https://stats.example.org answered 401 with ***')
    expect((await verifyHistory(historyPath(dir, 'web'))).ok).toBe(true)
  })

  it('after a torn last line (a crash mid-write) the next run starts a new line, and verify names the torn one', async () => {
    await append(1)
    const path = historyPath(dir, 'web')
    await writeFile(path, `${await readFile(path, 'utf8')}{"time":"2026-11`, {flag: 'w'})
    await append(2)
    const result = await verifyHistory(path)
    expect(result.lines).toBe(3)
    expect(result.problems.map((problem) => problem.line)).toEqual([2])
    expect((await readHistory(path)).unreadableLines).toEqual([2])
  })

  it('an absent file is an empty history for reading, and ENOENT for verify', async () => {
    expect(await readHistory(historyPath(dir, 'none'))).toEqual({records: [], unreadableLines: [], exists: false})
    await expect(verifyHistory(historyPath(dir, 'none'))).rejects.toMatchObject({code: 'ENOENT'})
  })
})

describe('safeFlags', () => {
  it('drops undefined flags and hides secret-named ones', () => {
    expect(safeFlags({stack: 'web', 'env-file': undefined, 'api-token': 'x', 'db-password': 'y', json: true})).toEqual({stack: 'web', 'api-token': '***', 'db-password': '***', json: true})
  })
})
