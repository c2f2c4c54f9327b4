import {expect} from 'chai'
import {readdirSync, readFileSync} from 'node:fs'
import {join} from 'node:path'
import {PassThrough} from 'node:stream'
import {fileURLToPath} from 'node:url'

import {
  canPrompt, checkboxPrompt, confirmPrompt, inputPrompt, selectPrompt,
} from '../../src/cli/prompts.js'
import {InterruptedError, UserError} from '../../src/errors.js'
import {rejectionOf} from '../helpers/assert.js'

function stream(isTTY: boolean): PassThrough & {isTTY: boolean} {
  return Object.assign(new PassThrough(), {isTTY})
}

const tty = () => ({env: {} as NodeJS.ProcessEnv, input: stream(true), output: stream(true)})
/** Types `keys` once the prompt is on screen, as a user does: inquirer ≥ 8 drops keys a terminal sent before it. */
const typeOnceShown = (io: ReturnType<typeof tty>, keys: string): void => {
  io.output.once('data', () => setImmediate(() => io.input.write(keys)))
}

describe('prompts', () => {
  describe('canPrompt', () => {
    it('needs a terminal on both ends and CI unset', () => {
      expect(canPrompt(tty())).to.equal(true)
      expect(canPrompt({...tty(), input: stream(false)})).to.equal(false)
      expect(canPrompt({...tty(), output: stream(false)})).to.equal(false)
      expect(canPrompt({...tty(), env: {CI: 'true'}})).to.equal(false)
      expect(canPrompt({...tty(), env: {CI: '1'}})).to.equal(false)
      expect(canPrompt({...tty(), interactive: false})).to.equal(false)
    })

    it('treats CI=false, CI=0 and an empty CI as unset', () => {
      for (const CI of ['false', '0', '']) expect(canPrompt({...tty(), env: {CI}})).to.equal(true)
    })
  })

  describe('without a terminal', () => {
    const io = {env: {}, input: stream(false), output: stream(false)}

    it('confirmPrompt throws CONFIRMATION_REQUIRED with the permission exit code, naming the flag', async () => {
      const err = await rejectionOf(confirmPrompt('Write the policy?', {flag: '--yes', ...io}))
      expect(err).to.be.instanceOf(UserError)
      const e = err as UserError
      expect(e.code).to.equal('CONFIRMATION_REQUIRED')
      expect(e.exitCode).to.equal(3)
      expect(e.message).to.contain('--yes')
      expect(e.suggestions.join(' ')).to.contain('--yes')
    })

    it('input, select and checkbox throw PROMPT_UNAVAILABLE (exit 2) naming their flag', async () => {
      const errors = [
        await rejectionOf(inputPrompt('Project', {flag: '--project', ...io})),
        await rejectionOf(selectPrompt('Kind', [{name: 'Run', value: 'run'}], {flag: '--kind', ...io})),
        await rejectionOf(checkboxPrompt('Regions', [{name: 'a', value: 'a'}], {flag: '--region', ...io})),
      ]
      const flags = ['--project', '--kind', '--region']
      for (const [i, err] of errors.entries()) {
        expect(err).to.be.instanceOf(UserError)
        expect((err as UserError).code).to.equal('PROMPT_UNAVAILABLE')
        expect((err as UserError).exitCode).to.equal(2)
        expect((err as UserError).message).to.contain(flags[i])
      }
    })

    it('says when CI is the reason', async () => {
      const err = await rejectionOf(confirmPrompt('Go?', {flag: '--yes', ...tty(), env: {CI: 'true'}}))
      expect((err as UserError).message).to.contain('CI is set')
    })
  })

  describe('in a terminal', () => {
    it('answers from the keyboard and maps Ctrl-C to exit 130', async () => {
      const io = tty()
      const answer = inputPrompt('Project', {flag: '--project', ...io})
      typeOnceShown(io, 'my-proj\r')
      expect(await answer).to.equal('my-proj')

      const io2 = tty()
      const interrupted = confirmPrompt('Go?', {flag: '--yes', ...io2})
      typeOnceShown(io2, '\u0003')
      const err = await rejectionOf(interrupted)
      expect(err).to.be.instanceOf(InterruptedError)
      expect((err as UserError).code).to.equal('INTERRUPTED')
      expect((err as UserError).exitCode).to.equal(130)
    })
  })

  describe('choke point', () => {
    const src = fileURLToPath(new URL('../../../src/', import.meta.url))
    const files = (dir: string): string[] =>
      readdirSync(dir, {withFileTypes: true}).flatMap(e => (e.isDirectory() ? files(join(dir, e.name)) : (e.name.endsWith('.ts') ? [join(dir, e.name)] : [])))

    it('only src/cli/prompts.ts mentions @inquirer/prompts, and only through a lazy import()', () => {
      const users = files(src).filter(f => /['"]@inquirer\/prompts['"]/.test(readFileSync(f, 'utf8')))
      expect(users.map(f => f.slice(src.length))).to.deep.equal(['cli/prompts.ts'])
      const text = readFileSync(join(src, 'cli', 'prompts.ts'), 'utf8')
      expect(text).to.not.match(/^import[^(]*['"]@inquirer\/prompts['"]/m)
      expect(text).to.match(/await import\('@inquirer\/prompts'\)/)
    })
  })
})
