// Whether gcloud can start, decided without starting it (src/gcloud/launcher.ts, through locateGcloud).
import {expect} from 'chai'
import {
  chmodSync, mkdirSync, readFileSync, realpathSync, rmSync, symlinkSync, writeFileSync,
} from 'node:fs'
import {join} from 'node:path'

import {UserError} from '../../src/errors.js'
import {shebangOf} from '../../src/gcloud/launcher.js'
import {locateGcloud} from '../../src/gcloud/runner.js'
import {thrownBy} from '../helpers/assert.js'
import {installedGcloud} from '../helpers/installed-gcloud.js'
import {tempDir} from '../helpers/tmp.js'

/** The installed gcloud 528 launcher's text (bin/gcloud), or a stand-in with its tell-tale lines when none is installed. */
function launcherText(): string {
  const installed = installedGcloud()
  return installed === undefined
    ? '#!/bin/sh\n[ -z "$CLOUDSDK_PYTHON" ]\nexec "$CLOUDSDK_PYTHON" "$CLOUDSDK_ROOT_DIR/lib/gcloud.py" "$@"\n'
    : readFileSync(realpathSync(installed), 'utf8')
}

function script(path: string, text: string): string {
  writeFileSync(path, text)
  chmodSync(path, 0o755)
  return path
}

/** A Cloud SDK layout (bin/gcloud = the real launcher's text, lib/gcloud.py) without a bundled Python, under `dir`. */
function sdkIn(dir: string): string {
  const root = join(dir, 'google-cloud-sdk')
  mkdirSync(join(root, 'bin'), {recursive: true})
  mkdirSync(join(root, 'lib'), {recursive: true})
  writeFileSync(join(root, 'lib', 'gcloud.py'), '')
  script(join(root, 'bin', 'gcloud'), launcherText())
  return root
}

function cannotStart(env: NodeJS.ProcessEnv): UserError {
  const error = thrownBy(() => locateGcloud(env)) as UserError
  expect(error).to.be.instanceOf(UserError)
  expect(error.code).to.equal('GCLOUD_CANNOT_START')
  expect(error.exitCode).to.equal(2)
  return error
}

describe('gcloud/launcher: gcloud present AND startable', () => {
  let dir: string

  beforeEach(() => {
    dir = tempDir('launcher')
  })

  afterEach(() => rmSync(dir, {force: true, recursive: true}))

  it('reads a #! line as the kernel does', () => {
    expect(shebangOf('#!/bin/sh\necho')).to.deep.equal({interpreter: '/bin/sh'})
    expect(shebangOf('#! /usr/bin/env  python3 \n')).to.deep.equal({argument: 'python3', interpreter: '/usr/bin/env'})
    expect(shebangOf('\u007FELF')).to.equal(undefined)
  })

  it('an executable whose #! interpreter is missing is refused', () => {
    const bin = script(join(dir, 'gcloud'), '#!/nonexistent/python3\nprint(1)\n')
    const error = cannotStart({BINAUTHZ_GCLOUD: bin, PATH: dir})
    expect(error.message).to.include('/nonexistent/python3')
  })

  it('#!/usr/bin/env NAME with NAME not on PATH is refused; on PATH it is fine', () => {
    script(join(dir, 'gcloud'), '#!/usr/bin/env binauthz-no-such-python\n')
    expect(cannotStart({PATH: dir}).message).to.include('binauthz-no-such-python')
    script(join(dir, 'binauthz-no-such-python'), '#!/bin/sh\n')
    expect(locateGcloud({PATH: dir})).to.equal(join(dir, 'gcloud'))
  })

  describe('the Cloud SDK launcher (bin/gcloud of gcloud 528)', () => {
    it('CLOUDSDK_PYTHON naming nothing is refused (gcloud would exec it and fail)', () => {
      const root = sdkIn(dir)
      const error = cannotStart({BINAUTHZ_GCLOUD: join(root, 'bin', 'gcloud'), CLOUDSDK_PYTHON: '/nonexistent/python3', PATH: '/usr/bin:/bin'})
      expect(error.message).to.include('CLOUDSDK_PYTHON')
      expect(error.suggestions.join('\n')).to.include('CLOUDSDK_PYTHON')
    })

    it('no bundled Python and no python on PATH is refused; a python3 on PATH is enough', () => {
      const root = sdkIn(dir)
      const bin = join(dir, 'bin')
      mkdirSync(bin)
      symlinkSync(join(root, 'bin', 'gcloud'), join(bin, 'gcloud'))
      // /bin/sh must be reachable for the #! line; PATH holds only our bin.
      const error = cannotStart({PATH: bin})
      expect(error.message).to.include('python3')
      script(join(bin, 'python3'), '#!/bin/sh\n')
      expect(locateGcloud({PATH: bin})).to.equal(join(bin, 'gcloud'))
    })

    it('a launcher without lib/gcloud.py beside it is refused', () => {
      const root = sdkIn(dir)
      rmSync(join(root, 'lib', 'gcloud.py'))
      expect(cannotStart({BINAUTHZ_GCLOUD: join(root, 'bin', 'gcloud'), PATH: '/usr/bin:/bin'}).message).to.include('gcloud.py')
    })
  })

  it('the installed gcloud 528 starts; with CLOUDSDK_PYTHON pointing nowhere it would not', function () {
    const executable = installedGcloud()
    if (executable === undefined) this.skip()
    expect(locateGcloud({BINAUTHZ_GCLOUD: executable, PATH: process.env.PATH})).to.be.a('string')
    cannotStart({BINAUTHZ_GCLOUD: executable, CLOUDSDK_PYTHON: join(dir, 'missing-python'), PATH: process.env.PATH})
  })
})
