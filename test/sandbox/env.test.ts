import {expect} from 'chai'
import {readFileSync, rmSync} from 'node:fs'
import {join} from 'node:path'

import {
  exportLines, sandboxEnv, shellQuote, writeGcloudConfig,
} from '../../src/sandbox/env.js'
import {DEFAULT_IDENTITY} from '../../src/sandbox/state.js'
import {tempDir} from '../helpers/tmp.js'

const input = {
  caFile: '/s/tls/ca.pem', gcloudConfigDir: '/s/gcloud', identity: DEFAULT_IDENTITY, port: 8765, tokenFile: '/s/token',
}

describe('sandbox env', () => {
  it('points every overridden API, the proxy and the token file at the sandbox', () => {
    const env = sandboxEnv(input)
    for (const api of ['RUN', 'SERVICEUSAGE', 'CLOUDFUNCTIONS', 'CLOUDBUILD', 'ARTIFACTREGISTRY', 'STORAGE', 'CLOUDRESOURCEMANAGER', 'IAM', 'BINARYAUTHORIZATION', 'LOGGING', 'IAMCREDENTIALS']) {
      expect(env[`CLOUDSDK_API_ENDPOINT_OVERRIDES_${api}`]).to.equal('http://127.0.0.1:8765/')
    }

    expect(env).to.include({
      CLOUDSDK_AUTH_ACCESS_TOKEN_FILE: '/s/token',
      CLOUDSDK_AUTH_TOKEN_HOST: 'http://127.0.0.1:8765/token',
      CLOUDSDK_CONFIG: '/s/gcloud',
      CLOUDSDK_CORE_DISABLE_PROMPTS: '1',
      CLOUDSDK_CORE_PROJECT: 'sandbox-project',
      CLOUDSDK_PROXY_ADDRESS: '127.0.0.1',
      CLOUDSDK_PROXY_PORT: '8765',
      CLOUDSDK_PROXY_TYPE: 'http',
      NO_PROXY: '127.0.0.1,localhost',
    })
  })

  it('sends gcloud\'s gRPC (worker pools) through the sandbox proxy and has it trust the sandbox CA', () => {
    const env = sandboxEnv(input)
    // gRPC matches no_proxy by host suffix (127.0.0.1 would cover us-central1-127.0.0.1); no_grpc_proxy replaces it.
    expect(env.no_grpc_proxy).to.equal('')
    expect(env.CLOUDSDK_CORE_CUSTOM_CA_CERTS_FILE).to.equal('/s/tls/ca.pem')
  })

  it('keeps existing NO_PROXY entries', () => {
    expect(sandboxEnv({...input, noProxy: 'corp.example, localhost'}).NO_PROXY).to.equal('corp.example,localhost,127.0.0.1')
  })

  it('shell-quotes values', () => {
    expect(shellQuote('/a/b')).to.equal('/a/b')
    expect(shellQuote("it's here")).to.equal(String.raw`'it'\''s here'`)
    expect(shellQuote('')).to.equal("''")
    expect(exportLines({A: 'x y', B: 'z'})).to.equal("export A='x y'\nexport B=z")
  })

  it('writes a private gcloud configuration', () => {
    const dir = tempDir('binauthz-sandbox-env-')
    try {
      writeGcloudConfig({...input, gcloudConfigDir: dir})
      const config = readFileSync(join(dir, 'configurations', 'config_default'), 'utf8')
      expect(config).to.include('project = sandbox-project')
      expect(config).to.include('disable_prompts = True')
      expect(config).to.include('binaryauthorization = http://127.0.0.1:8765/')
      expect(config).to.include('custom_ca_certs_file = /s/tls/ca.pem')
      expect(config).to.include('token_host = http://127.0.0.1:8765/token')
      expect(readFileSync(join(dir, 'active_config'), 'utf8')).to.equal('default')
    } finally {
      rmSync(dir, {force: true, recursive: true})
    }
  })
})
