import {createServer, type Server} from 'node:http'
import {afterAll, describe, expect, it} from 'vitest'
import {probeAppOrThrow, probeHealthOrThrow} from '../../../src/deploy/verify-stack.js'
import {closeProbeAgents} from '../../../src/probes/probe-agent.js'

let server: Server | undefined

afterAll(async () => {
  server?.closeAllConnections()
  await new Promise((resolve) => (server ? server.close(resolve) : resolve(undefined)))
  await closeProbeAgents()
})

async function okServer(): Promise<number> {
  server = createServer((_request, response) => response.writeHead(200).end('ok'))
  await new Promise<void>((resolve) => server!.listen(0, '127.0.0.1', resolve))
  return (server.address() as {port: number}).port
}

describe('probe output of verify-stack', () => {
  it('names a probe URL without its password', async () => {
    const port = await okServer()
    const url = `http://mon:S3cret-verify@127.0.0.1:${port}/api/health`
    const lines: string[] = []
    const report = {output: (line: string) => lines.push(line), title: () => {}}
    const deadlineMs = Date.now() + 20_000
    await probeHealthOrThrow([url], {deadlineMs, report, insecure: false})
    await probeAppOrThrow({healthUrls: [], appProbe: 'fail', appProbeUrl: url}, {deadlineMs, report, insecure: false})
    expect(lines).toHaveLength(2)
    for (const line of lines) expect(line).toMatch(new RegExp(`^http://mon:\\*\\*\\*@127\\.0\\.0\\.1:${port}/api/health: HTTP 200`))
  })
})
