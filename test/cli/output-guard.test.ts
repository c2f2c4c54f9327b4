import {expect} from 'chai'

import {guardStream} from '../../src/cli/output-guard.js'
import {Secrets} from '../../src/errors.js'

/** A stream that records what reaches it (only `write` is used by the guard). */
function recorder(): {stream: NodeJS.WriteStream; written: string[]} {
  const written: string[] = []
  const stream = {
    write(chunk: string | Uint8Array): boolean {
      written.push(typeof chunk === 'string' ? chunk : Buffer.from(chunk).toString('utf8'))
      return true
    },
  } as unknown as NodeJS.WriteStream
  return {stream, written}
}

describe('cli/output-guard: every write of a run has that run\'s secrets redacted', () => {
  it('redacts values registered with the run, also after the guard was installed, in strings and bytes', () => {
    const {stream, written} = recorder()
    const secrets = new Secrets()
    const unguard = guardStream(stream, secrets)
    secrets.add('opaque-token-registered-later-0001')
    stream.write('a opaque-token-registered-later-0001 b\n')
    stream.write(Buffer.from('bytes opaque-token-registered-later-0001\n'))
    // Only exact registered values: credential-like text of no registered value passes (the printer redacts patterns).
    stream.write('ya29.not-registered-here\n')
    unguard()
    stream.write('after opaque-token-registered-later-0001\n')
    expect(written).to.deep.equal([
      'a [REDACTED] b\n', 'bytes [REDACTED]\n', 'ya29.not-registered-here\n', 'after opaque-token-registered-later-0001\n',
    ])
  })

  it('knows only its own run\'s secrets, and removing it leaves a later guard in place', () => {
    const {stream, written} = recorder()
    const first = new Secrets()
    const second = new Secrets()
    first.add('secret-of-the-first-run-0001')
    second.add('secret-of-the-second-run-0002')
    const unguardFirst = guardStream(stream, first)
    const unguardSecond = guardStream(stream, second)
    unguardFirst() // not the outermost wrapper: the second run's guard (which calls the first's) stays
    stream.write('secret-of-the-second-run-0002 secret-of-the-first-run-0001\n')
    unguardSecond()
    expect(written).to.deep.equal(['[REDACTED] [REDACTED]\n'])
  })
})
