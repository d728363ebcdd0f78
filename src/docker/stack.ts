/** Labels `docker stack deploy` puts on every resource of a stack. */
export const STACK_NAMESPACE_LABEL = 'com.docker.stack.namespace'
export const STACK_IMAGE_LABEL = 'com.docker.stack.image'

/** The list filter for the resources of one stack. */
export function stackFilter(stack: string): {label: string[]} {
  return {label: [`${STACK_NAMESPACE_LABEL}=${stack}`]}
}

/** Stack names as `docker stack deploy` accepts them. */
export const STACK_NAME_PATTERN = /^[a-zA-Z0-9][a-zA-Z0-9_.-]*$/
