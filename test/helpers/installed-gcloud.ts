// The real gcloud the built CLI would run in this environment, found the way the CLI finds it (locateGcloud:
// $BINAUTHZ_GCLOUD, else `gcloud` on PATH), or undefined when there is none (tests then skip or use the fake).
import {BinauthzError} from '../../src/errors.js'
import {locateGcloud} from '../../src/gcloud/runner.js'

export function installedGcloud(env: NodeJS.ProcessEnv = process.env): string | undefined {
  try {
    return locateGcloud(env)
  } catch (error: unknown) {
    if (error instanceof BinauthzError && error.code === 'GCLOUD_MISSING') return undefined
    throw error
  }
}

/** For a suite's title: why it is skipped when there is no gcloud (empty when there is one). */
export function skipNoteFor(gcloud: string | undefined): string {
  return gcloud ? '' : ' (skipped: no gcloud executable on PATH or in BINAUTHZ_GCLOUD; install the Google Cloud CLI to run these)'
}
