// The action's deploy step: runs binauthz (INPUT_BIN, from the install step) with the argv built from the INPUT_*
// variables, streams its stderr (progress, gcloud's output) to the log, and writes the --json result's outputs to
// GITHUB_OUTPUT. Exits with binauthz's exit code.
import {spawn} from 'node:child_process'
import {appendFileSync} from 'node:fs'

import {binauthzArgs, githubOutputText, outputsOf} from './lib.mjs'

/** Runs binauthz; resolves to the step's exit code. */
function main() {
  const bin = process.env.INPUT_BIN ?? ''
  if (bin === '') {
    process.stderr.write('::error::INPUT_BIN is empty: the install step did not say where binauthz is.\n')
    return Promise.resolve(1)
  }

  let args
  try {
    args = binauthzArgs(process.env)
  } catch (error) {
    process.stderr.write(`::error::${error.message}\n`)
    return Promise.resolve(2)
  }

  return runBinauthz(bin, args)
}

function runBinauthz(bin, args) {
  process.stderr.write(`binauthz ${args.join(' ')}\n`)
  const child = spawn(process.execPath, [bin, ...args], {env: {...process.env, CI: 'true'}, stdio: ['ignore', 'pipe', 'inherit']})
  const chunks = []
  child.stdout.on('data', chunk => chunks.push(chunk))
  return new Promise(resolve => {
    child.on('close', (code, signal) => {
      const exitCode = code ?? (signal === 'SIGTERM' ? 143 : 130)
      const stdout = Buffer.concat(chunks).toString('utf8')
      let result
      try {
        result = JSON.parse(stdout)
      } catch {
        process.stderr.write(`::error::binauthz printed no JSON result (exit ${exitCode}).\n${stdout}`)
        resolve(exitCode === 0 ? 1 : exitCode)
        return
      }

      if (process.env.GITHUB_OUTPUT) appendFileSync(process.env.GITHUB_OUTPUT, githubOutputText(outputsOf(result, exitCode)))
      if (result.error) process.stderr.write(`::error::${result.error.message}\n`)
      resolve(exitCode)
    })
  })
}

process.exitCode = await main()
