// A pseudo-terminal driver for tests that check what a person at a terminal sees: the BUILT bin/run.js runs under
// python3's pty module (a small driver below: it waits for each expected screen text, then types the keystrokes; a
// step may also wait `delay` seconds first). Bounded: every step and the exit have a timeout, and the child is
// killed if it outlives them. python3 is on CI's machine; tests skip, saying why, where it is not.
import {execFile, spawnSync} from 'node:child_process'
import {join} from 'node:path'

import {ROOT} from '../app/harness.js'

const DRIVER = String.raw`
import json, os, pty, re, select, signal, sys, time
spec = json.loads(sys.stdin.read())
ANSI = re.compile(r'\x1b\[[0-?]*[ -/]*[@-~]|\x1b\][^\x07\x1b]*(\x07|\x1b\\)|\x1b[()][A-Za-z0-9]|\x1b[=>78]')
pid, fd = pty.fork()
if pid == 0:
    # A terminal of 40 rows x 120 columns, as a person's would be (a pty starts at 0 x 0, which renderers wrap at).
    import fcntl, struct, termios
    fcntl.ioctl(0, termios.TIOCSWINSZ, struct.pack('HHHH', 40, 120, 0, 0))
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

export interface Step {
  /** Seconds to wait after the text appeared, before typing (default 0.15). */
  delay?: number
  /** A regular expression (Python syntax) the screen, ANSI codes removed, must show next. */
  expect: string
  send?: string
}

export interface PtyResult {
  exitCode: number
  failedStep: null | number
  screen: string
}

export function python3Available(): boolean {
  const probe = spawnSync('python3', ['-c', 'import pty, select, json'], {stdio: 'ignore', timeout: 10_000})
  return probe.status === 0
}

const RUN_JS = join(ROOT, 'bin', 'run.js')

/** Runs the built CLI under a pty (asynchronously, so the stand-in in this process keeps answering). */
export function drive(args: string[], env: NodeJS.ProcessEnv, steps: Step[]): Promise<PtyResult> {
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

