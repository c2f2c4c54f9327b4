// End to end: with core/universe_domain set, binauthz calls the same Binary Authorization host the REAL gcloud 528
// calls (api_lib/util/apis_internal.py UniversifyAddress). Neither host exists, so both fail to resolve it; the host
// each tried is compared (gcloud's from --log-http, binauthz's from its --json error). Skipped without gcloud.
import {expect} from 'chai'
import {rmSync} from 'node:fs'
import {join} from 'node:path'

import {runCli} from '../helpers/cli-process.js'
import {runProgram, withoutCloudsdk} from '../helpers/e2e.js'
import {installedGcloud} from '../helpers/installed-gcloud.js'
import {tempDir} from '../helpers/tmp.js'

const GCLOUD = installedGcloud()

describe(`e2e: the universe domain moves binauthz's endpoint as it moves gcloud's${GCLOUD ? '' : ' (skipped: no gcloud)'}`, function () {
  this.timeout(360_000)
  let dir: string

  before(function () {
    if (!GCLOUD) this.skip() // needs the real gcloud
    dir = tempDir('binauthz-e2e-universe-')
  })

  after(() => {
    if (dir) rmSync(dir, {force: true, recursive: true})
  })

  it('CLOUDSDK_CORE_UNIVERSE_DOMAIN: both try binaryauthorization.<universe>', async () => {
    const env = {
      ...withoutCloudsdk(),
      BINAUTHZ_CONFIG_DIR: join(dir, 'binauthz'),
      CLOUDSDK_AUTH_ACCESS_TOKEN: 'universe-test-token',
      CLOUDSDK_CONFIG: join(dir, 'gcloud'),
      CLOUDSDK_CORE_PROJECT: 'universe-project',
      CLOUDSDK_CORE_UNIVERSE_DOMAIN: 'example-cloud.goog',
    }
    const gcloud = await runProgram(GCLOUD!, ['--log-http', 'container', 'binauthz', 'policy', 'export'], {cwd: dir, env, timeoutMs: 120_000})
    const gcloudHosts = [...new Set([...gcloud.stderr.matchAll(/^uri: (https:\/\/[^/]+)\//gm)].map(m => m[1]))]
    expect(gcloudHosts, gcloud.stderr.slice(0, 2000)).to.deep.equal(['https://binaryauthorization.example-cloud.goog'])

    // A deadline far past the retries: the run ends with the network error naming the host, not with the deadline.
    const ours = await runCli(['policy', 'export', '--json', '--deadline', '120'], {cwd: dir, env, timeoutMs: 150_000})
    const {error} = (JSON.parse(ours.stdout) as {error: {code: string; message: string}})
    expect(error.code).to.equal('NETWORK_ERROR')
    expect(error.message).to.include(`at ${gcloudHosts[0]} `)
  })
})
