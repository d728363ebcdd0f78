#!/usr/bin/env node
// Production entry point: runs the compiled commands in dist/ with the manifest from `npm run build`.
import {execute, settings} from '@oclif/core'

// Always dist/, whatever NODE_ENV says: with NODE_ENV=test|development oclif would look for src/*.ts instead
// (and fail to load the help class), e.g. under a CI that exports NODE_ENV=test.
settings.enableAutoTranspile = false

await execute({dir: import.meta.url})
