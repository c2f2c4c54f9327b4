// The sandbox's gRPC transport (@grpc/grpc-js, @grpc/proto-loader: ~600 KiB of vendor files, src/sandbox/grpc.ts)
// is loaded only when a sandbox serves a worker-pool tunnel, never on the CLI's start path: `--help` and a deploy
// that stops before gcloud do not import it. Observed with a module hook in the child (Node's module.register), which
// writes every module URL it resolves to a file.
import {expect} from 'chai'
import {fileURLToPath, pathToFileURL} from 'node:url'

import {type ChildProbe, childProbe} from './harness.js'

describe('start path: the gRPC transport stays unloaded', function () {
  this.timeout(120_000)
  let probe: ChildProbe

  before(() => {
    probe = childProbe('binauthz-lazy-grpc-', {
      files: record => ({
        'hooks.mjs': [
          "import {appendFileSync} from 'node:fs'",
          'export async function resolve(specifier, context, next) {',
          '  const resolved = await next(specifier, context)',
          `  appendFileSync(${JSON.stringify(record)}, resolved.url + '\\n')`,
          '  return resolved',
          '}',
        ].join('\n'),
        'register.mjs': "import {register} from 'node:module'\nregister('./hooks.mjs', import.meta.url)\n",
      }),
      nodeOptions: path => `--import=${pathToFileURL(path('register.mjs')).href}`,
    })
  })

  after(() => {
    probe.remove()
  })

  it('the hook sees a dynamic import of the vendored transport (so the checks below can fail)', async () => {
    const vendor = fileURLToPath(new URL('../../bundle/vendor/@grpc+grpc-js.js', import.meta.url))
    const ran = await probe.runNode(['--input-type=module', '-e', `await import(${JSON.stringify(pathToFileURL(vendor).href)})`])
    expect(ran.code, ran.stderr).to.equal(0)
    expect(probe.recorded().filter(url => /grpc|proto-loader/.test(url))).to.include(pathToFileURL(vendor).href)
  })

  for (const args of [['--help'], ['deploy', 'worker-pool', '--help'], ['deploy', 'worker-pool', 'pool1', '--project', 'p', '--region', 'us-central1', '--dry-run', '--', '--source=.']]) {
    it(`binauthz ${args.join(' ')}`, async () => {
      await probe.runCli(args)
      const urls = probe.recorded()
      // The hook saw the CLI's own modules (so it did run), and no gRPC one.
      expect(urls.some(url => url.endsWith('/bin/run.js'))).to.equal(true)
      expect(urls.filter(url => /grpc|proto-loader/.test(url))).to.deep.equal([])
    })
  }
})
