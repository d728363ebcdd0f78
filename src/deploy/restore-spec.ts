import {isDeepStrictEqual} from 'node:util'
import type {ServiceSnapshot} from '../backup/types.js'
import {STACK_IMAGE_LABEL, STACK_NAMESPACE_LABEL} from '../docker/stack.js'
import type {Service, ServiceSpec} from '../docker/types.js'

/**
 * Pure parts of restoring saved service specs (DESIGN.md §4): what to update, create and remove, and the spec to
 * send for each. Nothing here talks to Docker.
 */

export interface RestorePlan {
  /** Saved and present now: updated with the saved spec. */
  update: Array<{snapshot: ServiceSnapshot; current: Service}>
  /** Saved but gone now (the failed deploy removed them): created again. */
  create: ServiceSnapshot[]
  /** Present now but not saved (the failed deploy created them): removed. */
  remove: Service[]
}

/** Match snapshots and current services by service name. Sorted by name, so the plan reads the same every time. */
export function planRestore(snapshots: readonly ServiceSnapshot[], current: readonly Service[]): RestorePlan {
  const saved = new Map(snapshots.map((snapshot) => [snapshot.spec.Name, snapshot]))
  const present = new Map(current.map((service) => [service.Spec.Name, service]))
  const byName = (a: string, b: string): number => (a < b ? -1 : a > b ? 1 : 0)
  const plan: RestorePlan = {update: [], create: [], remove: []}
  for (const name of [...saved.keys()].sort(byName)) {
    const snapshot = saved.get(name)!
    const service = present.get(name)
    if (service) plan.update.push({snapshot, current: service})
    else plan.create.push(snapshot)
  }
  for (const name of [...present.keys()].sort(byName)) {
    if (!saved.has(name)) plan.remove.push(present.get(name)!)
  }
  return plan
}

/**
 * The spec to send to put `saved` back on the service `current` (a fresh inspect):
 * - `TaskTemplate.ForceUpdate` stays at the current value: restoring a spec equal to the current one restarts
 *   nothing, and a different spec restarts its tasks anyway;
 * - `com.docker.stack.namespace` stays as it is now (stack membership);
 * - `com.docker.stack.image` names the restored image, else the next `docker stack deploy` of the new compose file
 *   sees its image already "in place" and silently keeps the restored one (docker/cli deploy_composefile.go);
 * - networks go in `TaskTemplate.Networks` (the top-level `Networks` of old engines is moved there).
 * Never mutates its inputs.
 */
export function specToRestore(saved: ServiceSpec, current: Service): ServiceSpec {
  const spec = normalisedCopy(saved)
  const forceUpdate = current.Spec.TaskTemplate?.ForceUpdate
  if (forceUpdate === undefined) delete spec.TaskTemplate.ForceUpdate
  else spec.TaskTemplate.ForceUpdate = forceUpdate
  const namespace = current.Spec.Labels?.[STACK_NAMESPACE_LABEL]
  if (namespace !== undefined) spec.Labels = {...spec.Labels, [STACK_NAMESPACE_LABEL]: namespace}
  return withImageLabel(spec, current.Spec.Labels?.[STACK_IMAGE_LABEL] !== undefined)
}

/** The spec to create a service again that the failed deploy removed: the saved one, in the stack, image label right. */
export function specToCreate(saved: ServiceSpec, stack: string): ServiceSpec {
  const spec = normalisedCopy(saved)
  spec.Labels = {...spec.Labels, [STACK_NAMESPACE_LABEL]: spec.Labels?.[STACK_NAMESPACE_LABEL] ?? stack}
  return withImageLabel(spec, false)
}

/**
 * The `com.docker.stack.image` value for a restored image. `docker stack deploy` stores the image as written in the
 * compose file and may pin a digest in the spec (`repo:tag@sha256:…`): a saved label that the image is, or is with a
 * digest added, is kept as it was; any other label is replaced by the image itself.
 */
export function imageLabelFor(image: string, savedLabel: string | undefined): string {
  if (savedLabel && (image === savedLabel || image.startsWith(`${savedLabel}@`))) return savedLabel
  return image
}

