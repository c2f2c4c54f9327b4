import {readFileSync} from 'node:fs'

// A fixed User-Agent for tests that build clients and readers directly (the CLI builds the real one from package.json).
export const TEST_USER_AGENT = 'binauthz-deploy/0.0.0-test node/v0.0.0'

/** What the built CLI sends: the name and version of package.json (as oclif reads it), and this Node's version. */
export function packageUserAgent(): string {
  const pkg = JSON.parse(readFileSync(new URL('../../../package.json', import.meta.url), 'utf8')) as {name: string; version: string}
  return `${pkg.name}/${pkg.version} node/${process.version}`
}
