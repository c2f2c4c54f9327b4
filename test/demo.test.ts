import {expect} from 'chai'
import {execFile} from 'node:child_process'
import {fileURLToPath} from 'node:url'

const DEMO = fileURLToPath(new URL('../src/demo.js', import.meta.url))

describe('npm run demo without gcloud', function () {
  this.timeout(60_000)

  it('says that gcloud is missing, shows the dry-run plan against the sandbox, and exits 0', async () => {
    const env = Object.fromEntries(Object.entries(process.env).filter(([key]) => !key.startsWith('CLOUDSDK_')))
    const result = await new Promise<{code: number; stdout: string}>(resolve => {
      execFile(process.execPath, [DEMO], {env: {...env, BINAUTHZ_GCLOUD: '/nonexistent/gcloud'}, timeout: 50_000}, (error, stdout) => {
        resolve({code: error ? (typeof error.code === 'number' ? error.code : 1) : 0, stdout})
      })
    })
    expect(result.stdout).to.include('gcloud was not found')
    expect(result.stdout).to.include('us-central1-docker.pkg.dev/sandbox-project/cloud-run-source-deploy/**')
    expect(result.stdout).to.include('Demo complete: sandbox stopped.')
    expect(result.code).to.equal(0)
  })
})
