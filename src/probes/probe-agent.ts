/**
 * The undici dispatchers health probes share: one Agent that verifies TLS certificates and, created only when
 * `--insecure` asks for it, one that does not. Probes send `Connection: close`, so the agents keep no idle
 * sockets between attempts (each attempt sees what a new client sees).
 */
import {Agent} from 'undici'

const agents = new Map<boolean, Agent>()

/** The shared probe Agent; `insecure` skips TLS verification (`rejectUnauthorized: false`). */
export function probeAgent(insecure: boolean): Agent {
  let agent = agents.get(insecure)
  if (!agent) {
    agent = new Agent({connect: {rejectUnauthorized: !insecure}})
    agents.set(insecure, agent)
  }
  return agent
}

/** Close the shared probe agents (a later probe creates new ones). */
export async function closeProbeAgents(): Promise<void> {
  const open = [...agents.values()]
  agents.clear()
  await Promise.all(open.map((agent) => agent.close()))
}
