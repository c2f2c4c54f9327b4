// What the end-to-end tests share: a small function source to deploy, and running a program (gcloud, the installed
// binauthz) with exactly the environment given, no stdin, bounded in time.
import {execFile} from 'node:child_process'
import {mkdirSync, writeFileSync} from 'node:fs'
import {join} from 'node:path'

export interface ProgramRun {
  code: number
  stderr: string
  stdout: string
}

/** Writes DIR/NAME (default "src"): a Node function with a `handler` entry point. Returns its path. */
export function writeHelloSource(dir: string, name = 'src'): string {
  const source = join(dir, name)
  mkdirSync(source, {recursive: true})
  writeFileSync(join(source, 'package.json'), JSON.stringify({main: 'index.js', name: 'hello', version: '1.0.0'}))
  writeFileSync(join(source, 'index.js'), "exports.handler = (req, res) => res.send('hello')\n")
  return source
}

/** Runs `command args` with exactly `env` (nothing of ours added), no stdin; killed after `timeoutMs`. Never rejects. */
export function runProgram(command: string, args: readonly string[], options: {cwd: string; env: NodeJS.ProcessEnv; timeoutMs?: number}): Promise<ProgramRun> {
  return new Promise(resolve => {
    const child = execFile(command, [...args], {
      cwd: options.cwd, env: options.env, maxBuffer: 64 * 1024 * 1024, timeout: options.timeoutMs ?? 120_000,
    }, (error, stdout, stderr) => {
      resolve({code: error ? (typeof error.code === 'number' ? error.code : 1) : 0, stderr, stdout})
    })
    child.stdin?.end()
  })
}

/** This process's environment without the developer's gcloud settings (CLOUDSDK_*), for gcloud against a sandbox. */
export function withoutCloudsdk(env: NodeJS.ProcessEnv = process.env): NodeJS.ProcessEnv {
  return Object.fromEntries(Object.entries(env).filter(([key]) => !key.startsWith('CLOUDSDK_')))
}
