// A recording fake `gcloud` executable for tests (see createFakeGcloud below).
//
// It is a small Node script written into a fresh temp dir as `gcloud` (mode 0755, shebang = this Node).
// Each invocation appends one JSON line to `calls.jsonl` ({argv, env, cwd, pid}), then prints the
// configured stderr and stdout, optionally sleeps, and exits with the configured code.
// Configuration: `fake-gcloud.json` next to it (written by createFakeGcloud/configure), overridden by the
// environment variables FAKE_GCLOUD_EXIT_CODE, FAKE_GCLOUD_STDOUT, FAKE_GCLOUD_STDERR, FAKE_GCLOUD_TOKEN,
// FAKE_GCLOUD_SLEEP_MS. `gcloud auth print-access-token` prints the token (exit 0) unless a response matches.
// It records SIGINT/SIGTERM as {signal} lines and exits 130/143 (to test Ctrl-C forwarding); its handlers are in place
// before the call is recorded, so once waitForCalls() resolved, a signal it receives is always recorded.

import {
  chmodSync, existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync,
} from 'node:fs'
import {tmpdir} from 'node:os'
import {delimiter, join} from 'node:path'

/** A canned answer for invocations whose argv matches (first matching response wins). */
export interface FakeResponse {
  /** argv must START with these arguments (e.g. ['run', 'deploy']). */
  args?: string[]
  exitCode?: number
  /** argv must contain every one of these arguments, anywhere. */
  includes?: string[]
  sleepMs?: number
  stderr?: string
  stdout?: string
}

export interface FakeGcloudOptions {
  /** Default exit code (0). */
  exitCode?: number
  /** Extra environment variable names to record (all CLOUDSDK_*, BINAUTHZ_* and GOOGLE_* are always recorded). */
  recordEnv?: string[]
  /** Per-argv answers, checked in order before the defaults. */
  responses?: FakeResponse[]
  /** Sleep this long before exiting (default 0). */
  sleepMs?: number
  /** Default stderr (''). */
  stderr?: string
  /** Default stdout ('' ). */
  stdout?: string
  /** What `gcloud auth print-access-token` prints (default FAKE_TOKEN). */
  token?: string
}

export interface FakeCall {
  argv: string[]
  cwd: string
  env: Record<string, string>
  pid: number
}

export interface FakeGcloud {
  /** Absolute path of the fake executable (usable as BINAUTHZ_GCLOUD). */
  bin: string
  /** argv of each invocation so far, in order. */
  calls(): Promise<string[][]>
  /** Removes the temp dir. */
  cleanup(): void
  configFile: string
  /** Replaces the configuration (takes effect for the next invocation). */
  configure(options: FakeGcloudOptions): void
  /** The temp dir holding `gcloud`, its config and its record. */
  dir: string
  /** process.env (or `base`) with PATH = path and BINAUTHZ_GCLOUD removed, plus `extra`. */
  env(extra?: NodeJS.ProcessEnv, base?: NodeJS.ProcessEnv): NodeJS.ProcessEnv
  /** `${dir}${delimiter}${process.env.PATH}`: a PATH on which `gcloud` is the fake. */
  path: string
  recordFile: string
  /** Full records of each invocation so far. */
  records(): Promise<FakeCall[]>
  /** Forgets recorded calls. */
  reset(): void
  /** Signals the fake received (e.g. ['SIGINT']); recorded for any signal sent after its call was recorded. */
  signals(): Promise<string[]>
  /** Resolves once at least `count` invocations were recorded (polls; rejects after timeoutMs, default 10 s). */
  waitForCalls(count: number, timeoutMs?: number): Promise<void>
}

/** The default token printed by `gcloud auth print-access-token`. */
export const FAKE_TOKEN = 'ya29.fake-gcloud-access-token-0123456789'

