// Shell completion: `binauthz completion SHELL` prints the script the build generated from oclif.manifest.json
// (scripts/completion.js). The bash script is sourced in a real bash and driven the way bash drives it
// (COMP_WORDS/COMP_CWORD, then the function `complete -p` names); fish's own `complete -C` answers for a command
// line; zsh is syntax-checked (zsh -n). zsh and fish tests are pending where the shell is not installed.
import {expect} from 'chai'
import {spawnSync} from 'node:child_process'
import {readFileSync, rmSync, writeFileSync} from 'node:fs'
import {join} from 'node:path'
import {fileURLToPath} from 'node:url'

import {BIN, runCli} from '../helpers/cli-process.js'
import {tempDir} from '../helpers/tmp.js'

const ROOT = fileURLToPath(new URL('../../..', import.meta.url))
const MANIFEST = JSON.parse(readFileSync(join(ROOT, 'oclif.manifest.json'), 'utf8')) as {
  commands: Record<string, {flags: Record<string, {hidden?: boolean; name: string}>; hidden?: boolean}>
}
// bin/run.js keeps its code caches under XDG_CACHE_HOME (else HOME/.cache): a scratch one, not the checkout's .cache.
const cacheHome = tempDir('binauthz-completion-cache-')
const env = {
  HOME: ROOT, NO_COLOR: '1', PATH: process.env.PATH ?? '', XDG_CACHE_HOME: cacheHome,
}
const has = (shell: string): boolean => spawnSync(shell, ['--version'], {stdio: 'ignore'}).status === 0

/** The bash script as `binauthz completion bash` printed it (the first test that needs it asks the CLI). */
let bashFile = ''

/** The words bash would offer for the command line `words` (the last one is the word being completed). */
function bashCompletes(...words: string[]): string[] {
  const program = [
    'source "$SCRIPT" || exit 9',
    'COMP_WORDS=("$@"); COMP_CWORD=$(($# - 1))',
    String.raw`fn=$(complete -p binauthz | sed -E 's/.* -F ([^ ]+) .*/\1/')`,
    '"$fn" && declare -p COMPREPLY',
  ].join('\n')
  const run = spawnSync('bash', ['-c', program, 'bash', 'binauthz', ...words], {encoding: 'utf8', env: {...env, SCRIPT: bashFile}})
  expect(run.status, run.stderr).to.equal(0)
  // declare -a COMPREPLY=([0]="deploy" [1]="run")
  return [...run.stdout.matchAll(/\[\d+]="([^"]*)"/g)].map(m => m[1] ?? '').sort()
}

const visible = Object.entries(MANIFEST.commands).filter(([, command]) => !command.hidden)

