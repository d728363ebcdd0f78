import {chmodSync, mkdtempSync, writeFileSync} from 'node:fs'
import {tmpdir} from 'node:os'
import {join} from 'node:path'
import {afterAll, describe, expect, it, vi} from 'vitest'
import {Redactor} from '../../../src/secrets/redact.js'

afterAll(() => {
  vi.unstubAllEnvs()
})

describe('runStackDeploy output', () => {
  it('joins a multibyte character split across two chunks before redacting the line', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'clinical-fake-docker-'))
    const fake = join(dir, 'docker')
    // "ä" is C3 A4: the first chunk ends after C3, the second starts with A4
    writeFileSync(fake, "#!/bin/sh\nprintf 'Updating service web (secret p\\303'\nsleep 0.3\nprintf '\\244sswort-geheim)\\n'\n")
    chmodSync(fake, 0o755)
    vi.stubEnv('CLINICAL_DOCKER_CLI', fake)
    vi.resetModules()
    const {runStackDeploy} = await import('../../../src/docker/stack-cli.js')
    const lines: string[] = []
    await runStackDeploy(
      {composeFile: '/nonexistent.yml', stack: 'web', resolveImage: 'never'},
      {env: {PATH: process.env.PATH ?? ''}, redactor: new Redactor(['pässwort-geheim']), onLine: (line) => lines.push(line)},
    )
    expect(lines).toEqual(['Updating service web (secret ***)'])
  })
})
