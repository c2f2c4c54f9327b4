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

  it('plain reporter: one ISO-timestamped line per step start and end, details only when verbose', async () => {
    const lines: string[] = []
    let tick = 0
    const now = (): Date => new Date(Date.UTC(2026, 11, 1, 19, 0, tick++))
    const plain = plainReporter(line => lines.push(line), false, now)
    await plain.start('resolve', 'Resolve')
    await plain.detail('detail')
    await plain.succeed('resolve', 'Project p')
    await plain.skip('allowlist', 'Already allowlisted')
    await plain.start('deploy', 'Running gcloud in r:\n  gcloud run deploy', {streaming: true})
    await plain.fail('deploy', 'Failed')
    expect(lines).to.deep.equal([
      '2026-12-01T19:00:00.000Z → Resolve',
      '2026-12-01T19:00:01.000Z ✔ Project p',
      '2026-12-01T19:00:02.000Z ↓ Already allowlisted',
      '2026-12-01T19:00:03.000Z → Running gcloud in r:\n  gcloud run deploy',
      '2026-12-01T19:00:04.000Z ✖ Failed',
    ])
    lines.length = 0
    const loud = plainReporter(line => lines.push(line), true, now)
    await loud.detail('detail')
    expect(lines).to.deep.equal(['  detail'])
  })

  it('listr reporter: a streaming step (gcloud writes to the terminal) is one still line at its start and one at its end', async () => {
    const lines: string[] = []
    const reporter = await listrReporter('silent', line => lines.push(line))
    await reporter.start('deploy', 'Running gcloud in us-central1', {streaming: true})
    expect(lines).to.deep.equal(['❯ Running gcloud in us-central1'])
    await reporter.succeed('deploy', 'gcloud deployed svc to us-central1')
    expect(lines).to.deep.equal(['❯ Running gcloud in us-central1', '✔ gcloud deployed svc to us-central1'])
    await reporter.start('deploy', 'again', {streaming: true})
    await reporter.close() // interrupted: the still step is ended, not left open
    expect(lines.at(-1)).to.equal('✖ interrupted')
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
