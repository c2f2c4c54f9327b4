// `binauthz sandbox start / env / status / stop` through the built bin on its default start path (what users run):
// the background server is a real detached `sandbox serve` child of that bin.
import {expect} from 'chai'
import {rmSync} from 'node:fs'
import {join} from 'node:path'

import {stopBackground} from '../../src/app/sandbox-control.js'
import {runCli} from '../helpers/cli-process.js'
import {tempDir} from '../helpers/tmp.js'

describe('binauthz sandbox start / env / status / stop (built CLI)', function () {
  this.timeout(60_000)
  let dir: string
  let env: NodeJS.ProcessEnv

  before(() => {
    dir = tempDir('binauthz-sandbox-cmd-')
    env = {HOME: join(dir, 'home'), NO_COLOR: '1', PATH: process.env.PATH}
  })

  after(async () => {
    await stopBackground(dir)
    rmSync(dir, {force: true, recursive: true})
  })

  const cli = (args: string[], extra: NodeJS.ProcessEnv = {}) => runCli(args, {env: {...env, ...extra}, timeoutMs: 30_000})

  it('runs the whole lifecycle with --json results, and a stopped sandbox is named at once', async () => {
    const state = join(dir, 'state')
    const start = await cli(['sandbox', 'start', '--state-dir', state, '--policy', 'block-all', '--json'])
    expect(start.code, start.stderr).to.equal(0)
    const started = JSON.parse(start.stdout) as {env: Record<string, string>; pid: number; port: number;}
    expect(started.env.CLOUDSDK_PROXY_PORT).to.equal(String(started.port))
    expect(started.env.BINAUTHZ_SANDBOX_DIR).to.equal(state)

    const shown = await cli(['sandbox', 'env', '--state-dir', state])
    expect(shown.stdout).to.include(`export CLOUDSDK_API_ENDPOINT_OVERRIDES_BINARYAUTHORIZATION=http://127.0.0.1:${started.port}/`)
    expect(shown.stdout).to.include(`export CLOUDSDK_CONFIG=${state}/gcloud`)
    const envJson = await cli(['sandbox', 'env', '--state-dir', state, '--json'])
    expect((JSON.parse(envJson.stdout) as {env: unknown}).env).to.deep.equal(started.env)

    // With the sandbox env (as after eval), status needs no --state-dir.
    const status = await cli(['sandbox', 'status', '--json'], started.env)
    expect(JSON.parse(status.stdout)).to.deep.include({pid: started.pid, policy: {defaultRule: 'ALWAYS_DENY', patterns: []}, running: true})

    const stop = await cli(['sandbox', 'stop'], started.env)
    expect(stop.stdout).to.include(`Sandbox stopped (pid ${started.pid})`)

    const after = await cli(['sandbox', 'env', '--state-dir', state])
    expect(after.code).to.equal(2)
    expect(after.stderr).to.include('No sandbox is running')

    // The shell still points at the stopped sandbox: the first request says so, with no retries.
    const stale = await cli(['policy', 'status', '--region', 'us-central1', '--json'], started.env)
    const {error} = (JSON.parse(stale.stdout) as {error: {code: string; exitCode: number; message: string; suggestions: string[]}})
    expect(error.code).to.equal('SANDBOX_NOT_ANSWERING')
    expect(error.message).to.equal(`No sandbox answers at http://127.0.0.1:${started.port}/: binauthz sandbox start --state-dir ${state} --port ${started.port}`)
    expect(error.suggestions.join('\n')).to.include('binauthz sandbox env --unset')
    expect(error.suggestions.join('\n')).not.to.match(/proxy/i)
    expect(stale.code).to.equal(5)
    // The exact message above has no "Gave up after N attempts": a refused loopback connection is not retried.

    const undo = await cli(['sandbox', 'env', '--unset'], {...started.env, NO_PROXY: 'corp.example,127.0.0.1,localhost'})
    expect(undo.code, undo.stderr).to.equal(0)
    expect(undo.stdout.split('\n')).to.include.members([
      'unset CLOUDSDK_CONFIG', 'unset CLOUDSDK_API_ENDPOINT_OVERRIDES_BINARYAUTHORIZATION', 'unset BINAUTHZ_SANDBOX_DIR', 'export NO_PROXY=corp.example',
    ])
  })
})
