/**
 * A local stand-in for Slack's incoming-webhook endpoint, on 127.0.0.1 only: records every request body and answers
 * as told: 'ok' (200 "ok", as Slack does), a status code (500, 400, 429...), or 'hang' (accepts, never answers).
 */
import {createServer, type IncomingMessage, type ServerResponse} from 'node:http'
import type {AddressInfo, Socket} from 'node:net'

export type ReceiverMode = 'ok' | 'hang' | number

export interface SlackReceiver {
  /** http://127.0.0.1:<port>/services/T000/B000/<token>: the token is a secret to look for in outputs. */
  url: string
  token: string
  /** Raw bodies of every request, in arrival order. */
  bodies: string[]
  /** Parsed bodies that were JSON. */
  messages: () => Array<{text?: string; blocks?: unknown[]}>
  setMode(mode: ReceiverMode): void
  close(): Promise<void>
}

export async function startSlackReceiver(mode: ReceiverMode = 'ok', token = `tok${Math.random().toString(36).slice(2, 12)}`): Promise<SlackReceiver> {
  let current = mode
  const bodies: string[] = []
  const sockets = new Set<Socket>()
  const server = createServer((request: IncomingMessage, response: ServerResponse) => {
    const chunks: Buffer[] = []
    request.on('data', (chunk: Buffer) => chunks.push(chunk))
    request.on('end', () => {
      bodies.push(Buffer.concat(chunks).toString('utf8'))
      if (current === 'hang') return
      if (current === 'ok') {
        response.writeHead(200, {'content-type': 'text/plain'}).end('ok')
        return
      }
      response.writeHead(current, {'content-type': 'text/plain', ...(current === 429 ? {'retry-after': '1'} : {})}).end(current === 400 ? 'invalid_payload' : 'error')
    })
  })
  server.on('connection', (socket) => {
    sockets.add(socket)
    socket.on('close', () => sockets.delete(socket))
  })
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  const {port} = server.address() as AddressInfo
  return {
    url: `http://127.0.0.1:${port}/services/T000/B000/${token}`,
    token,
    bodies,
    messages: () =>
      bodies.flatMap((body) => {
        try {
          return [JSON.parse(body) as {text?: string; blocks?: unknown[]}]
        } catch {
          return []
        }
      }),
    setMode(next) {
      current = next
    },
    close: async () => {
      for (const socket of sockets) socket.destroy()
      await new Promise<void>((resolve) => server.close(() => resolve()))
    },
  }
}
