import {readFileSync} from 'node:fs'
import {homedir} from 'node:os'
import {join} from 'node:path'
import {RefusedError} from '../errors.js'

/** Where the Docker daemon is, read from the same environment variables as the docker CLI. */
export type DockerEndpoint =
  | {kind: 'unix'; socketPath: string; display: string}
  | {kind: 'tcp'; origin: string; tls?: {verify: boolean; certPath: string}; display: string}

export const DEFAULT_DOCKER_SOCKET = '/var/run/docker.sock'

/**
 * Parse DOCKER_HOST / DOCKER_TLS_VERIFY / DOCKER_CERT_PATH (pure).
 * `unix:///path` (default /var/run/docker.sock) or `tcp://host:port`; TLS when DOCKER_TLS_VERIFY or DOCKER_TLS is set.
 */
export function parseDockerHost(env: NodeJS.ProcessEnv): DockerEndpoint {
  const raw = env.DOCKER_HOST?.trim() || `unix://${DEFAULT_DOCKER_SOCKET}`
  let url: URL
  try {
    url = new URL(raw)
  } catch {
    throw new RefusedError(`DOCKER_HOST=${raw} is not a URL; use unix:///var/run/docker.sock or tcp://host:2376`)
  }
  if (url.protocol === 'unix:') {
    const socketPath = url.pathname || DEFAULT_DOCKER_SOCKET
    return {kind: 'unix', socketPath, display: `unix://${socketPath}`}
  }
  if (url.protocol === 'tcp:' || url.protocol === 'http:' || url.protocol === 'https:') {
    const verify = Boolean(env.DOCKER_TLS_VERIFY)
    const useTls = verify || Boolean(env.DOCKER_TLS) || url.protocol === 'https:'
    const port = url.port || (useTls ? '2376' : '2375')
    const origin = `${useTls ? 'https' : 'http'}://${url.hostname}:${port}`
    const certPath = env.DOCKER_CERT_PATH || join(homedir(), '.docker')
    return {kind: 'tcp', origin, display: raw, ...(useTls ? {tls: {verify, certPath}} : {})}
  }
  throw new RefusedError(`DOCKER_HOST=${raw} uses ${url.protocol}// which clinical does not support; use unix:// or tcp://`)
}

/** The client certificate files of a TLS endpoint (ca.pem, cert.pem, key.pem in DOCKER_CERT_PATH). */
export function readTlsFiles(certPath: string): {ca?: Buffer; cert?: Buffer; key?: Buffer} {
  const read = (name: string): Buffer | undefined => {
    try {
      return readFileSync(join(certPath, name))
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code === 'ENOENT') return undefined
      throw new RefusedError(`cannot read ${join(certPath, name)} (DOCKER_CERT_PATH): ${(error as Error).message}`)
    }
  }
  return {ca: read('ca.pem'), cert: read('cert.pem'), key: read('key.pem')}
}
