// The wizard's questions as a person in a terminal meets them, through a scripted Prompter that records each
// question: --docker-repository is asked only for the functions path, a bad region is reported as "your answer",
// and the defaults are saved only after asking.
import {expect} from 'chai'
import {existsSync} from 'node:fs'
import {join} from 'node:path'

import type {AskOptions, Choice, Prompter} from '../../src/app/ports.js'

import {resolveContext} from '../../src/app/context.js'
import {runSetup} from '../../src/app/setup-wizard.js'
import {Secrets} from '../../src/errors.js'
import {TEST_USER_AGENT} from '../helpers/user-agent.js'
import {
  type Harness, PROJECT, REGION, startHarness,
} from './harness.js'

interface Script {
  asked: string[]
  prompter: Prompter
  validationOf: (question: string, answer: string) => string | true
}

/** Answers every question with `answers[question-start]` (or the default), recording the questions. */
function scripted(answers: Record<string, boolean | string>): Script {
  const asked: string[] = []
  const validators = new Map<string, (value: string) => string | true>()
  const answer = <T>(message: string, fallback: T): T => {
    asked.push(message)
    const key = Object.keys(answers).find(k => message.startsWith(k))
    return (key === undefined ? fallback : answers[key]) as T
  }

  return {
    asked,
    prompter: {
      async confirm(message: string, options: AskOptions & {default?: boolean}) {
        return answer(message, options.default ?? false)
      },
      async input(message: string, options: AskOptions & {default?: string; validate?: (value: string) => string | true}) {
        if (options.validate) validators.set(message, options.validate)
        return answer(message, options.default ?? '')
      },
      interactive: true,
      async select<T>(message: string, _choices: readonly Choice<T>[], options: AskOptions & {default?: T}) {
        return answer(message, options.default as T)
      },
    },
    validationOf(question, value) {
      const validate = [...validators.entries()].find(([m]) => m.startsWith(question))?.[1]
      if (validate === undefined) throw new Error(`"${question}" was not asked`)
      return validate(value)
    },
  }
}

const ui = (lines: string[]) => ({info: (line: string) => lines.push(line), warn: (line: string) => lines.push(line)})

describe('setup wizard: the questions', () => {
  let h: Harness

  afterEach(async () => h.close())

  it('Cloud Run path: no --docker-repository question; a bad region is "your answer"; defaults saved only when the answer is yes', async () => {
    h = await startHarness()
    const script = scripted({
      'Google Cloud project ID': PROJECT, 'How do you deploy?': 'run', 'Region(s)': REGION, Save: false, Write: true,
    })
    const lines: string[] = []
    const result = await runSetup({apply: true, yes: false}, {
      env: process.env, prompter: script.prompter, secrets: new Secrets(), ui: ui(lines), userAgent: TEST_USER_AGENT,
    })
    expect(script.asked.some(q => q.includes('--docker-repository'))).to.equal(false)
    expect(script.validationOf('Region(s)', 'us-central1-a')).to.match(/^Invalid region "us-central1-a" from your answer: it is a zone/)
    expect(script.asked.some(q => q.startsWith(`Save project ${PROJECT}, region ${REGION}, deploy path run as defaults`))).to.equal(true)
    expect(result.defaults.saved).to.equal(false)
    expect(existsSync(join(h.configDir, 'defaults.json'))).to.equal(false)
  })

  it('functions path: the --docker-repository question is asked; yes to saving writes the defaults', async () => {
    h = await startHarness()
    const script = scripted({
      'Google Cloud project ID': PROJECT, 'How do you deploy?': 'function', 'Region(s)': REGION, Save: true, Write: true,
    })
    const lines: string[] = []
    const result = await runSetup({apply: true, yes: false}, {
      env: process.env, prompter: script.prompter, secrets: new Secrets(), ui: ui(lines), userAgent: TEST_USER_AGENT,
    })
    expect(script.asked.some(q => q.includes('--docker-repository'))).to.equal(true)
    expect(result.defaults.saved).to.equal(true)
    expect(lines.some(l => l.startsWith('✔ Saved defaults to ') && !l.includes('--no-save'))).to.equal(true)
  })

  it('without a terminal the defaults are saved and the output says how not to (--no-save)', async () => {
    h = await startHarness()
    const lines: string[] = []
    const refusing: Prompter = {...scripted({}).prompter, interactive: false}
    const result = await runSetup({
      apply: true, project: PROJECT, regions: [REGION], yes: true,
    }, {
      env: process.env, prompter: refusing, secrets: new Secrets(), ui: ui(lines), userAgent: TEST_USER_AGENT,
    })
    expect(result.defaults.saved).to.equal(true)
    expect(lines.some(l => l.startsWith('✔ Saved defaults to ') && l.includes('--no-save'))).to.equal(true)
  })

  it('offers the project a deploy would use, by the same rule: a padded CLOUDSDK_CORE_PROJECT is refused with the deploy\'s words, not trimmed', async () => {
    h = await startHarness()
    const env = {...process.env, CLOUDSDK_CORE_PROJECT: ` ${PROJECT}`}
    const refusing: Prompter = {...scripted({}).prompter, interactive: false}
    const deployRefusal = (() => {
      try {
        resolveContext({env, requireRegion: false})
      } catch (error) {
        return (error as Error).message
      }

      return 'accepted'
    })()
    expect(deployRefusal).to.include('CLOUDSDK_CORE_PROJECT')
    let setupRefusal = 'accepted'
    try {
      await runSetup({apply: false, regions: [REGION], yes: true}, {
        env, prompter: refusing, secrets: new Secrets(), ui: ui([]), userAgent: TEST_USER_AGENT,
      })
    } catch (error) {
      setupRefusal = (error as Error).message
    }

    expect(setupRefusal).to.equal(deployRefusal)
  })

  for (const [kind, expected] of [['function', 'europe-west1'], ['run', 'us-east1'], ['job', 'us-east1']] as const) {
    it(`--kind ${kind} without --region takes the region a ${kind} deploy would use (${expected})`, async () => {
      h = await startHarness()
      const env = {...process.env, CLOUDSDK_FUNCTIONS_REGION: 'europe-west1', CLOUDSDK_RUN_REGION: 'us-east1'}
      const refusing: Prompter = {...scripted({}).prompter, interactive: false}
      const result = await runSetup({
        apply: false, kind, project: PROJECT, save: false, yes: true,
      }, {
        env, prompter: refusing, secrets: new Secrets(), ui: ui([]), userAgent: TEST_USER_AGENT,
      })
      expect(result.regions).to.deep.equal([expected])
      expect(resolveContext({env, kind, project: PROJECT}).regions).to.deep.equal([expected])
    })
  }
})
