// `binauthz setup` driven through a real pseudo-terminal: the BUILT bin/run.js runs under python3's pty module
// (a small driver embedded below: it waits for each expected screen text, then types the keystrokes), against
// the local Binary Authorization stand-in. Skipped, with the reason in its title, when python3 is missing.

import {expect} from 'chai'
import {execFile, spawnSync} from 'node:child_process'
import {existsSync, readFileSync} from 'node:fs'
import {join} from 'node:path'

import {
  FN_PATTERN, type Harness, PROJECT, REGION, ROOT, RUN_PATTERN, startHarness,
} from '../app/harness.js'

const DRIVER = String.raw`
import json, os, pty, re, select, signal, sys, time
spec = json.loads(sys.stdin.read())
ANSI = re.compile(r'\x1b\[[0-?]*[ -/]*[@-~]|\x1b\][^\x07\x1b]*(\x07|\x1b\\)|\x1b[()][A-Za-z0-9]|\x1b[=>78]')
pid, fd = pty.fork()
if pid == 0:
    os.execve(spec['argv'][0], spec['argv'], spec['env'])
buf = ''
cursor = 0
def read(timeout):
    r, _, _ = select.select([fd], [], [], max(0, timeout))
    if not r:
        return None
    try:
        return os.read(fd, 65536)
    except OSError:
        return b''
failed = None
for i, step in enumerate(spec['steps']):
    deadline = time.time() + spec.get('stepTimeout', 20)
    pat = re.compile(step['expect'])
    while True:
        m = pat.search(ANSI.sub('', buf), cursor)
        if m:
            cursor = m.end()
            break
        if time.time() >= deadline:
            failed = i
            break
        data = read(deadline - time.time())
        if data is None:
            continue
        if data == b'':
            failed = i
            break
        buf += data.decode('utf-8', 'replace')
    if failed is not None:
        break
    if 'send' in step:
        time.sleep(step.get('delay', 0.15))
        os.write(fd, step['send'].encode())
deadline = time.time() + spec.get('exitTimeout', 30)
while time.time() < deadline:
    data = read(deadline - time.time())
    if data is None or data == b'':
        break
    buf += data.decode('utf-8', 'replace')
done, status = os.waitpid(pid, os.WNOHANG)
if done == 0:
    os.kill(pid, signal.SIGKILL)
    done, status = os.waitpid(pid, 0)
code = os.WEXITSTATUS(status) if os.WIFEXITED(status) else 128 + os.WTERMSIG(status)
print(json.dumps({'failedStep': failed, 'exitCode': code, 'screen': ANSI.sub('', buf)}))
`

interface Step {
  expect: string
  send?: string
}

interface PtyResult {
  exitCode: number
  failedStep: null | number
  screen: string
}

function python3Available(): boolean {
  const probe = spawnSync('python3', ['-c', 'import pty, select, json'], {stdio: 'ignore', timeout: 10_000})
  return probe.status === 0
}

const RUN_JS = join(ROOT, 'bin', 'run.js')
const available = python3Available()
const title = available
  ? 'binauthz setup through a pseudo-terminal'
  : 'binauthz setup through a pseudo-terminal (SKIPPED: python3 with the pty module is not installed)'

/** Runs the built CLI under a pty (asynchronously, so the stand-in in this process keeps answering). */
function drive(args: string[], env: NodeJS.ProcessEnv, steps: Step[]): Promise<PtyResult> {
  const childEnv: Record<string, string> = {}
  for (const [k, v] of Object.entries(env)) if (v !== undefined && k !== 'CI') childEnv[k] = v
  childEnv.TERM = 'xterm-256color'
  const spec = JSON.stringify({
    argv: [process.execPath, RUN_JS, ...args], env: childEnv, exitTimeout: 30, steps, stepTimeout: 20,
  })
  return new Promise((resolve, reject) => {
    const child = execFile('python3', ['-c', DRIVER], {maxBuffer: 16 * 1024 * 1024, timeout: 120_000}, (error, stdout, stderr) => {
      if (error) {
        reject(new Error(`pty driver failed: ${error.message}\n${stderr}`))
        return
      }

      resolve(JSON.parse(stdout) as PtyResult)
    })
    child.stdin?.end(spec)
  })
}

