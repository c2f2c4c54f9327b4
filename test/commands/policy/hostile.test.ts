// In-process on purpose (@oclif/test runCommand): these check flags, results and exit codes command by command,
// with a stand-in and temp dirs wired through process.env. The built CLI on its default start path is driven by
// test/e2e (the installed package included) and test/reliability.
import {runCommand} from '@oclif/test'
import {expect} from 'chai'

import {
  exitOf, type Harness, PROJECT, REGION, ROOT, startHarness, TOKEN,
} from '../../app/harness.js'

// Hostile or malformed input to the policy commands and setup: each is refused with exit 2 before any request.
const CASES: [string, string[]][] = [
  ['region with a shell metacharacter', ['policy', 'status', '--project', PROJECT, '--region', 'us-central1;id']],
  ['region with a newline', ['policy', 'allow', '--project', PROJECT, '--region', 'us-central1\nx', '--yes']],
  ['region with path traversal', ['policy', 'revoke', '--project', PROJECT, '--region', '../../etc', '--yes']],
  ['region with a unicode look-alike', ['policy', 'allow', '--project', PROJECT, '--region', 'us-сentral1', '--yes']],
  ['over-long region', ['policy', 'status', '--project', PROJECT, '--region', `us-${'a'.repeat(300)}1`]],
  ['project with $(...)', ['policy', 'status', '--project', '$(id)', '--region', REGION]],
  ['project with path traversal', ['policy', 'export', '--project', '../other']],
  ['project with a unicode look-alike', ['policy', 'export', '--project', 'my-prоj']],
  ['over-long project', ['policy', 'export', '--project', `p${'a'.repeat(200)}`]],
  ['pattern with a scheme', ['policy', 'allow', '--project', PROJECT, '--pattern', 'https://us-docker.pkg.dev/p/r/**', '--yes']],
  ['pattern with whitespace', ['policy', 'allow', '--project', PROJECT, '--pattern', 'us-docker.pkg.dev/p/r/**\tx', '--yes']],
  ['pattern with a wildcard registry', ['policy', 'revoke', '--project', PROJECT, '--pattern', '*.pkg.dev/p/**', '--yes']],
  ['malformed docker repository', ['policy', 'allow', '--project', PROJECT, '--docker-repository', 'projects/p/../x', '--yes']],
  ['unknown --kind', ['policy', 'allow', '--project', PROJECT, '--region', REGION, '--kind', 'gke', '--yes']],
  ['unknown --print', ['policy', 'allow', '--project', PROJECT, '--region', REGION, '--print', 'hcl']],
  ['--print with --yes', ['policy', 'allow', '--project', PROJECT, '--region', REGION, '--print', 'terraform', '--yes']],
  ['restore --list with --yes', ['policy', 'restore', '--project', PROJECT, '--list', '--yes']],
  ['setup with a bad region', ['setup', '--project', PROJECT, '--region', 'mars;reboot', '--yes']],
  ['setup with a bad project', ['setup', '--project', 'Bad Project', '--region', REGION, '--yes']],
]

describe('policy commands and setup refuse hostile input', () => {
  let h: Harness

  before(async () => {
    h = await startHarness()
  })

  after(async () => h.close())

  for (const [name, args] of CASES) {
    it(`${name}: exit 2, no request, no write`, async () => {
      const before = h.server.requests().length
      const {error, stderr, stdout} = await runCommand(args, {root: ROOT})
      expect(exitOf(error), `${error?.message}`).to.equal(2)
      expect(h.server.requests().length).to.equal(before)
      expect(h.server.writes()).to.equal(0)
      expect(`${stdout}${stderr}${error?.message ?? ''}`).to.not.contain(TOKEN)
      if (args[0] === 'setup') expect(await h.gcloud.calls()).to.deep.equal([]) // refused before even checking gcloud
    })
  }

  it('never prints the access token, in human or --json output', async () => {
    const runs = [
      ['policy', 'status', '--project', PROJECT, '--region', REGION],
      ['policy', 'status', '--project', PROJECT, '--region', REGION, '--json'],
      ['policy', 'allow', '--project', PROJECT, '--region', REGION, '--yes', '--json'],
      ['policy', 'export', '--project', PROJECT],
      ['setup', '--project', PROJECT, '--region', REGION, '--yes'],
      ['setup', '--project', PROJECT, '--region', REGION, '--yes', '--json'],
    ]
    for (const args of runs) {
      const {error, stderr, stdout} = await runCommand(args, {root: ROOT})
      expect(error, args.join(' ')).to.equal(undefined)
      expect(`${stdout}${stderr}`).to.not.contain(TOKEN)
    }

    expect(h.server.requests().every(r => r.auth === 'sandbox-token')).to.equal(true)
    expect(JSON.stringify(h.server.requests())).not.to.contain(TOKEN)
  })
})
