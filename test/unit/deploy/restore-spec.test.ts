import {describe, expect, it} from 'vitest'
import type {ServiceSnapshot} from '../../../src/backup/types.js'
import {
  imageLabelFor,
  missingReferencesMessage,
  planRestore,
  resolveReferences,
  specsEqual,
  specToCreate,
  specToRestore,
} from '../../../src/deploy/restore-spec.js'
import {STACK_IMAGE_LABEL, STACK_NAMESPACE_LABEL} from '../../../src/docker/stack.js'
import type {Service, ServiceSpec} from '../../../src/docker/types.js'

function stackSpec(name: string, image: string, extra: Partial<ServiceSpec['TaskTemplate']> = {}): ServiceSpec {
  return {
    Name: name,
    Labels: {[STACK_NAMESPACE_LABEL]: 's', [STACK_IMAGE_LABEL]: image},
    TaskTemplate: {
      ContainerSpec: {Image: image, Args: ['httpd', '-f'], Labels: {[STACK_NAMESPACE_LABEL]: 's'}},
      Networks: [{Target: 'hostnetid', Aliases: [name.replace(/^s_/, '')]}],
      ForceUpdate: 0,
      ...extra,
    },
    Mode: {Replicated: {Replicas: 1}},
  }
}

function service(spec: ServiceSpec, id = `id-${spec.Name}`, version = 10): Service {
  return {ID: id, Version: {Index: version}, CreatedAt: 'c', UpdatedAt: 'u', Spec: spec}
}

function snapshot(spec: ServiceSpec, id = `id-${spec.Name}`): ServiceSnapshot {
  return {id, name: spec.Name, version: 3, createdAt: 'c', updatedAt: 'u', spec}
}

describe('planRestore (pure)', () => {
  it('updates saved services that exist, creates saved ones that are gone, removes unsaved ones', () => {
    const saved = [snapshot(stackSpec('s_web', 'img:v1')), snapshot(stackSpec('s_worker', 'img:v1')), snapshot(stackSpec('s_db', 'db:1'))]
    const current = [service(stackSpec('s_web', 'img:v2')), service(stackSpec('s_new', 'img:v2')), service(stackSpec('s_db', 'db:1'))]
    const plan = planRestore(saved, current)
    expect(plan.update.map(({snapshot: s, current: c}) => [s.name, c.ID])).toEqual([
      ['s_db', 'id-s_db'],
      ['s_web', 'id-s_web'],
    ])
    expect(plan.create.map((s) => s.name)).toEqual(['s_worker'])
    expect(plan.remove.map((c) => c.Spec.Name)).toEqual(['s_new'])
  })

  it('matches by name, not by ID (a service removed and created again has a new ID)', () => {
    const plan = planRestore([snapshot(stackSpec('s_web', 'img:v1'), 'old-id')], [service(stackSpec('s_web', 'img:v2'), 'new-id')])
    expect(plan.update).toHaveLength(1)
    expect(plan.update[0]!.current.ID).toBe('new-id')
    expect(plan.create).toEqual([])
    expect(plan.remove).toEqual([])
  })

  it('with no snapshots (first deploy failed) removes every current service', () => {
    const plan = planRestore([], [service(stackSpec('s_a', 'a')), service(stackSpec('s_b', 'b'))])
    expect(plan.remove.map((c) => c.Spec.Name)).toEqual(['s_a', 's_b'])
    expect(plan.update).toEqual([])
    expect(plan.create).toEqual([])
  })
})

