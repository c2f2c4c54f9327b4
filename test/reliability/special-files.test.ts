// Issue 15 item 7: every file binauthz reads must be a regular file under a bound. A FIFO (which would block an
// ordinary open forever), a device (/dev/zero: endless), a directory or a huge file where gcloud's configuration,
// active_config, the saved defaults, the access-token file or a `policy restore --file` is expected ends the run
// with a clear error (exit 2) instead of a hang, through the built CLI. The bound is the test's generous timeout:
// no timed assertion, but a hang fails it.
import {expect} from 'chai'
import {execFileSync} from 'node:child_process'
import {
  mkdirSync, rmSync, truncateSync, writeFileSync,
} from 'node:fs'
import {join} from 'node:path'

import {
  CANARY_TOKEN, type CliKit, createCliKit, unwrap,
} from '../helpers/reliability-cli.js'
import {startTestSandbox, type TestSandbox} from '../helpers/sandbox.js'

const PROJECT = 'special-proj'

type Special = 'directory' | 'fifo' | 'huge file'

function plant(path: string, kind: Special): void {
  rmSync(path, {force: true, recursive: true})
  if (kind === 'fifo') execFileSync('mkfifo', [path])
  else if (kind === 'directory') mkdirSync(path, {recursive: true})
  else {
    writeFileSync(path, '')
    truncateSync(path, 64 * 1024 * 1024) // sparse: 64 MiB of nothing, beyond every bound
  }
}

describe('issue 15 item 7: special and huge files are refused, never read or waited on', function () {
  this.timeout(300_000)
  let server: TestSandbox
  let kit: CliKit
  let cases = 0

  before(async () => {
    server = await startTestSandbox({project: PROJECT, token: CANARY_TOKEN})
    kit = createCliKit({endpoint: server.url, timeoutMs: 30_000})
  })

  after(async () => {
    console.log(`      special-file cases through the built CLI: ${cases}, each ended with exit 2`)
    await server.stop()
    kit.cleanup()
  })

  const targets: {args: () => string[]; name: string; path: () => string; restore?: () => void}[] = [
    {
      args: () => ['policy', 'export', '--project', PROJECT, '--json'],
      name: "gcloud's configuration file (configurations/config_default)",
      path: () => join(kit.gcloudConfigDir, 'configurations', 'config_default'),
    },
    {
      args: () => ['policy', 'export', '--project', PROJECT, '--json'],
      name: "gcloud's active_config",
      path: () => join(kit.gcloudConfigDir, 'active_config'),
    },
    {
      args: () => ['policy', 'export', '--json'],
      name: 'the saved defaults (defaults.json)',
      path: () => join(kit.configDir, 'defaults.json'),
    },
    {
      args: () => ['policy', 'export', '--project', PROJECT, '--json'],
      name: 'the access-token file',
      path: () => kit.tokenFile,
      restore: () => writeFileSync(kit.tokenFile, `${CANARY_TOKEN}\n`),
    },
    {
      args: () => ['policy', 'restore', '--project', PROJECT, '--file', join(kit.dir, 'restore.json'), '--yes', '--json'],
      name: 'policy restore --file',
      path: () => join(kit.dir, 'restore.json'),
    },
  ]

  for (const target of targets) {
    for (const kind of ['fifo', 'directory', 'huge file'] as const) {
      it(`${target.name} as a ${kind}: a clear error, exit 2`, async () => {
        mkdirSync(join(kit.gcloudConfigDir, 'configurations'), {recursive: true})
        const path = target.path()
        plant(path, kind)
        try {
          const run = await kit.run(target.args())
          expect(run.timedOut, `${target.name} / ${kind}: hung`).to.equal(false)
          expect(run.code, `${target.name} / ${kind}: ${run.stdout}${run.stderr}`).to.equal(2)
          const text = unwrap(run.stdout + run.stderr)
          expect(text).to.include(path)
          expect(text).to.match(/FILE_NOT_REGULAR|FILE_TOO_LARGE|ACCESS_TOKEN_FILE_MISSING|BACKUP_INVALID/)
          cases++
        } finally {
          rmSync(path, {force: true, recursive: true})
          target.restore?.()
        }
      })
    }
  }

  it('a device (/dev/zero) as the restore file: a clear error, exit 2', async () => {
    const run = await kit.run(['policy', 'restore', '--project', PROJECT, '--file', '/dev/zero', '--yes', '--json'])
    expect(run.timedOut).to.equal(false)
    expect(run.code, run.stdout + run.stderr).to.equal(2)
    expect(unwrap(run.stdout)).to.include('FILE_NOT_REGULAR').and.include('character device')
    cases++
  })
})
