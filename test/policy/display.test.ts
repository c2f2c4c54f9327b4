import {expect} from 'chai'
import * as fc from 'fast-check'

import {safeText, Secrets} from '../../src/errors.js'
import {displayEscape, hasUnsafeCharacters, serverText} from '../../src/policy/display.js'
import {formatCommand, shellArg} from '../../src/policy/shell.js'

const ESC = String.fromCodePoint(0x1B)
const RLO = '\u202E'

describe('display escaping (issue 15 item 6)', () => {
  it('escapes control characters and bidi overrides, and nothing else', () => {
    expect(displayEscape(`a${ESC}[31mb${RLO}c\rd\ne`)).to.equal(String.raw`a\x1b[31mb\u202ec\rd\ne`)
    expect(displayEscape('line one\nline\ttwo', {keepLines: true})).to.equal('line one\nline\ttwo')
    expect(displayEscape('plain ünïcode – fine')).to.equal('plain ünïcode – fine')
  })

  it('never leaves an unsafe character, for any input', () => {
    fc.assert(fc.property(fc.string({unit: 'binary'}), text => !hasUnsafeCharacters(displayEscape(text))), {numRuns: 500})
  })

  it('shows a disguised argument in ANSI-C quoting, and plain ones as before', () => {
    expect(shellArg(`--set-env-vars=A=${RLO}txt.exe`)).to.equal(String.raw`$'--set-env-vars=A=\u202etxt.exe'`)
    expect(shellArg(`x${ESC}]0;title\u0007'y`)).to.equal(String.raw`$'x\x1b]0;title\x07\'y'`)
    expect(formatCommand(['gcloud', 'run', 'deploy', 'it s'])).to.equal("gcloud run deploy 'it s'")
  })

  it('redacts server text BEFORE cutting it: a token past the 500th character leaves no part behind', () => {
    const token = 'SECRETtoken0123456789abcdefghijklmnopqrstuvwxyz'
    const secrets = new Secrets()
    secrets.add(token)
    for (let at = 480; at <= 520; at++) {
      const shown = serverText(`${'x'.repeat(at)}${token} tail`, text => secrets.redact(text))
      expect(shown).not.to.include(token.slice(0, 8))
      expect(shown.length).to.be.at.most(501)
    }
  })

  it('safeText redacts and escapes error text but keeps its lines (the run\'s Secrets.safeText also its secrets)', () => {
    const secrets = new Secrets()
    secrets.add('SECRETtoken-for-safe-text-000')
    expect(secrets.safeText(`a SECRETtoken-for-safe-text-000 ${ESC}[2J\nnext`)).to.equal(String.raw`a [REDACTED] \x1b[2J` + '\nnext')
    expect(safeText(`a Bearer ya29.token-for-safe-text ${ESC}[2J\nnext`)).to.equal(String.raw`a Bearer [REDACTED] \x1b[2J` + '\nnext')
  })
})
