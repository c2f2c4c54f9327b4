import {expect} from 'chai'

import {colourDiff, colourEnabled} from '../../src/cli/diff-colour.js'

describe('cli/diff-colour', () => {
  const table: [env: NodeJS.ProcessEnv, isTTY: boolean, enabled: boolean][] = [
    [{}, true, true],
    [{}, false, false],
    [{TERM: 'dumb'}, true, false],
    [{NO_COLOR: '1'}, true, false],
    [{NO_COLOR: ''}, true, true], // no-color.org: only a non-empty NO_COLOR counts
    [{FORCE_COLOR: '1'}, false, true],
    [{FORCE_COLOR: ''}, false, true],
    [{FORCE_COLOR: '0'}, true, false],
    [{FORCE_COLOR: 'false'}, true, false],
    [{FORCE_COLOR: '1', NO_COLOR: '1'}, false, false],
  ]
  for (const [env, isTTY, enabled] of table) {
    it(`${JSON.stringify(env)}, ${isTTY ? 'terminal' : 'no terminal'} -> ${enabled ? 'colour' : 'none'}`, () => {
      expect(colourEnabled({env, isTTY})).to.equal(enabled)
    })
  }

  it('colours added, removed and hunk lines only, and nothing when disabled', () => {
    const diff = '@@ -1,2 +1,3 @@\n  a:\n+ - b\n- - c\n-not-a-diff-line'
    expect(colourDiff(diff, false)).to.equal(diff)
    expect(colourDiff(diff, true).split('\n')).to.deep.equal([
      '\u001B[36m@@ -1,2 +1,3 @@\u001B[0m', '  a:', '\u001B[32m+ - b\u001B[0m', '\u001B[31m- - c\u001B[0m', '-not-a-diff-line',
    ])
  })
})
