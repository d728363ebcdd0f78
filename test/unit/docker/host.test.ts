import {homedir} from 'node:os'
import {join} from 'node:path'
import {describe, expect, it} from 'vitest'
import {DEFAULT_DOCKER_SOCKET, parseDockerHost} from '../../../src/docker/host.js'
import {RefusedError} from '../../../src/errors.js'
import {ExitCode} from '../../../src/exit-codes.js'

describe('parseDockerHost', () => {
  it('defaults to the unix socket /var/run/docker.sock when DOCKER_HOST is unset or blank', () => {
    const expected = {kind: 'unix', socketPath: '/var/run/docker.sock', display: 'unix:///var/run/docker.sock'}
    expect(DEFAULT_DOCKER_SOCKET).toBe('/var/run/docker.sock')
    expect(parseDockerHost({})).toEqual(expected)
    expect(parseDockerHost({DOCKER_HOST: '  '})).toEqual(expected)
  })

  it('reads a custom unix socket path', () => {
    expect(parseDockerHost({DOCKER_HOST: 'unix:///run/user/1000/docker.sock'})).toEqual({
      kind: 'unix',
      socketPath: '/run/user/1000/docker.sock',
      display: 'unix:///run/user/1000/docker.sock',
    })
  })

  it('reads tcp://host:port as plain HTTP without DOCKER_TLS_VERIFY', () => {
    expect(parseDockerHost({DOCKER_HOST: 'tcp://manager-1:2376'})).toEqual({
      kind: 'tcp',
      origin: 'http://manager-1:2376',
      display: 'tcp://manager-1:2376',
    })
  })

  it('uses port 2375 for tcp:// without a port and without TLS', () => {
    expect(parseDockerHost({DOCKER_HOST: 'tcp://10.0.0.5'})).toMatchObject({origin: 'http://10.0.0.5:2375'})
  })

  it('speaks TLS with verification when DOCKER_TLS_VERIFY is set, with certificates from DOCKER_CERT_PATH', () => {
    expect(parseDockerHost({DOCKER_HOST: 'tcp://manager-1:2376', DOCKER_TLS_VERIFY: '1', DOCKER_CERT_PATH: '/etc/docker/certs'})).toEqual({
      kind: 'tcp',
      origin: 'https://manager-1:2376',
      display: 'tcp://manager-1:2376',
      tls: {verify: true, certPath: '/etc/docker/certs'},
    })
  })

  it('defaults the certificates to ~/.docker and the TLS port to 2376', () => {
    expect(parseDockerHost({DOCKER_HOST: 'tcp://manager-1', DOCKER_TLS_VERIFY: '1'})).toMatchObject({
      origin: 'https://manager-1:2376',
      tls: {verify: true, certPath: join(homedir(), '.docker')},
    })
  })

  it('speaks TLS without verification when only DOCKER_TLS is set', () => {
    expect(parseDockerHost({DOCKER_HOST: 'tcp://manager-1:2376', DOCKER_TLS: '1'})).toMatchObject({
      origin: 'https://manager-1:2376',
      tls: {verify: false},
    })
  })

  it('refuses a DOCKER_HOST that is not a URL, with exit code 2 and a hint', () => {
    const attempt = () => parseDockerHost({DOCKER_HOST: 'not a url'})
    expect(attempt).toThrow(RefusedError)
    expect(attempt).toThrow(/DOCKER_HOST=not a url is not a URL; use unix:\/\/\/var\/run\/docker\.sock or tcp:\/\/host:2376/)
    try {
      attempt()
    } catch (error) {
      expect((error as RefusedError).exitCode).toBe(ExitCode.Refused)
    }
  })

  it('refuses ssh:// (not supported) with a hint naming unix:// and tcp://', () => {
    expect(() => parseDockerHost({DOCKER_HOST: 'ssh://deploy@manager-1'})).toThrow(RefusedError)
    expect(() => parseDockerHost({DOCKER_HOST: 'ssh://deploy@manager-1'})).toThrow(/ssh:\/\/ which clinical does not support; use unix:\/\/ or tcp:\/\//)
  })

  it('refuses a host without a scheme (host:port parses as an unknown scheme)', () => {
    expect(() => parseDockerHost({DOCKER_HOST: 'localhost:2375'})).toThrow(RefusedError)
  })
})