const SCRIPT = String.raw`
'use strict'
const fs = require('node:fs')
const path = require('node:path')
const dir = __dirname
const recordFile = process.env.FAKE_GCLOUD_RECORD || path.join(dir, 'calls.jsonl')
let config = {}
try { config = JSON.parse(fs.readFileSync(path.join(dir, 'fake-gcloud.json'), 'utf8')) } catch {}
const argv = process.argv.slice(2)
const recordEnv = new Set(config.recordEnv || [])
const env = {}
for (const [k, v] of Object.entries(process.env)) {
  if (v !== undefined && (recordEnv.has(k) || /^(CLOUDSDK_|BINAUTHZ_|GOOGLE_)/.test(k))) env[k] = v
}
// The signal handlers come BEFORE the call is recorded: a recorded call is the readiness signal tests wait for
// (waitForCalls) before sending Ctrl-C, so a signal forwarded after it is always recorded, never the default death.
for (const [signal, code] of [['SIGINT', 130], ['SIGTERM', 143]]) {
  process.on(signal, () => {
    fs.appendFileSync(recordFile, JSON.stringify({signal, pid: process.pid}) + '\n')
    process.exit(code)
  })
}
fs.appendFileSync(recordFile, JSON.stringify({argv, env, cwd: process.cwd(), pid: process.pid}) + '\n')

const startsWith = (prefix) => prefix.every((a, i) => argv[i] === a)
let answer = {exitCode: config.exitCode, stdout: config.stdout, stderr: config.stderr, sleepMs: config.sleepMs}
const match = (config.responses || []).find((r) =>
  (!r.args || startsWith(r.args)) && (!r.includes || r.includes.every((a) => argv.includes(a))))
if (match) {
  answer = {...answer, ...match}
} else if (startsWith(['auth', 'print-access-token'])) {
  answer = {exitCode: 0, stdout: (config.token === undefined ? '${FAKE_TOKEN}' : config.token) + '\n', stderr: '', sleepMs: 0}
}
const e = process.env
if (e.FAKE_GCLOUD_EXIT_CODE !== undefined) answer.exitCode = Number(e.FAKE_GCLOUD_EXIT_CODE)
if (e.FAKE_GCLOUD_STDOUT !== undefined) answer.stdout = e.FAKE_GCLOUD_STDOUT
if (e.FAKE_GCLOUD_STDERR !== undefined) answer.stderr = e.FAKE_GCLOUD_STDERR
if (e.FAKE_GCLOUD_SLEEP_MS !== undefined) answer.sleepMs = Number(e.FAKE_GCLOUD_SLEEP_MS)
if (e.FAKE_GCLOUD_TOKEN !== undefined && !match && startsWith(['auth', 'print-access-token'])) answer.stdout = e.FAKE_GCLOUD_TOKEN + '\n'

// The answer is written, then the process ends by itself (exitCode, never process.exit()): from Node 22 on, a pipe
// write may still be queued when process.exit() runs, and the reader would get a truncated stderr. stderr first
// (before the sleep, as gcloud prints progress before it finishes), stdout after it.
process.exitCode = Number.isInteger(answer.exitCode) ? answer.exitCode : 0
const write = (stream, text, then) => { if (text) stream.write(text, then); else then() }
const sleepMs = Number(answer.sleepMs) || 0
write(process.stderr, answer.stderr, () => {
  setTimeout(() => write(process.stdout, answer.stdout, () => {}), sleepMs)
})
`

/** Writes a recording fake `gcloud` into a fresh temp dir. Call cleanup() in after()/afterEach(). */
export function createFakeGcloud(options: FakeGcloudOptions = {}): FakeGcloud {
  const dir = mkdtempSync(join(tmpdir(), 'fake-gcloud-'))
  const bin = join(dir, 'gcloud')
  const recordFile = join(dir, 'calls.jsonl')
  const configFile = join(dir, 'fake-gcloud.json')
  // No "type": "module" above the temp dir, but be explicit: the extensionless script is CommonJS.
  writeFileSync(join(dir, 'package.json'), '{"type": "commonjs"}\n')
  writeFileSync(bin, `#!${process.execPath}\n${SCRIPT}`)
  chmodSync(bin, 0o755)
  writeFileSync(recordFile, '')

  const configure = (opts: FakeGcloudOptions): void => {
    writeFileSync(configFile, JSON.stringify(opts))
  }

  configure(options)

  // Only complete lines: a record is appended with its newline, and a long one (a 120 KB argv) can be read while the
  // fake is still writing it; the text after the last newline is such a line in progress, not yet a call.
  const readLines = (): Record<string, unknown>[] => {
    if (!existsSync(recordFile)) return []
    const lines = readFileSync(recordFile, 'utf8').split('\n')
    lines.pop()
    return lines
    .filter(line => line.trim() !== '')
    .map(line => JSON.parse(line) as Record<string, unknown>)
  }

  const records = (): FakeCall[] => readLines().filter(r => Array.isArray(r.argv)) as unknown as FakeCall[]

  const path = `${dir}${delimiter}${process.env.PATH ?? ''}`

  return {
    bin,
    async calls() {
      return records().map(r => r.argv)
    },
    cleanup() {
      rmSync(dir, {force: true, recursive: true})
    },
    configFile,
    configure,
    dir,
    env(extra = {}, base = process.env) {
      const env: NodeJS.ProcessEnv = {...base, PATH: path, ...extra}
      if (!('BINAUTHZ_GCLOUD' in extra)) delete env.BINAUTHZ_GCLOUD
      return env
    },
    path,
    recordFile,
    async records() {
      return records()
    },
    reset() {
      writeFileSync(recordFile, '')
    },
    async signals() {
      return readLines()
      .filter(r => typeof r.signal === 'string')
      .map(r => r.signal as string)
    },
    async waitForCalls(count, timeoutMs = 10_000) {
      const deadline = Date.now() + timeoutMs
      const poll = async (): Promise<void> => {
        if (records().length >= count) return
        if (Date.now() > deadline) throw new Error(`fake gcloud: expected ${count} call(s) within ${timeoutMs} ms`)
        await new Promise(resolve => {
          setTimeout(resolve, 10)
        })
        return poll()
      }

      return poll()
    },
  }
}
