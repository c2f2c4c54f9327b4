import {expect} from 'chai'

import {
  chooseRenderer, isCiValue, listrReporter, plainReporter, type RendererChoice, type RendererInput,
} from '../../src/cli/renderer.js'

describe('cli/renderer', () => {
  const table: [RendererInput, RendererChoice][] = [
    [{
      ci: false, isTTY: true, json: true, verbose: false,
    }, 'simple'],
    [{
      ci: false, isTTY: true, json: true, verbose: true,
    }, 'verbose'],
    [{
      ci: true, isTTY: false, json: true, verbose: false,
    }, 'simple'],
    [{
      ci: false, isTTY: true, json: false, verbose: true,
    }, 'verbose'],
    [{
      ci: true, isTTY: false, json: false, verbose: true,
    }, 'verbose'],
    [{
      ci: false, isTTY: false, json: false, verbose: false,
    }, 'simple'],
    [{
      ci: true, isTTY: true, json: false, verbose: false,
    }, 'simple'],
    [{
      ci: true, isTTY: false, json: false, verbose: false,
    }, 'simple'],
    [{
      ci: false, isTTY: true, json: false, verbose: false,
    }, 'default'],
  ]
  for (const [input, expected] of table) {
    it(`${JSON.stringify(input)} -> ${expected}`, () => {
      expect(chooseRenderer(input)).to.equal(expected)
    })
  }

  it('reads CI like the prompts do', () => {
    expect([undefined, '', '0', 'false', 'FALSE', 'true', '1', 'github'].map(v => isCiValue(v))).to.deep.equal([
      false, false, false, false, false, true, true, true,
    ])
  })

  it('plain reporter writes one line per finished step, details only when verbose', async () => {
    const lines: string[] = []
    const quiet = plainReporter(line => lines.push(line), false)
    await quiet.start('resolve', 'Resolve')
    await quiet.detail('detail')
    await quiet.succeed('resolve', 'Project p')
    await quiet.skip('allowlist', 'Already allowlisted')
    await quiet.fail('deploy', 'Failed')
    expect(lines).to.deep.equal(['✔ Project p', '↓ Already allowlisted', '✖ Failed'])
    lines.length = 0
    const loud = plainReporter(line => lines.push(line), true)
    await loud.start('resolve', 'Resolve')
    await loud.detail('detail')
    expect(lines).to.deep.equal(['→ Resolve', '  detail'])
  })

  it('listr reporter: steps finish in order, a step reported only when done works, close() ends open steps', async () => {
    const reporter = await listrReporter('silent')
    await reporter.start('resolve', 'Resolve')
    await reporter.detail('detail')
    await reporter.succeed('resolve', 'Resolved')
    await reporter.skip('allowlist', 'Nothing to do') // never started
    await reporter.start('deploy', 'Deploy')
    await reporter.close() // must not hang with 'deploy' still open
    await reporter.fail('policy', 'failed') // a failed step does not throw out of the reporter
  })
})
