import {describe, expect, it} from 'vitest'
import {stackConfigArgv, stackDeployArgv, summariseCompose} from '../../../src/docker/stack-cli.js'

describe('docker stack argv (pure data, no shell)', () => {
  it('deploy', () => {
    expect(stackDeployArgv({composeFile: '/srv/stack.yml', stack: 'clinical-platform', resolveImage: 'always'})).toEqual([
      'stack',
      'deploy',
      '--compose-file',
      '/srv/stack.yml',
      '--with-registry-auth',
      '--resolve-image',
      'always',
      'clinical-platform',
    ])
  })
  it('config', () => {
    expect(stackConfigArgv('/srv/a b.yml')).toEqual(['stack', 'config', '--compose-file', '/srv/a b.yml'])
  })
})

describe('summariseCompose', () => {
  it('lists services with their images, and named volumes', () => {
    const yaml = `version: "3.8"\nservices:\n  web:\n    image: nginx:1.27\n  worker:\n    image: app:2\nvolumes:\n  shared-data: {}\n`
    expect(summariseCompose(yaml)).toEqual({
      services: [
        {name: 'web', image: 'nginx:1.27'},
        {name: 'worker', image: 'app:2'},
      ],
      volumes: ['shared-data'],
    })
  })
})
