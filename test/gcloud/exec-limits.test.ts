import {expect} from 'chai'

import {execLimitProblem} from '../../src/gcloud/argv.js'

describe('gcloud/argv execLimitProblem (exec(2) limits, checked before any write)', () => {
  const env = {HOME: '/home/u', PATH: '/usr/bin'}

  it('an ordinary command fits everywhere', () => {
    for (const platform of ['linux', 'darwin', 'win32'] as const) expect(execLimitProblem(['gcloud', 'run', 'deploy', 'svc'], env, platform)).to.equal(undefined)
  })

  it('Linux: one argument of 128 KiB (MAX_ARG_STRLEN, its NUL included) is refused; one byte less fits', () => {
    expect(execLimitProblem(['gcloud', `--description=${'x'.repeat(131_071 - 14)}`], env, 'linux')).to.equal(undefined)
    expect(execLimitProblem(['gcloud', `--description=${'x'.repeat(131_072 - 14)}`], env, 'linux')).to.include('MAX_ARG_STRLEN')
    expect(execLimitProblem(['gcloud'], {BIG: 'y'.repeat(200_000)}, 'linux')).to.include('environment variable "BIG"')
  })

  it('Linux: many arguments beyond ARG_MAX less the launcher headroom are refused (bytes, not characters)', () => {
    const many = Array.from({length: 40}, () => `--set-env-vars=A=${'é'.repeat(30_000)}`) // 60 KB each in UTF-8
    expect(execLimitProblem(['gcloud', ...many], env, 'linux')).to.include('ARG_MAX')
    expect(execLimitProblem(['gcloud', ...many.slice(0, 20)], env, 'linux')).to.equal(undefined)
  })

  it('macOS: 1 MiB in all; Windows: 32767 characters of command line', () => {
    expect(execLimitProblem(['gcloud', 'x'.repeat(1024 * 1024)], env, 'darwin')).to.include('ARG_MAX')
    expect(execLimitProblem(['gcloud', 'x'.repeat(40_000)], env, 'win32')).to.include('32767')
  })
})
