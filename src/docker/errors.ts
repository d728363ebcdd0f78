import {ClinicalError, RefusedError} from '../errors.js'
import {ExitCode} from '../exit-codes.js'

/**
 * Typed Docker errors, produced only by the request choke point in client.ts.
 * Their exit code is what they mean when they stop a command before anything changed; once a deploy has
 * changed the stack, the deploy maps them to its own outcome.
 */

/** The daemon cannot be reached at all (no socket, refused, TLS failure, timeout before an answer). */
export class DockerUnreachableError extends RefusedError {
  override readonly name = 'DockerUnreachableError'
  constructor(
    readonly host: string,
    reason: string,
    options?: {cause?: unknown},
  ) {
    super(
      `Docker is not reachable at ${host}: ${reason}. Start the Docker daemon or set DOCKER_HOST to a reachable engine.`,
      options,
    )
  }
}

/** The daemon answered with an error status. */
export class DockerApiError extends ClinicalError {
  override readonly name: string = 'DockerApiError'
  constructor(
    readonly statusCode: number,
    readonly method: string,
    readonly path: string,
    readonly apiMessage: string,
  ) {
    super(`Docker ${method} ${path} failed with HTTP ${statusCode}: ${apiMessage}`, ExitCode.NeedsPerson)
  }
}

export class DockerNotFoundError extends DockerApiError {
  override readonly name = 'DockerNotFoundError'
}

export class DockerConflictError extends DockerApiError {
  override readonly name = 'DockerConflictError'
}

/**
 * A service update sent with a stale `version` (Docker answers HTTP 500, not 409; DESIGN.md §4).
 * Re-read the service and re-apply.
 */
export class DockerUpdateOutOfSequenceError extends DockerApiError {
  override readonly name = 'DockerUpdateOutOfSequenceError'
}

/** The node answers but is not an active swarm manager (HTTP 503 on swarm endpoints). */
export class DockerNotSwarmManagerError extends DockerApiError {
  override readonly name = 'DockerNotSwarmManagerError'
  override readonly exitCode = ExitCode.Refused
  constructor(statusCode: number, method: string, path: string, apiMessage: string) {
    super(statusCode, method, path, apiMessage)
    // Error's constructor defines `message` as an own property, so a getter on the class would be shadowed.
    this.message = `This Docker node is not an active swarm manager (${apiMessage}). Run clinical on a manager node, or point DOCKER_HOST at one.`
  }
}

/** Map an error answer to its typed error. Pure: tested on its own. */
export function errorForStatus(statusCode: number, method: string, path: string, apiMessage: string): DockerApiError {
  if (statusCode === 404) return new DockerNotFoundError(statusCode, method, path, apiMessage)
  if (statusCode === 409) return new DockerConflictError(statusCode, method, path, apiMessage)
  if (/update out of sequence/i.test(apiMessage)) {
    return new DockerUpdateOutOfSequenceError(statusCode, method, path, apiMessage)
  }
  if (statusCode === 503 && /not (a swarm manager|part of a swarm)|swarm mode/i.test(apiMessage)) {
    return new DockerNotSwarmManagerError(statusCode, method, path, apiMessage)
  }
  return new DockerApiError(statusCode, method, path, apiMessage)
}

/**
 * Worth trying again (Docker restarting, a leader election, a network blip): a transport error, a timeout, or a
 * 5xx answer. A 4xx answer will not improve by asking again.
 */
export function isTransientDockerError(error: unknown): boolean {
  if (error instanceof DockerApiError) return error.statusCode >= 500
  if (error instanceof DockerUnreachableError) return true
  if (!(error instanceof Error) || error.name === 'AbortError') return false
  // a request timeout, or a socket error while a body was read (undici's UND_ERR_*, Node's ECONNRESET, ...)
  return error.name === 'TimeoutError' || typeof (error as NodeJS.ErrnoException).code === 'string'
}
