import {Flags} from '@oclif/core'
import {STACK_NAME_PATTERN} from '../docker/stack.js'

/** Flags shared by several commands, with the environment variables of DESIGN.md §2. */
export const stackFlag = Flags.string({
  description: 'name of the Docker stack',
  env: 'CLINICAL_STACK',
  default: 'clinical-platform',
  async parse(input: string) {
    if (!STACK_NAME_PATTERN.test(input)) {
      throw new Error(`--stack ${JSON.stringify(input)} is not a stack name (letters, digits, '_', '.', '-')`)
    }
    return input
  },
})

export const jsonFlag = Flags.boolean({
  description: 'print one JSON object on stdout instead of text',
  default: false,
})