describe(title, function () {
  this.timeout(120_000)
  let h: Harness

  before(function () {
    if (!available) this.skip()
    if (!existsSync(join(ROOT, 'dist', 'src', 'commands', 'setup.js'))) throw new Error('build first: npx tsc -p tsconfig.json')
  })

  afterEach(async () => {
    await h?.close()
  })

  it('asks, shows the diff, writes the confirmed entries and saves the defaults', async () => {
    h = await startHarness()
    const result = await drive(['setup'], {...process.env, ...h.env}, [
      {expect: 'Google Cloud project ID', send: `${PROJECT}\r`},
      {expect: String.raw`How do you deploy\?`, send: '\u001B[B'}, // down: "Cloud Run functions"
      {expect: 'Cloud Run functions', send: '\r'},
      {expect: String.raw`Region\(s\)`, send: `${REGION}\r`},
      {expect: 'Custom build repository', send: '\r'},
      {expect: String.raw`Write this change to the Binary Authorization policy of project [\w.:-]+\?`, send: 'y\r'},
      {expect: 'Saved defaults to'},
    ])
    expect(result.failedStep, result.screen).to.equal(null)
    expect(result.exitCode, result.screen).to.equal(0)
    expect(result.screen).to.contain('✔ gcloud 528.0.0')
    expect(result.screen).to.contain('Binary Authorization is enforced')
    expect(result.screen).to.contain(`✘ Cloud Run functions (gcloud run deploy --source) in ${REGION}: ${RUN_PATTERN} is missing`)
    expect(result.screen).to.contain(`+ - namePattern: ${RUN_PATTERN}`)

    const saved = JSON.parse(readFileSync(join(h.configDir, 'defaults.json'), 'utf8')) as Record<string, unknown>
    expect(saved).to.deep.include({kind: 'run', project: PROJECT, regions: [REGION]})
    const patterns = h.server.policy(PROJECT).admissionWhitelistPatterns?.map(p => p.namePattern)
    expect(patterns).to.include(RUN_PATTERN)
    expect(patterns).to.not.include(FN_PATTERN)
    expect(h.server.writes()).to.equal(1)
  })

  it('answering "no" at the diff leaves the policy alone', async () => {
    h = await startHarness()
    h.writeGcloudConfig({project: PROJECT, runRegion: REGION})
    const result = await drive(['setup', '--kind', 'run', '--no-save'], {...process.env, ...h.env}, [
      {expect: 'Google Cloud project ID', send: '\r'}, // accept the default from gcloud config
      {expect: String.raw`Region\(s\)`, send: '\r'},
      {expect: 'Custom build repository', send: '\r'},
      {expect: String.raw`Write this change to the Binary Authorization policy of project [\w.:-]+\?`, send: 'n\r'},
      {expect: 'binauthz policy allow'},
    ])
    expect(result.failedStep, result.screen).to.equal(null)
    // Not ready (the entry is still missing): exit 6, SETUP_NOT_READY.
    expect(result.exitCode, result.screen).to.equal(6)
    expect(result.screen).to.contain('Not ready yet.')
    expect(h.server.writes()).to.equal(0)
    expect(existsSync(join(h.configDir, 'defaults.json'))).to.equal(false)
  })

  it('Ctrl-C at a prompt exits 130 and writes nothing', async () => {
    h = await startHarness()
    const result = await drive(['setup'], {...process.env, ...h.env}, [
      {expect: 'Google Cloud project ID', send: `${PROJECT}\r`},
      {expect: String.raw`How do you deploy\?`, send: '\r'},
      {expect: String.raw`Region\(s\)`, send: '\u0003'},
    ])
    expect(result.failedStep, result.screen).to.equal(null)
    expect(result.exitCode, result.screen).to.equal(130)
    expect(h.server.writes()).to.equal(0)
    expect(h.server.requests('updatePolicy')).to.have.length(0)
    expect(existsSync(join(h.configDir, 'defaults.json'))).to.equal(false)
    expect(existsSync(h.dataDir)).to.equal(false)
  })
})
