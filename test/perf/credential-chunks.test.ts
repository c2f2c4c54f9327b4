// Issue 14 Performance: a service-account key (auth/credential_file_override) is exchanged without loading
// google-auth-library (its 466 KiB vendor chunk costs ~60 ms to load). The built CLI runs with a Node module hook
// (--import of a file that registers a resolve hook) that logs every ESM module resolved — the vendor chunks are
// ESM, imported on demand — and the log is read back. An external_account file, which does need the library, is
// the control: there the chunk must show up.
import {expect} from 'chai'
import {
  mkdirSync, readFileSync, rmSync, writeFileSync,
} from 'node:fs'
import {join} from 'node:path'

import {issueServiceAccountKey} from '../../src/sandbox/index.js'
import {runCli} from '../helpers/cli-process.js'
import {startTestSandbox, type TestSandbox} from '../helpers/sandbox.js'
import {tempDir} from '../helpers/tmp.js'

const HOOK = `import {register} from 'node:module'
register('data:text/javascript,' + encodeURIComponent(\`
import {appendFileSync} from 'node:fs'
export async function resolve(specifier, context, next) {
  const result = await next(specifier, context)
  appendFileSync(process.env.MODULE_LOG, result.url + '\\\\n')
  return result
}\`))
`

describe('perf: which vendor chunks a credential file loads', function () {
  this.timeout(120_000)
  let sandbox: TestSandbox
  let dir: string

  before(async () => {
    sandbox = await startTestSandbox()
    dir = tempDir('credential-chunks')
    writeFileSync(join(dir, 'hook.mjs'), HOOK)
    mkdirSync(join(dir, 'gcloud'))
    writeFileSync(join(dir, 'key.json'), JSON.stringify(issueServiceAccountKey(sandbox.state, 'chunk-check@sandbox-project.iam.gserviceaccount.com', `${sandbox.url}token`)))
    writeFileSync(join(dir, 'subject'), 'subject-token')
    writeFileSync(join(dir, 'external.json'), JSON.stringify({
      audience: '//iam.googleapis.com/projects/1/locations/global/workloadIdentityPools/p/providers/q',
      credential_source: {file: join(dir, 'subject')},
      subject_token_type: 'urn:ietf:params:oauth:token-type:jwt',
      token_url: `${sandbox.url}sts`,
      type: 'external_account',
    }))
  })

  after(async () => {
    await sandbox?.stop()
    if (dir) rmSync(dir, {force: true, recursive: true})
  })

  /** `policy status` with the credential file; returns its exit code and the modules resolved. */
  async function modulesOf(file: string): Promise<{code: null | number; modules: string[]; stderr: string}> {
    const log = join(dir, `${file}.log`)
    writeFileSync(log, '')
    const env: NodeJS.ProcessEnv = {
      // An empty gcloud configuration: the sandbox's own names its token file, which would come first.
      ...sandbox.env, CLOUDSDK_AUTH_CREDENTIAL_FILE_OVERRIDE: join(dir, file), CLOUDSDK_CONFIG: join(dir, 'gcloud'), HOME: dir, MODULE_LOG: log, NODE_OPTIONS: `--import=${join(dir, 'hook.mjs')}`, PATH: process.env.PATH,
    }
    delete env.CLOUDSDK_AUTH_ACCESS_TOKEN_FILE
    sandbox.state.clearRequests()
    const run = await runCli(['policy', 'status', '--project', sandbox.project], {env, timeoutMs: 60_000})
    return {code: run.code, modules: readFileSync(log, 'utf8').split('\n').filter(Boolean), stderr: run.stderr}
  }

  it('a service-account key: the policy is read and google-auth-library is never loaded', async () => {
    const {code, modules, stderr} = await modulesOf('key.json')
    expect(code, stderr).to.equal(0)
    expect(modules.some(m => m.endsWith('/bin/run.js')), modules.join('\n')).to.equal(true)
    expect(modules.filter(m => m.includes('google-auth-library'))).to.deep.equal([])
    expect(sandbox.requests('getPolicy').map(r => r.principal)).to.deep.equal(['chunk-check@sandbox-project.iam.gserviceaccount.com'])
  })

  it('the control: an external_account file loads the google-auth-library chunk', async () => {
    const {modules, stderr} = await modulesOf('external.json')
    expect(modules.filter(m => m.includes('google-auth-library')), `${modules.join('\n')}\n${stderr}`).to.have.length(1)
  })
})
