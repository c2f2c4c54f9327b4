import {runCommand} from '@oclif/test'
import {expect} from 'chai'
import {rmSync} from 'node:fs'
import {fileURLToPath} from 'node:url'

import {stopBackground} from '../../src/sandbox/daemon.js'
import {tempDir} from '../helpers/tmp.js'

const ROOT = fileURLToPath(new URL('../../..', import.meta.url))

describe('binauthz sandbox start / env / status / stop (runCommand)', function () {
  this.timeout(30_000)
  let dir: string

  before(() => {
    dir = tempDir('binauthz-sandbox-cmd-')
  })

  after(async () => {
    await stopBackground(dir)
    rmSync(dir, {force: true, recursive: true})
  })

  it('runs the whole lifecycle with --json results', async () => {
    const start = await runCommand(['sandbox', 'start', '--state-dir', dir, '--policy', 'block-all', '--json'], {root: ROOT})
    expect(start.error).to.equal(undefined)
    const started = JSON.parse(start.stdout) as {env: Record<string, string>; pid: number; port: number;}
    expect(started.env.CLOUDSDK_PROXY_PORT).to.equal(String(started.port))

    const env = await runCommand(['sandbox', 'env', '--state-dir', dir], {root: ROOT})
    expect(env.stdout).to.include(`export CLOUDSDK_API_ENDPOINT_OVERRIDES_BINARYAUTHORIZATION=http://127.0.0.1:${started.port}/`)
    expect(env.stdout).to.include(`export CLOUDSDK_CONFIG=${dir}/gcloud`)
    const envJson = await runCommand(['sandbox', 'env', '--state-dir', dir, '--json'], {root: ROOT})
    expect(JSON.parse(envJson.stdout)).to.deep.equal(started.env)

    const status = await runCommand(['sandbox', 'status', '--state-dir', dir, '--json'], {root: ROOT})
    expect(JSON.parse(status.stdout)).to.deep.include({pid: started.pid, policy: {defaultRule: 'ALWAYS_DENY', patterns: []}, running: true})

    const stop = await runCommand(['sandbox', 'stop', '--state-dir', dir], {root: ROOT})
    expect(stop.stdout).to.include(`Sandbox stopped (pid ${started.pid})`)

    const after = await runCommand(['sandbox', 'env', '--state-dir', dir], {root: ROOT})
    expect(after.error?.oclif?.exit).to.equal(2)
    expect(after.error?.message).to.include('No sandbox is running')
  })
})
