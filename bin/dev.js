#!/usr/bin/env -S node --loader ts-node/esm --disable-warning=ExperimentalWarning
// Development entry: runs the TypeScript sources directly (needs ts-node); the tests and users use bin/run.js.
import {execute} from '@oclif/core'

await execute({development: true, dir: import.meta.url})