/** Whether two specs are the same spec (JSON-equal: absent and undefined fields are the same). */
export function specsEqual(a: ServiceSpec, b: ServiceSpec): boolean {
  return isDeepStrictEqual(jsonCopy(a), jsonCopy(b))
}

export interface SwarmObjectRef {
  ID: string
  Name: string
}

/** The secrets and configs that exist now, by ID and name. */
export interface ExistingRefs {
  secrets: readonly SwarmObjectRef[]
  configs: readonly SwarmObjectRef[]
}

/** Whether a spec references any secret or config (so the restore lists them only when needed). */
export function referencesSecretsOrConfigs(spec: ServiceSpec): boolean {
  const container = spec.TaskTemplate?.ContainerSpec
  return Boolean(container?.Secrets?.length || container?.Configs?.length)
}

/**
 * Check every secret and config the spec references against what exists now. A reference whose ID is gone but
 * whose name exists again (recreated under the same name) is pointed at the new ID, as `docker stack deploy` would
 * resolve it by name. Returns the spec to send, or the names of what is missing.
 */
export function resolveReferences(spec: ServiceSpec, existing: ExistingRefs): {spec: ServiceSpec; missing: string[]} {
  const container = spec.TaskTemplate?.ContainerSpec
  if (!container || !referencesSecretsOrConfigs(spec)) return {spec, missing: []}
  const missing: string[] = []
  const resolve = <R extends Record<string, unknown>>(refs: R[] | undefined, kind: 'secret' | 'config', available: readonly SwarmObjectRef[]): R[] | undefined => {
    if (!refs) return refs
    const idKey = kind === 'secret' ? 'SecretID' : 'ConfigID'
    const nameKey = kind === 'secret' ? 'SecretName' : 'ConfigName'
    return refs.map((ref) => {
      const id = ref[idKey] as string | undefined
      const name = ref[nameKey] as string | undefined
      if (id && available.some((object) => object.ID === id)) return ref
      const byName = name ? available.find((object) => object.Name === name) : undefined
      if (byName) return {...ref, [idKey]: byName.ID}
      missing.push(`${kind} ${name ?? id ?? '(unnamed)'}`)
      return ref
    })
  }
  const copy = jsonCopy(spec)
  const copyContainer = copy.TaskTemplate.ContainerSpec!
  const secrets = resolve(copyContainer.Secrets, 'secret', existing.secrets)
  const configs = resolve(copyContainer.Configs, 'config', existing.configs)
  if (secrets) copyContainer.Secrets = secrets
  if (configs) copyContainer.Configs = configs
  return {spec: copy, missing}
}

/** One line for the restore result: the saved spec needs objects that are gone. */
export function missingReferencesMessage(missing: readonly string[]): string {
  const them = missing.length === 1 ? 'it' : 'them'
  return `the saved spec references ${missing.join(', ')}, which no longer exist${missing.length === 1 ? 's' : ''}: create ${them} again with the same name, then run clinical rollback`
}

function withImageLabel(spec: ServiceSpec, currentHasImageLabel: boolean): ServiceSpec {
  const image = spec.TaskTemplate.ContainerSpec?.Image
  const labels = spec.Labels ?? {}
  const isStackService = labels[STACK_NAMESPACE_LABEL] !== undefined
  if (image && (isStackService || currentHasImageLabel || labels[STACK_IMAGE_LABEL] !== undefined)) {
    spec.Labels = {...labels, [STACK_IMAGE_LABEL]: imageLabelFor(image, labels[STACK_IMAGE_LABEL])}
  }
  return spec
}

function normalisedCopy(saved: ServiceSpec): ServiceSpec {
  const spec = jsonCopy(saved)
  spec.TaskTemplate ??= {}
  const topLevelNetworks = spec.Networks
  if (topLevelNetworks !== undefined) {
    if (spec.TaskTemplate.Networks === undefined) spec.TaskTemplate.Networks = topLevelNetworks as ServiceSpec['TaskTemplate']['Networks']
    delete spec.Networks
  }
  return spec
}

function jsonCopy<T>(value: T): T {
  return JSON.parse(JSON.stringify(value)) as T
}