describe('specToRestore (pure)', () => {
  it('puts the saved spec back with ForceUpdate kept at the current value and the image label of the saved image', () => {
    const saved = stackSpec('s_web', 'img:v1', {ForceUpdate: 1})
    const current = service(stackSpec('s_web', 'img:v2', {ForceUpdate: 4}))
    const spec = specToRestore(saved, current)
    expect(spec.TaskTemplate.ForceUpdate).toBe(4)
    expect(spec.TaskTemplate.ContainerSpec?.Image).toBe('img:v1')
    expect(spec.Labels?.[STACK_IMAGE_LABEL]).toBe('img:v1')
    expect(spec.Labels?.[STACK_NAMESPACE_LABEL]).toBe('s')
    expect(spec.TaskTemplate.Networks).toEqual(saved.TaskTemplate.Networks)
    expect(specsEqual(spec, {...saved, TaskTemplate: {...saved.TaskTemplate, ForceUpdate: 4}})).toBe(true)
  })

  it('drops ForceUpdate when the current spec has none', () => {
    const current = service(stackSpec('s_web', 'img:v2'))
    delete current.Spec.TaskTemplate.ForceUpdate
    expect('ForceUpdate' in specToRestore(stackSpec('s_web', 'img:v1', {ForceUpdate: 2}), current).TaskTemplate).toBe(false)
  })

  it('makes the image label name the restored image when the saved label disagrees with it', () => {
    // someone ran `docker service update --image img:hotfix` after the stack deploy that wrote img:v1 in the label
    const saved = stackSpec('s_web', 'img:hotfix')
    saved.Labels![STACK_IMAGE_LABEL] = 'img:v1'
    const spec = specToRestore(saved, service(stackSpec('s_web', 'img:v2')))
    expect(spec.Labels?.[STACK_IMAGE_LABEL]).toBe('img:hotfix')
  })

  it('keeps the compose-file image in the label when the spec pins its digest', () => {
    const saved = stackSpec('s_web', 'img:v1@sha256:abc')
    saved.Labels![STACK_IMAGE_LABEL] = 'img:v1'
    expect(specToRestore(saved, service(stackSpec('s_web', 'img:v2'))).Labels?.[STACK_IMAGE_LABEL]).toBe('img:v1')
    expect(imageLabelFor('img:v1@sha256:abc', 'img:v1')).toBe('img:v1')
    expect(imageLabelFor('img:v1', 'img:v1')).toBe('img:v1')
    expect(imageLabelFor('img:v10', 'img:v1')).toBe('img:v10')
    expect(imageLabelFor('img:v1', undefined)).toBe('img:v1')
  })

  it('keeps the stack membership of the current service', () => {
    const saved = stackSpec('s_web', 'img:v1')
    delete saved.Labels![STACK_NAMESPACE_LABEL]
    const spec = specToRestore(saved, service(stackSpec('s_web', 'img:v2')))
    expect(spec.Labels?.[STACK_NAMESPACE_LABEL]).toBe('s')
    expect(spec.Labels?.[STACK_IMAGE_LABEL]).toBe('img:v1')
  })

  it('leaves the labels of a service outside any stack alone', () => {
    const saved: ServiceSpec = {Name: 'plain', Labels: {team: 'a'}, TaskTemplate: {ContainerSpec: {Image: 'img:v1'}}}
    const current = service({Name: 'plain', Labels: {team: 'b'}, TaskTemplate: {ContainerSpec: {Image: 'img:v2'}}})
    expect(specToRestore(saved, current).Labels).toEqual({team: 'a'})
  })

  it('moves the top-level Networks of old engines into TaskTemplate.Networks', () => {
    const saved: ServiceSpec = {Name: 'old', TaskTemplate: {ContainerSpec: {Image: 'i'}}, Networks: [{Target: 'net1'}]}
    const spec = specToRestore(saved, service({Name: 'old', TaskTemplate: {ContainerSpec: {Image: 'i'}}}))
    expect(spec.TaskTemplate.Networks).toEqual([{Target: 'net1'}])
    expect('Networks' in spec).toBe(false)
  })

  it('is equal to the current spec when the saved spec is the current one (nothing to send)', () => {
    const saved = stackSpec('s_web', 'img:v1', {ForceUpdate: 0})
    const current = service(stackSpec('s_web', 'img:v1', {ForceUpdate: 2}))
    expect(specsEqual(specToRestore(saved, current), current.Spec)).toBe(true)
    const other = service(stackSpec('s_web', 'img:v2', {ForceUpdate: 2}))
    expect(specsEqual(specToRestore(saved, other), other.Spec)).toBe(false)
  })

  it('never mutates the saved spec or the current service', () => {
    const saved = stackSpec('s_web', 'img:v1', {ForceUpdate: 1})
    const current = service(stackSpec('s_web', 'img:v2', {ForceUpdate: 4}))
    const before = JSON.stringify([saved, current])
    const spec = specToRestore(saved, current)
    spec.Labels!.x = 'y'
    spec.TaskTemplate.ContainerSpec!.Args!.push('z')
    expect(JSON.stringify([saved, current])).toBe(before)
  })
})

describe('specToCreate (pure)', () => {
  it('is the saved spec, in the stack, with the image label right', () => {
    const saved = stackSpec('s_worker', 'img:v1', {ForceUpdate: 3})
    expect(specToCreate(saved, 's')).toEqual(saved)
    const bare: ServiceSpec = {Name: 's_worker', TaskTemplate: {ContainerSpec: {Image: 'img:v1'}}}
    expect(specToCreate(bare, 's').Labels).toEqual({[STACK_NAMESPACE_LABEL]: 's', [STACK_IMAGE_LABEL]: 'img:v1'})
  })
})

describe('secret and config references (pure)', () => {
  const spec: ServiceSpec = {
    Name: 's_web',
    TaskTemplate: {
      ContainerSpec: {
        Image: 'i',
        Secrets: [{SecretID: 'sec1', SecretName: 'db_password', File: {Name: 'db_password'}}],
        Configs: [{ConfigID: 'cfg1', ConfigName: 'app_conf', File: {Name: '/app.conf'}}],
      },
    },
  }

  it('leaves references that exist alone', () => {
    const resolved = resolveReferences(spec, {secrets: [{ID: 'sec1', Name: 'db_password'}], configs: [{ID: 'cfg1', Name: 'app_conf'}]})
    expect(resolved.missing).toEqual([])
    expect(resolved.spec).toEqual(spec)
  })

  it('points a reference at the object recreated under the same name', () => {
    const resolved = resolveReferences(spec, {secrets: [{ID: 'sec2', Name: 'db_password'}], configs: [{ID: 'cfg1', Name: 'app_conf'}]})
    expect(resolved.missing).toEqual([])
    expect(resolved.spec.TaskTemplate.ContainerSpec?.Secrets?.[0]).toEqual({SecretID: 'sec2', SecretName: 'db_password', File: {Name: 'db_password'}})
    expect(spec.TaskTemplate.ContainerSpec?.Secrets?.[0]?.SecretID).toBe('sec1')
  })

  it('names every missing secret and config in one line', () => {
    const resolved = resolveReferences(spec, {secrets: [], configs: []})
    expect(resolved.missing).toEqual(['secret db_password', 'config app_conf'])
    const message = missingReferencesMessage(resolved.missing)
    expect(message).toBe(
      'the saved spec references secret db_password, config app_conf, which no longer exist: create them again with the same name, then run clinical rollback',
    )
    expect(missingReferencesMessage(['secret x'])).toContain('secret x, which no longer exists: create it again')
  })
})
