/**
 * HTTP probes against a real service on the local swarm: busybox httpd on the host network, bound to
 * 127.0.0.1:<free port>. The probe starts before the stack exists, so it sees the port refuse connections
 * first and passes only once the task serves /version.
 */
import {request} from 'undici'
import {afterAll, expect, it} from 'vitest'
import {DockerClient} from '../../src/docker/client.js'
import {probeUrl, probeUrls, type ProbeAttempt} from '../../src/probes/http-probe.js'
import {closeProbeAgents} from '../../src/probes/probe-agent.js'
import {
  describeOnSwarm,
  dockerStackDeploy,
  freePort,
  httpdCommand,
  removeStack,
  TEST_IMAGE,
  uniqueStackName,
  writeComposeFile,
} from '../helpers/swarm.js'

function composeFile(port: number): string {
  return `version: "3.8"
services:
  web:
    image: ${TEST_IMAGE.v2}
    command: ${JSON.stringify(httpdCommand(port))}
    networks: [hostnet]
    deploy:
      replicas: 1
networks:
  hostnet:
    external: true
    name: host
`
}

describeOnSwarm('HTTP probes against a busybox httpd service on the real swarm', () => {
  const docker = new DockerClient()
  const stack = uniqueStackName()
  const cleanups: Array<() => Promise<void>> = []

  afterAll(async () => {
    await removeStack(docker, stack)
    for (const cleanup of cleanups) await cleanup()
    await docker.close()
    await closeProbeAgents()
  })

  it('probes http://127.0.0.1:PORT/version until the service serves it, then a missing path fails naming 404', async () => {
    const port = await freePort()
    const url = `http://127.0.0.1:${port}/version`
    const compose = await writeComposeFile(composeFile(port))
    cleanups.push(compose.cleanup)

    const attempts: ProbeAttempt[] = []
    // started before the stack exists: nothing listens on the port yet
    const probing = probeUrl(url, {deadlineMs: Date.now() + 120_000, successIntervalMs: 200, onAttempt: (a) => attempts.push(a)})
    await dockerStackDeploy(compose.file, stack)
    const result = await probing

    expect(result).toMatchObject({ok: true, url, status: 200})
    expect(result.attempts).toBe(attempts.length)
    // refused while the task was being created and started, then three 200s in a row
    expect(attempts[0]?.error).toContain('ECONNREFUSED')
    expect(attempts.slice(-3).map((a) => a.status)).toEqual([200, 200, 200])

    // what answered was the service's httpd (the image's /www/version holds its tag)
    const response = await request(url, {signal: AbortSignal.timeout(5000)})
    expect(response.statusCode).toBe(200)
    expect((await response.body.text()).trim()).toBe('v2')

    // the same service, a path it does not serve: retried until the deadline, and the reason names the 404
    const missing = `http://127.0.0.1:${port}/actuator/health`
    const [served, notServed] = await probeUrls([url, missing], {deadlineMs: Date.now() + 3000, successIntervalMs: 100})
    expect(served).toMatchObject({ok: true, url, attempts: 3})
    expect(notServed).toMatchObject({ok: false, url: missing, status: 404})
    if (notServed && !notServed.ok) expect(notServed.reason).toMatch(new RegExp(`^http://127\\.0\\.0\\.1:${port}/actuator/health answered HTTP 404 \\(`))
  })
})
