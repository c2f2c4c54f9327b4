import {expect} from 'chai'
import {existsSync, rmSync, writeFileSync} from 'node:fs'
import {join} from 'node:path'

import {UserError} from '../../src/errors.js'
import {
  defaultStateDir, probe, readPolicyFile, sandboxStatus, startBackground, stopBackground,
} from '../../src/sandbox/daemon.js'
import {STATE_FILES} from '../../src/sandbox/index.js'
import {rejectionOf, thrownBy} from '../helpers/assert.js'
import {tempDir} from '../helpers/tmp.js'

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
    const info = await startBackground({policy: 'block-all', stateDir: dir})
    expect(info.alreadyRunning).to.equal(false)
    expect(await probe(info.port)).to.equal('sandbox-project')
    const status = await sandboxStatus(dir)
    expect(status).to.include({pid: info.pid, port: info.port, running: true})
    expect(status.policy.defaultRule).to.equal('ALWAYS_DENY')

    const again = await startBackground({stateDir: dir})
    expect(again).to.include({alreadyRunning: true, pid: info.pid})
    const refused = await rejectionOf(startBackground({policy: 'allow-all', stateDir: dir}))
    expect(refused).to.be.instanceOf(UserError)
    expect((refused as UserError).code).to.equal('SANDBOX_RUNNING')

    expect(await stopBackground(dir)).to.deep.equal({pid: info.pid, stopped: true})
    expect(existsSync(join(dir, STATE_FILES.server))).to.equal(false)
    expect((await sandboxStatus(dir)).running).to.equal(false)
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
