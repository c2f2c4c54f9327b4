import {expect} from 'chai'
import {existsSync, rmSync, writeFileSync} from 'node:fs'
import {join} from 'node:path'

import {
  defaultStateDir, envUndo, probe, readPolicyFile, sandboxStatus, startBackground, stopBackground,
  undoLines,
} from '../../src/app/sandbox-control.js'
import {sandboxRefusedSuggestions} from '../../src/app/sandbox-hint.js'
import {ExternalError, UserError} from '../../src/errors.js'
import {STATE_FILES} from '../../src/sandbox/index.js'
import {rejectionOf, thrownBy} from '../helpers/assert.js'
import {BIN} from '../helpers/cli-process.js'
import {tempDir} from '../helpers/tmp.js'

// The background server is started through the built CLI's bin (BIN) on its default start path, as `sandbox start` does.
describe('sandbox background server', function () {
  this.timeout(30_000)
  let dir: string

  beforeEach(() => {
    dir = tempDir('binauthz-sandbox-daemon-')
  })

  afterEach(async () => {
    await stopBackground(dir)
    rmSync(dir, {force: true, recursive: true})
  })

  it('starts detached, reports status, refuses a second start with another policy, and stops', async () => {
    const info = await startBackground({bin: BIN, policy: 'block-all', stateDir: dir})
    expect(info.alreadyRunning).to.equal(false)
    expect(await probe(info.port)).to.equal('sandbox-project')
    const status = await sandboxStatus(dir)
    expect(status).to.include({pid: info.pid, port: info.port, running: true})
    expect(status.policy.defaultRule).to.equal('ALWAYS_DENY')

    const again = await startBackground({bin: BIN, stateDir: dir})
    expect(again).to.include({alreadyRunning: true, pid: info.pid})
    const refused = await rejectionOf(startBackground({bin: BIN, policy: 'allow-all', stateDir: dir}))
    expect(refused).to.be.instanceOf(UserError)
    expect((refused as UserError).code).to.equal('SANDBOX_RUNNING')

    expect(await stopBackground(dir)).to.deep.equal({pid: info.pid, stopped: true})
    expect(existsSync(join(dir, STATE_FILES.server))).to.equal(false)
    expect((await sandboxStatus(dir)).running).to.equal(false)
  })

  it('reports a server that exits at once as an external failure with its log tail and retry commands that keep --state-dir and --port', async () => {
    const busy = await startBackground({bin: BIN, stateDir: dir})
    const other = tempDir('binauthz-sandbox-daemon-busy-')
    try {
      const error = await rejectionOf(startBackground({bin: BIN, port: busy.port, stateDir: other}))
      expect(error).to.be.instanceOf(ExternalError)
      const failure = error as ExternalError
      expect(failure.code).to.equal('SANDBOX_START_FAILED')
      expect(failure.exitCode).to.equal(5)
      expect(failure.message).to.match(/it exited with code \d+/)
      expect(failure.message).to.include('EADDRINUSE')
      expect(failure.suggestions).to.include(`Retry: binauthz sandbox start --state-dir ${other} --port ${busy.port}`)
      expect(failure.suggestions.join('\n')).to.include(`omit --port for any free one: binauthz sandbox start --state-dir ${other}`)
      expect(failure.suggestions).to.include(`Read the whole log: cat ${join(other, STATE_FILES.log)}`)
    } finally {
      rmSync(other, {force: true, recursive: true})
    }
  })

  it('reports a bin that cannot serve (not the CLI) as a start failure, not a hang', async () => {
    const notCli = join(dir, 'not-cli.js')
    writeFileSync(notCli, 'process.exit(3)\n')
    const error = await rejectionOf(startBackground({bin: notCli, stateDir: dir, timeoutMs: 10_000}))
    expect((error as ExternalError).code).to.equal('SANDBOX_START_FAILED')
    expect((error as ExternalError).message).to.include('it exited with code 3')
  })

  it('undoes sandbox env: unsets every variable it sets and keeps the user\'s own NO_PROXY entries', () => {
    const undo = envUndo({NO_PROXY: 'corp.example,127.0.0.1,localhost', no_proxy: '127.0.0.1,localhost'})
    expect(undo.export).to.deep.equal({NO_PROXY: 'corp.example'})
    expect(undo.unset).to.include.members([
      'CLOUDSDK_CONFIG',
      'CLOUDSDK_AUTH_ACCESS_TOKEN_FILE',
      'CLOUDSDK_API_ENDPOINT_OVERRIDES_BINARYAUTHORIZATION',
      'CLOUDSDK_PROXY_PORT',
      'CLOUDSDK_CORE_PROJECT',
      'BINAUTHZ_SANDBOX_DIR',
      'no_proxy',
    ])
    expect(undoLines(undo).split('\n')).to.include.members(['unset CLOUDSDK_CONFIG', 'export NO_PROXY=corp.example'])
  })

  it('tells a stopped sandbox how to start again where the environment expects it', () => {
    expect(sandboxRefusedSuggestions({BINAUTHZ_SANDBOX_DIR: '/tmp/my box'}, new URL('http://127.0.0.1:8765/'))[0])
    .to.equal("binauthz sandbox start --state-dir '/tmp/my box' --port 8765")
    expect(sandboxRefusedSuggestions({}, new URL('http://127.0.0.1:8765/'))[0]).to.equal('binauthz sandbox start --port 8765')
  })

  it('treats a stale server.json as not running and never signals its pid', async () => {
    writeFileSync(join(dir, STATE_FILES.server), JSON.stringify({
      pid: process.pid, port: 1, project: 'p', startedAt: '', url: 'http://127.0.0.1:1/',
    }))
    expect(await stopBackground(dir)).to.deep.equal({pid: process.pid, stopped: false})
    expect(existsSync(join(dir, STATE_FILES.server))).to.equal(false)
  })

  it('reads JSON policy files and explains YAML ones', () => {
    const json = join(dir, 'p.json')
    const yaml = join(dir, 'p.yaml')
    writeFileSync(json, JSON.stringify({defaultAdmissionRule: {evaluationMode: 'ALWAYS_DENY'}}))
    writeFileSync(yaml, 'defaultAdmissionRule:\n  evaluationMode: ALWAYS_DENY\n')
    expect(readPolicyFile(json)).to.deep.equal({defaultAdmissionRule: {evaluationMode: 'ALWAYS_DENY'}})
    const error = thrownBy(() => readPolicyFile(yaml)) as UserError
    expect(error.code).to.equal('SANDBOX_POLICY_FILE')
    expect(error.suggestions.join(' ')).to.include('--format=json')
  })

  it('chooses the state dir from BINAUTHZ_SANDBOX_DIR, BINAUTHZ_DATA_DIR, XDG_DATA_HOME', () => {
    expect(defaultStateDir({BINAUTHZ_SANDBOX_DIR: '/a'})).to.equal('/a')
    expect(defaultStateDir({BINAUTHZ_DATA_DIR: '/d'})).to.equal('/d/sandbox')
    expect(defaultStateDir({XDG_DATA_HOME: '/x'})).to.equal('/x/binauthz/sandbox')
  })
})
