// Shared by the test/perf tests: run the built CLI (bin/run.js) as a user would, in a clean environment, with a
// fake gcloud that logs its calls, a preload that logs every TCP connection the CLI opens, or a probe of the test's
// own (childProbe: a preload that records what it observes in the child). Counts only — no times.
import {
  chmodSync, existsSync, mkdirSync, readFileSync, rmSync, writeFileSync,
} from 'node:fs'
import {join} from 'node:path'
import {fileURLToPath} from 'node:url'

import {runCli as runBuiltCli} from '../helpers/cli-process.js'
import {type ProgramRun, runProgram} from '../helpers/e2e.js'
import {tempDir} from '../helpers/tmp.js'

export const ROOT = fileURLToPath(new URL('../../../', import.meta.url))
export const BIN = join(ROOT, 'bin', 'run.js')
/** Compiled next to this file (dist/test/perf/net-log-preload.js). */
export const NET_LOG_PRELOAD = fileURLToPath(new URL('net-log-preload.js', import.meta.url))
export const FAKE_TOKEN = 'ya29.perf-test-token'

export interface CliResult {
  code: null | number
  signal: NodeJS.Signals | null
  stderr: string
  stdout: string
}

/** The environment minus everything that could point the CLI at real credentials, config or a debugger. */
export function cleanEnv(dir: string, extra: NodeJS.ProcessEnv = {}): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = {}
  for (const [key, value] of Object.entries(process.env)) {
    if (
      /^(CLOUDSDK_|BINAUTHZ_|XDG_|OCLIF_|GCE_METADATA|GOOGLE_)/.test(key)
      || ['CI', 'DEBUG', 'FORCE_COLOR', 'METADATA_SERVER_DETECTION', 'NO_COLOR', 'NODE_DEBUG', 'NODE_ENV', 'NODE_OPTIONS'].includes(key)
    ) {
      continue
    }

    env[key] = value
  }

  const home = join(dir, 'home')
  const gcloud = join(dir, 'gcloud-config')
  mkdirSync(home, {recursive: true})
  mkdirSync(gcloud, {recursive: true})
  return {
    ...env, BINAUTHZ_CONFIG_DIR: join(dir, 'cfg'), BINAUTHZ_DATA_DIR: join(dir, 'data'), CLOUDSDK_CONFIG: gcloud, HOME: home, ...extra,
  }
}

/** Runs `node bin/run.js ...args`; killed after `timeoutMs` (a hang fails the test through its exit code). */
export async function runCli(args: readonly string[], env: NodeJS.ProcessEnv, timeoutMs = 20_000): Promise<CliResult> {
  const {code, signal, stderr, stdout} = await runBuiltCli(args, {env, timeoutMs})
  return {
    code, signal, stderr, stdout,
  }
}

export interface FakeGcloud {
  /** Each call's arguments, in order. */
  calls(): string[][]
  path: string
}

/**
 * A gcloud stand-in (POSIX shell): logs every call (one line, arguments separated by TAB), prints a token for
 * `auth print-access-token`, exits 0 otherwise. printf is a shell builtin: the fake starts no process of its own.
 */
export function fakeGcloud(dir: string): FakeGcloud {
  mkdirSync(dir, {recursive: true})
  const log = join(dir, 'gcloud-calls.log')
  const path = join(dir, 'gcloud')
  writeFileSync(
    path,
    [
      '#!/bin/sh',
      `log='${log}'`,
      'line=""',
      String.raw`for a in "$@"; do line="$line$(printf '%s\t' "$a")"; done`,
      String.raw`printf '%s\n' "$line" >> "$log"`,
      `if [ "$1" = auth ] && [ "$2" = print-access-token ]; then printf '%s\\n' '${FAKE_TOKEN}'; fi`,
      'exit 0',
      '',
    ].join('\n'),
  )
  chmodSync(path, 0o755)
  return {
    calls: () =>
      existsSync(log)
        ? readFileSync(log, 'utf8')
        .split('\n')
        .filter(line => line !== '')
        .map(line => line.split('\t').filter((a, i, all) => i < all.length - 1 || a !== ''))
        : [],
    path,
  }
}

/** host:port (or socket path) of every connection the CLI opened, from the net-log preload. */
export function connections(file: string): string[] {
  return existsSync(file) ? readFileSync(file, 'utf8').split('\n').filter(Boolean) : []
}

/** Env that loads the preload logging TCP connections into `file`. */
export function withNetLog(env: NodeJS.ProcessEnv, file: string): NodeJS.ProcessEnv {
  return {...env, BINAUTHZ_TEST_NET_LOG: file, NODE_OPTIONS: `--import=${new URL(`file://${NET_LOG_PRELOAD}`).href}`}
}

/** A preload in the child process that records what it observes, one line each, and the runs observed with it. */
export interface ChildProbe {
  /** What the preload recorded in the last run (throws when it recorded nothing at all: it did not run). */
  recorded(): string[]
  /** Removes the probe's directory. */
  remove(): void
  /** Runs the built CLI (`node bin/run.js ...args`) under the probe, in its directory, the record emptied first. */
  runCli(args: readonly string[]): Promise<CliResult>
  /** Runs `node ...args` under the probe, the record emptied first: the check that the probe sees what it looks for. */
  runNode(args: readonly string[]): Promise<ProgramRun>
}

export interface ChildProbeSetup {
  /** Added to the child's environment (cleanEnv). */
  env?: NodeJS.ProcessEnv
  /** The preload's files by name, given the file the preload records into. */
  files(record: string): Record<string, string>
  /** The NODE_OPTIONS that load the preload, given where each of its files was written. */
  nodeOptions(path: (name: string) => string): string
}

/** Writes a preload into a fresh directory and runs children under it (NODE_OPTIONS) in a clean environment. */
export function childProbe(prefix: string, setup: ChildProbeSetup): ChildProbe {
  const dir = tempDir(prefix)
  const record = join(dir, 'recorded.txt')
  const path = (name: string): string => join(dir, name)
  for (const [name, text] of Object.entries(setup.files(record))) writeFileSync(path(name), text)
  const env = cleanEnv(dir, {...setup.env, NODE_OPTIONS: setup.nodeOptions(path)})
  const timeoutMs = 60_000
  return {
    recorded: () => readFileSync(record, 'utf8').split('\n').filter(Boolean),
    remove: () => rmSync(dir, {force: true, recursive: true}),
    async runCli(args) {
      rmSync(record, {force: true})
      const {code, signal, stderr, stdout} = await runBuiltCli(args, {cwd: dir, env, timeoutMs})
      return {
        code, signal, stderr, stdout,
      }
    },
    async runNode(args) {
      rmSync(record, {force: true})
      return runProgram(process.execPath, args, {cwd: dir, env, timeoutMs})
    },
  }
}
