#!/usr/bin/env node
// Production entry point: runs the compiled commands in dist/ with the manifest from `npm run build`.
import {execute} from '@oclif/core'

await execute({dir: import.meta.url})