describe('binauthz completion SHELL', function () {
  this.timeout(60_000)

  after(() => rmSync(cacheHome, {force: true, recursive: true}))

  for (const shell of ['bash', 'zsh', 'fish']) {
    it(`${shell}: prints the script the build generated, and --json says where it is and how to load it`, async () => {
      const file = join(ROOT, 'dist', 'bundle', 'completion', `binauthz.${shell}`)
      const printed = await runCli(['completion', shell], {env})
      expect(printed.code, printed.stderr).to.equal(0)
      expect(printed.stdout).to.equal(readFileSync(file, 'utf8'))
      const json = await runCli(['completion', shell, '--json'], {env})
      const result = JSON.parse(json.stdout) as {file: string; load: string; script: string; shell: string}
      expect(result).to.include({file, shell})
      expect(result.script).to.equal(printed.stdout)
      expect(result.script).to.include(result.load)
    })
  }

  it('another shell: usage error (exit 2) naming the choices', async () => {
    const run = await runCli(['completion', 'tcsh'], {env})
    expect(run.code).to.equal(2)
    expect(run.stderr).to.include('bash, zsh, fish')
  })

  describe('bash, sourced and driven through COMP_WORDS/COMP_CWORD', () => {
    let dir = ''

    before(async () => {
      dir = tempDir('binauthz-completion-')
      const printed = await runCli(['completion', 'bash'], {env})
      expect(printed.code, printed.stderr).to.equal(0)
      bashFile = join(dir, 'binauthz.bash')
      writeFileSync(bashFile, printed.stdout)
    })

    after(() => rmSync(dir, {force: true, recursive: true}))

    it('registers one function for binauthz, falling back to file names', () => {
      const run = spawnSync('bash', ['-c', 'source <("$NODE" "$BIN" completion bash) && complete -p binauthz'], {encoding: 'utf8', env: {...env, BIN, NODE: process.execPath}})
      expect(run.stdout.trim()).to.equal('complete -o default -F _binauthz binauthz')
    })

    it('completes topics and commands, never the hidden ones', () => {
      expect(bashCompletes('')).to.deep.equal(['completion', 'deploy', 'help', 'policy', 'sandbox', 'setup', 'version'])
      expect(bashCompletes('de')).to.deep.equal(['deploy'])
      expect(bashCompletes('deploy', '')).to.deep.equal(['function', 'job', 'run', 'worker-pool'])
      expect(bashCompletes('sandbox', 's')).to.deep.equal(['start', 'status', 'stop'])
      expect(bashCompletes('policy', 'st')).to.deep.equal(['status'])
    })

    it('every command\'s flags are the manifest\'s (and --help); the top level has --help and --version', () => {
      for (const [id, command] of visible) {
        const flags = Object.values(command.flags).filter(flag => !flag.hidden).map(flag => `--${flag.name}`)
        expect(bashCompletes(...id.split(':'), '--'), id).to.deep.equal([...flags, '--help'].sort())
      }

      expect(bashCompletes('--')).to.deep.equal(['--help', '--version'])
      expect(bashCompletes('deploy', 'run', 'svc', '--dr')).to.deep.equal(['--dry-run'])
      expect(bashCompletes('policy', 'status', '--project', 'p', '--r')).to.deep.equal(['--region'])
    })

    it('completes fixed values (also after --flag=) and arguments; nothing after the gcloud passthrough --', () => {
      expect(bashCompletes('policy', 'allow', '--kind', '')).to.deep.equal(['all', 'function', 'job', 'run', 'worker-pool'])
      expect(bashCompletes('policy', 'allow', '--kind', '=', 'f')).to.deep.equal(['function'])
      expect(bashCompletes('policy', 'allow', '--print', '')).to.deep.equal(['terraform'])
      expect(bashCompletes('completion', '')).to.deep.equal(['bash', 'fish', 'zsh'])
      expect(bashCompletes('policy', 'status', '--project', '')).to.deep.equal([])
      expect(bashCompletes('deploy', 'run', 'svc', '--', '--so')).to.deep.equal([])
    })
  })

  it('fish: its own completer (complete -C) answers from the script', function () {
    if (!has('fish')) this.skip()
    const file = join(ROOT, 'dist', 'bundle', 'completion', 'binauthz.fish')
    const ask = (line: string): string[] => {
      const run = spawnSync('fish', ['--no-config', '-c', `source ${file}; complete -C ${JSON.stringify(line)}`], {encoding: 'utf8', env})
      expect(run.status, run.stderr).to.equal(0)
      return run.stdout.split('\n').filter(Boolean).map(line => line.split('\t')[0] ?? '').sort()
    }

    expect(ask('binauthz ')).to.deep.equal(['completion', 'deploy', 'help', 'policy', 'sandbox', 'setup', 'version'])
    expect(ask('binauthz deploy ')).to.deep.equal(['function', 'job', 'run', 'worker-pool'])
    expect(ask('binauthz policy allow --kind ')).to.deep.equal(['all', 'function', 'job', 'run', 'worker-pool'])
    expect(ask('binauthz sandbox env --u')).to.deep.equal(['--unset'])
  })

  it('zsh: the script parses (zsh -n)', function () {
    if (!has('zsh')) this.skip()
    const run = spawnSync('zsh', ['-n', join(ROOT, 'dist', 'bundle', 'completion', 'binauthz.zsh')], {encoding: 'utf8'})
    expect(run.status, run.stderr).to.equal(0)
  })
})
