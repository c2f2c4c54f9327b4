import {expect} from 'chai'
import {spawnSync} from 'node:child_process'
import {rmSync, writeFileSync} from 'node:fs'
import {dirname, join} from 'node:path'
import {fileURLToPath} from 'node:url'

import {InterruptedError, UserError} from '../../src/errors.js'
import {
  captureGcloud, gcloudExecutable, locateGcloud, runGcloud, STDERR_TAIL_BYTES,
} from '../../src/gcloud/runner.js'
import {rejectionOf, thrownBy} from '../helpers/assert.js'
import {createFakeGcloud, FAKE_TOKEN, type FakeGcloud} from '../helpers/fake-gcloud.js'
import {tempDir} from '../helpers/tmp.js'

describe('gcloud runner', () => {
  let fake: FakeGcloud

  beforeEach(() => {
    fake = createFakeGcloud()
  })

  afterEach(() => {
    fake.cleanup()
  })

  describe('gcloudExecutable', () => {
    it('defaults to gcloud on PATH and honours BINAUTHZ_GCLOUD', () => {
      expect(gcloudExecutable({})).to.equal('gcloud')
      expect(gcloudExecutable({BINAUTHZ_GCLOUD: '  '})).to.equal('gcloud')
      expect(gcloudExecutable({BINAUTHZ_GCLOUD: '/opt/sdk/bin/gcloud'})).to.equal('/opt/sdk/bin/gcloud')
    })
  })

  describe('locateGcloud', () => {
    it('finds gcloud on PATH or at BINAUTHZ_GCLOUD without starting a process', async () => {
      expect(locateGcloud({PATH: `/nonexistent${':'}${fake.dir}`})).to.equal(fake.bin)
      expect(locateGcloud({BINAUTHZ_GCLOUD: fake.bin, PATH: ''})).to.equal(fake.bin)
      expect(await fake.calls()).to.deep.equal([])
    })

    it('throws GCLOUD_MISSING for a missing, non-executable or directory gcloud', () => {
      const notExecutable = join(tempDir('binauthz-locate-'), 'gcloud')
      writeFileSync(notExecutable, '#!/bin/sh\n', {mode: 0o644})
      for (const env of [{PATH: '/nonexistent'}, {BINAUTHZ_GCLOUD: '/nonexistent/gcloud'}, {BINAUTHZ_GCLOUD: notExecutable}, {BINAUTHZ_GCLOUD: fake.dir}]) {
        const error = thrownBy(() => locateGcloud(env))
        expect(error, JSON.stringify(env)).to.be.instanceOf(UserError)
        expect((error as UserError).code).to.equal('GCLOUD_MISSING')
      }

      rmSync(dirname(notExecutable), {force: true, recursive: true})
    })
  })

  describe('captureGcloud', () => {
    it('captures stdout, stderr and the exit code, with the arguments passed verbatim', async () => {
      fake.configure({exitCode: 3, stderr: 'ERROR: (gcloud) nope\n', stdout: 'out\n'})
      const args = ['config', 'get-value', 'project', '--format=value(x)', 'a b', '$HOME', ';rm -rf /']
      const result = await captureGcloud({args, env: fake.env()})
      expect(result).to.deep.equal({exitCode: 3, stderr: 'ERROR: (gcloud) nope\n', stdout: 'out\n'})
      expect(await fake.calls()).to.deep.equal([args])
    })

    it('prints the configured token for auth print-access-token', async () => {
      const result = await captureGcloud({args: ['auth', 'print-access-token'], env: fake.env()})
      expect(result.exitCode).to.equal(0)
      expect(result.stdout.trim()).to.equal(FAKE_TOKEN)
    })

    it('passes the given environment, not ours', async () => {
      await captureGcloud({args: ['info'], env: fake.env({CLOUDSDK_CONFIG: '/tmp/cfg', CLOUDSDK_CORE_PROJECT: 'p1'})})
      const [record] = await fake.records()
      expect(record?.env).to.include({CLOUDSDK_CONFIG: '/tmp/cfg', CLOUDSDK_CORE_PROJECT: 'p1'})
    })

    it('does not mutate the caller arguments or environment', async () => {
      const args = Object.freeze(['run', 'deploy', 'svc']) as readonly string[]
      const env = Object.freeze(fake.env())
      const copy = [...args]
      await captureGcloud({args, env})
      expect(args).to.deep.equal(copy)
    })

    it('uses BINAUTHZ_GCLOUD when set', async () => {
      const result = await captureGcloud({args: ['version'], env: {BINAUTHZ_GCLOUD: fake.bin, PATH: '/nonexistent'}})
      expect(result.exitCode).to.equal(0)
      expect(await fake.calls()).to.deep.equal([['version']])
    })

    it('throws GCLOUD_MISSING with an install hint when gcloud is not on PATH', async () => {
      const empty = tempDir('no-gcloud')
      try {
        const error = await rejectionOf(captureGcloud({args: ['version'], env: {PATH: empty}}))
        expect(error).to.be.instanceOf(UserError)
        expect((error as UserError).code).to.equal('GCLOUD_MISSING')
        expect((error as UserError).suggestions.join('\n')).to.include('https://cloud.google.com/sdk/docs/install')
      } finally {
        rmSync(empty, {force: true, recursive: true})
      }
    })

    it('throws GCLOUD_MISSING naming BINAUTHZ_GCLOUD when it points nowhere', async () => {
      const error = await rejectionOf(captureGcloud({args: ['version'], env: {BINAUTHZ_GCLOUD: '/nonexistent/gcloud'}}))
      expect((error as UserError).code).to.equal('GCLOUD_MISSING')
      expect((error as UserError).message).to.include('BINAUTHZ_GCLOUD')
    })

    it('throws GCLOUD_MISSING when the file is not executable', async () => {
      const dir = tempDir('noexec-gcloud')
      try {
        writeFileSync(join(dir, 'gcloud'), '#!/bin/sh\nexit 0\n', {mode: 0o644})
        const error = await rejectionOf(captureGcloud({args: ['version'], env: {BINAUTHZ_GCLOUD: join(dir, 'gcloud')}}))
        expect((error as UserError).code).to.equal('GCLOUD_MISSING')
      } finally {
        rmSync(dir, {force: true, recursive: true})
      }
    })

    it('answers per-argv responses', async () => {
      fake.configure({
        exitCode: 9,
        responses: [
          {args: ['functions', 'describe'], stdout: '{"environment":"GEN_2"}'},
          {exitCode: 2, includes: ['--no-gen2'], stderr: 'bad'},
        ],
      })
      const env = fake.env()
      expect((await captureGcloud({args: ['functions', 'describe', 'f'], env})).stdout).to.equal('{"environment":"GEN_2"}')
      expect(await captureGcloud({args: ['functions', 'deploy', 'f', '--no-gen2'], env})).to.deep.equal({exitCode: 2, stderr: 'bad', stdout: ''})
      expect((await captureGcloud({args: ['other'], env})).exitCode).to.equal(9)
    })
  })

  /** Runs runGcloud in a separate Node process so its real stdout/stderr can be inspected. */
  function streamedBy(stdoutTarget: 'inherit' | 'stderr', linePrefix?: string): {result: unknown; stderr: string; stdout: string;} {
    const runner = join(dirname(fileURLToPath(import.meta.url)), '..', '..', 'src', 'gcloud', 'runner.js')
    const prefix = linePrefix === undefined ? '' : `, linePrefix: ${JSON.stringify(linePrefix)}`
    const script = `import(${JSON.stringify(runner)}).then(async (r) => {
      const result = await r.runGcloud({args: ['run', 'deploy'], stdin: 'ignore', stdout: ${JSON.stringify(stdoutTarget)}${prefix}})
      process.stdout.write('RESULT' + JSON.stringify(result))
    })`
    const child = spawnSync(process.execPath, ['-e', script], {encoding: 'utf8', env: fake.env(), timeout: 20_000})
    const [stdout, result] = child.stdout.split('RESULT')
    return {result: JSON.parse(result ?? 'null'), stderr: child.stderr, stdout: stdout ?? ''}
  }

  describe('runGcloud', () => {
    it('passes the exit code through and keeps the stderr', async () => {
      fake.configure({exitCode: 7, stderr: 'ERROR: (gcloud.run.deploy) denied by Binary Authorization\n'})
      const result = await runGcloud({
        args: ['run', 'deploy', 'svc'], env: fake.env(), stderr: 'ignore', stdin: 'ignore',
      })
      expect(result.exitCode).to.equal(7)
      expect(result.interrupted).to.equal(false)
      expect(result.stderrTail).to.equal('ERROR: (gcloud.run.deploy) denied by Binary Authorization\n')
      expect(await fake.calls()).to.deep.equal([['run', 'deploy', 'svc']])
    })

    it('returns 0 on success, in our working directory', async () => {
      const result = await runGcloud({
        args: ['run', 'deploy'], env: fake.env(), stderr: 'ignore', stdin: 'ignore', stdout: 'stderr',
      })
      expect(result).to.deep.equal({exitCode: 0, interrupted: false, stderrTail: ''})
      const [record] = await fake.records()
      expect(record?.cwd).to.equal(process.cwd())
    })

    it('keeps only the last 64 KiB of a long stderr', async () => {
      const line = 'x'.repeat(99) + '\n'
      const long = line.repeat(1500) + 'ERROR: the last line\n'
      fake.configure({exitCode: 1, stderr: long})
      const result = await runGcloud({
        args: ['run', 'deploy'], env: fake.env(), stderr: 'ignore', stdin: 'ignore',
      })
      expect(result.stderrTail.length).to.be.at.most(STDERR_TAIL_BYTES)
      expect(result.stderrTail.length).to.be.greaterThan(STDERR_TAIL_BYTES - 1024)
      expect(result.stderrTail.endsWith('ERROR: the last line\n')).to.equal(true)
      expect(result.stderrTail.startsWith('x')).to.equal(true)
    })

    it('does not mutate the caller arguments', async () => {
      const args = ['run', 'deploy', '--source=.']
      await runGcloud({
        args, env: fake.env(), stderr: 'ignore', stdin: 'ignore',
      })
      expect(args).to.deep.equal(['run', 'deploy', '--source=.'])
    })

    it('throws GCLOUD_MISSING when gcloud is not on PATH', async () => {
      const empty = tempDir('no-gcloud')
      try {
        const error = await rejectionOf(runGcloud({
          args: ['run', 'deploy'], env: {PATH: empty}, stderr: 'ignore', stdin: 'ignore',
        }))
        expect((error as UserError).code).to.equal('GCLOUD_MISSING')
      } finally {
        rmSync(empty, {force: true, recursive: true})
      }
    })

    it('streams gcloud stdout to our stdout and stderr to our stderr', () => {
      fake.configure({exitCode: 4, stderr: 'ERROR: denied\n', stdout: 'deploying...\n'})
      const {result, stderr, stdout} = streamedBy('inherit')
      expect(stdout).to.equal('deploying...\n')
      expect(stderr).to.equal('ERROR: denied\n')
      expect(result).to.deep.equal({exitCode: 4, interrupted: false, stderrTail: 'ERROR: denied\n'})
    })

    it('several regions: every whole line carries the region prefix (a last line without newline too), stderr still kept', () => {
      fake.configure({exitCode: 1, stderr: 'Building Container...done\nERROR: (gcloud.run.deploy) denied', stdout: 'Service URL: x\n'})
      const {result, stderr, stdout} = streamedBy('inherit', '[europe-west1] ')
      expect(stdout).to.equal('[europe-west1] Service URL: x\n')
      expect(stderr).to.equal('[europe-west1] Building Container...done\n[europe-west1] ERROR: (gcloud.run.deploy) denied\n')
      expect(result).to.deep.include({exitCode: 1, stderrTail: 'Building Container...done\nERROR: (gcloud.run.deploy) denied'})
    })

    it('can send gcloud stdout to our stderr (keeping stdout clean for --json)', () => {
      fake.configure({stderr: 'progress\n', stdout: 'deploying...\n'})
      const {stderr, stdout} = streamedBy('stderr')
      expect(stdout).to.equal('')
      expect(stderr).to.include('deploying...\n').and.include('progress\n')
    })

    it('installs no process signal handlers: the command\'s one handler owns Ctrl-C', async () => {
      const before = [process.listenerCount('SIGINT'), process.listenerCount('SIGTERM')]
      const running = runGcloud({
        args: ['run', 'deploy'], env: fake.env(), stderr: 'ignore', stdin: 'ignore',
      })
      expect([process.listenerCount('SIGINT'), process.listenerCount('SIGTERM')]).to.deep.equal(before)
      expect((await running).exitCode).to.equal(0)
    })
  })

  describe('signal: the AbortSignal of the run', () => {
    it('runGcloud: an abort stops gcloud with SIGINT (as a Ctrl-C would), reported as interrupted with 130', async () => {
      fake.configure({sleepMs: 20_000})
      const controller = new AbortController()
      const running = runGcloud({
        args: ['run', 'deploy'], env: fake.env(), signal: controller.signal, stderr: 'ignore', stdin: 'ignore',
      })
      await fake.waitForCalls(1)
      controller.abort()
      const result = await running
      expect(result.interrupted).to.equal(true)
      expect(result.exitCode).to.equal(130)
      expect(await fake.signals()).to.deep.equal(['SIGINT'])
    })

    it('runGcloud: an abort for SIGTERM passes SIGTERM on, and gcloud\'s own exit (143) is reported', async () => {
      fake.configure({sleepMs: 20_000})
      const controller = new AbortController()
      const running = runGcloud({
        args: ['run', 'deploy'], env: fake.env(), signal: controller.signal, stderr: 'ignore', stdin: 'ignore',
      })
      await fake.waitForCalls(1) // recorded only once its signal handlers are in place
      controller.abort(new InterruptedError('Interrupted (SIGTERM).', {signal: 'SIGTERM'}))
      const result = await running
      expect(result).to.include({exitCode: 143, interrupted: true})
      expect(await fake.signals()).to.deep.equal(['SIGTERM'])
    })

    it('runGcloud: already aborted, gcloud is never started', async () => {
      const result = await runGcloud({
        args: ['run', 'deploy'], env: fake.env(), signal: AbortSignal.abort(), stderr: 'ignore', stdin: 'ignore',
      })
      expect(result).to.deep.equal({exitCode: 130, interrupted: true, stderrTail: ''})
      expect(await fake.calls()).to.deep.equal([])
    })

    it('runGcloud: a signal that never aborts changes nothing', async () => {
      fake.configure({exitCode: 4, stderr: 'ERROR: denied\n'})
      const result = await runGcloud({
        args: ['run', 'deploy'], env: fake.env(), signal: new AbortController().signal, stderr: 'ignore', stdin: 'ignore',
      })
      expect(result).to.deep.equal({exitCode: 4, interrupted: false, stderrTail: 'ERROR: denied\n'})
      expect(await fake.signals()).to.deep.equal([])
    })

    it('captureGcloud: an abort stops gcloud and rejects with INTERRUPTED (exit 130)', async () => {
      fake.configure({sleepMs: 20_000})
      const controller = new AbortController()
      const capturing = captureGcloud({args: ['config', 'list'], env: fake.env(), signal: controller.signal})
      await fake.waitForCalls(1)
      controller.abort()
      const error = await rejectionOf(capturing)
      expect(error).to.be.instanceOf(InterruptedError)
      expect((error as InterruptedError).code).to.equal('INTERRUPTED')
      expect((error as InterruptedError).exitCode).to.equal(130)
      expect(await fake.signals()).to.deep.equal(['SIGTERM'])
    })

    it('captureGcloud: already aborted, gcloud is never started', async () => {
      const error = await rejectionOf(captureGcloud({args: ['config', 'list'], env: fake.env(), signal: AbortSignal.abort()}))
      expect((error as InterruptedError).code).to.equal('INTERRUPTED')
      expect(await fake.calls()).to.deep.equal([])
    })
  })
})
