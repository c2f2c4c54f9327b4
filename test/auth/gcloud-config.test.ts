import {expect} from 'chai'
import * as fc from 'fast-check'
import {
  mkdirSync, rmSync, symlinkSync, writeFileSync,
} from 'node:fs'
import {join} from 'node:path'

import {
  activeConfigName,
  gcloudConfigDir,
  MAX_CONFIG_FILE_BYTES,
  parseIni,
  propertyOrigin,
  readGcloudConfig,
  sdkRootOf,
} from '../../src/auth/gcloud-config.js'
import {UserError} from '../../src/errors.js'
import {thrownBy} from '../helpers/assert.js'
import {tempDir} from '../helpers/tmp.js'
import {writeGcloudDir} from './fixtures.js'

/** DIR/sdk: an SDK root (its `.install` marker, bin/gcloud) with `properties` as its installation properties. */
function sdk(dir: string, properties: string): string {
  const root = join(dir, 'sdk')
  mkdirSync(join(root, '.install'), {recursive: true})
  mkdirSync(join(root, 'bin'), {recursive: true})
  writeFileSync(join(root, 'bin', 'gcloud'), '#!/bin/sh\n', {mode: 0o755})
  writeFileSync(join(root, 'properties'), properties)
  return root
}

describe('gcloud config', () => {
  let dir: string

  beforeEach(() => {
    dir = tempDir('gcloud-config')
  })

  afterEach(() => {
    rmSync(dir, {force: true, recursive: true})
  })

  describe('gcloudConfigDir', () => {
    it('uses CLOUDSDK_CONFIG, else ~/.config/gcloud from HOME', () => {
      expect(gcloudConfigDir({CLOUDSDK_CONFIG: '/x/y', HOME: '/home/u'})).to.equal('/x/y')
      expect(gcloudConfigDir({HOME: '/home/u'})).to.equal('/home/u/.config/gcloud')
      expect(gcloudConfigDir({CLOUDSDK_CONFIG: '', HOME: '/home/u'})).to.equal('/home/u/.config/gcloud')
    })
  })

  describe('activeConfigName', () => {
    const cases: {env?: string; expected: string; file?: string; name: string;}[] = [
      {expected: 'default', name: 'no file, no env'},
      {expected: 'work', file: 'work', name: 'file'},
      {expected: 'work', file: 'work\n', name: 'file with trailing newline'},
      {
        env: 'prod', expected: 'prod', file: 'work', name: 'env wins over file',
      },
      {expected: 'default', file: '', name: 'empty file'},
      {expected: 'default', file: '../../etc/passwd', name: 'corrupt file is ignored'},
      {expected: 'default', file: 'Work', name: 'uppercase in file is ignored'},
      {expected: 'NONE', file: 'NONE', name: 'reserved NONE'},
    ]
    for (const c of cases) {
      it(c.name, () => {
        if (c.file !== undefined) writeFileSync(join(dir, 'active_config'), c.file)
        const env = {CLOUDSDK_CONFIG: dir, ...(c.env === undefined ? {} : {CLOUDSDK_ACTIVE_CONFIG_NAME: c.env})}
        expect(activeConfigName(env)).to.equal(c.expected)
      })
    }

    it('rejects an invalid CLOUDSDK_ACTIVE_CONFIG_NAME with a UserError', () => {
      const error = thrownBy(() => activeConfigName({CLOUDSDK_ACTIVE_CONFIG_NAME: '../evil', CLOUDSDK_CONFIG: dir}))
      expect(error).to.be.instanceOf(UserError)
      expect((error as UserError).code).to.equal('INVALID_GCLOUD_CONFIGURATION')
      expect((error as UserError).message).to.include('CLOUDSDK_ACTIVE_CONFIG_NAME')
    })
  })

  describe('readGcloudConfig', () => {
    it('reads every property we use from the active configuration', () => {
      writeGcloudDir(dir, {
        active: 'work',
        configs: {
          default: '[core]\nproject = wrong\n',
          work: [
            '[core]',
            'account = dev@example.com',
            'project = example.com:my-proj',
            'disable_usage_reporting = True',
            '',
            '[run]',
            'region = europe-west1',
            '',
            '[functions]',
            'region = us-east1',
            '',
            '[api_endpoint_overrides]',
            'binaryauthorization = http://127.0.0.1:8080/',
            '',
            '[auth]',
            'access_token_file = /tmp/token',
            '',
            '[billing]',
            'quota_project = billing-proj',
            '',
          ].join('\n'),
        },
      })
      expect(readGcloudConfig({CLOUDSDK_CONFIG: dir})).to.deep.equal({
        accessTokenFile: '/tmp/token',
        account: 'dev@example.com',
        activeConfig: 'work',
        binauthzEndpoint: 'http://127.0.0.1:8080/',
        configDir: dir,
        functionsRegion: 'us-east1',
        project: 'example.com:my-proj',
        quotaProject: 'billing-proj',
        runRegion: 'europe-west1',
      })
    })

    it('returns only the directory and name when nothing exists', () => {
      expect(readGcloudConfig({CLOUDSDK_CONFIG: join(dir, 'missing')})).to.deep.equal({
        activeConfig: 'default',
        configDir: join(dir, 'missing'),
      })
    })

    it('honours CLOUDSDK_ACTIVE_CONFIG_NAME', () => {
      writeGcloudDir(dir, {active: 'a', configs: {a: '[core]\nproject = pa\n', b: '[core]\nproject = pb\n'}})
      expect(readGcloudConfig({CLOUDSDK_ACTIVE_CONFIG_NAME: 'b', CLOUDSDK_CONFIG: dir}).project).to.equal('pb')
    })

    it('reads nothing for the reserved NONE configuration', () => {
      writeGcloudDir(dir, {active: 'NONE', configs: {NONE: '[core]\nproject = p\n'}})
      expect(readGcloudConfig({CLOUDSDK_CONFIG: dir})).to.deep.equal({activeConfig: 'NONE', configDir: dir})
    })

    it('ignores environment overrides (file values only)', () => {
      writeGcloudDir(dir, {configs: {default: '[core]\nproject = from-file\n'}})
      const config = readGcloudConfig({CLOUDSDK_CONFIG: dir, CLOUDSDK_CORE_PROJECT: 'from-env', CLOUDSDK_RUN_REGION: 'us-east1'})
      expect(config.project).to.equal('from-file')
      expect(config.runRegion).to.equal(undefined)
    })

    const parsing: {expected: Record<string, string | undefined>; name: string; text: string;}[] = [
      {expected: {project: 'my-proj'}, name: 'colon separator and odd spacing', text: '[core]\n  project:my-proj  \n'},
      {expected: {project: 'p'}, name: 'upper-case keys (configparser lower-cases them)', text: '[core]\nPROJECT = p\n'},
      {expected: {project: 'yes'}, name: 'comments and blank lines', text: '# c\n; c\n[core]\n# project = no\nproject = yes\n'},
      {expected: {project: 'p', runRegion: 'us-east1'}, name: 'CRLF line endings', text: '[core]\r\nproject = p\r\n[run]\r\nregion = us-east1\r\n'},
      {expected: {project: 'p'}, name: 'BOM', text: '\uFEFF[core]\nproject = p\n'},
      {expected: {project: undefined}, name: 'empty value is unset', text: '[core]\nproject =\n'},
      {expected: {project: 'b'}, name: 'later duplicate wins', text: '[core]\nproject = a\n[core]\nproject = b\n'},
      {expected: {project: undefined}, name: 'keys before any section are ignored', text: 'project = x\n[core]\n'},
      {expected: {project: 'p'}, name: 'garbage lines are skipped', text: '[core\n=\n]]]\n[core]\n\u0000\u0001\nproject = p\nnot a pair\n'},
      {expected: {project: undefined}, name: 'sections are case-sensitive', text: '[CORE]\nproject = p\n'},
      {expected: {functionsRegion: undefined}, name: 'functions region only when explicit', text: '[functions]\ngen2 = true\n'},
      {expected: {quotaProject: undefined}, name: 'quota project keywords are not projects', text: '[billing]\nquota_project = CURRENT_PROJECT\n'},
      {expected: {binauthzEndpoint: 'http://h:1/?a=b'}, name: 'value containing = and :', text: '[api_endpoint_overrides]\nbinaryauthorization = http://h:1/?a=b\n'},
    ]
    for (const c of parsing) {
      it(`parses: ${c.name}`, () => {
        writeGcloudDir(dir, {configs: {default: c.text}})
        const config = readGcloudConfig({CLOUDSDK_CONFIG: dir}) as unknown as Record<string, unknown>
        for (const [key, value] of Object.entries(c.expected)) expect(config[key], key).to.equal(value)
      })
    }

    it('refuses a configuration file beyond the bound (FILE_TOO_LARGE), never reading a prefix of it', () => {
      const huge = `[core]\nproject = early\n${'x = y\n'.repeat(MAX_CONFIG_FILE_BYTES / 3)}[run]\nregion = us-east1\n`
      writeGcloudDir(dir, {configs: {default: huge}})
      const error = thrownBy(() => readGcloudConfig({CLOUDSDK_CONFIG: dir}))
      expect((error as UserError).code).to.equal('FILE_TOO_LARGE')
      expect((error as UserError).message).to.include(join(dir, 'configurations', 'config_default'))
    })

    it('refuses a directory where the file should be (FILE_NOT_REGULAR)', () => {
      mkdirSync(join(dir, 'configurations', 'config_default'), {recursive: true})
      const error = thrownBy(() => readGcloudConfig({CLOUDSDK_CONFIG: dir}))
      expect((error as UserError).code).to.equal('FILE_NOT_REGULAR')
      expect((error as UserError).message).to.include('a directory')
    })

    it('never throws on arbitrary file content', () => {
      fc.assert(
        fc.property(fc.string({maxLength: 400}), fc.string({maxLength: 200, unit: 'binary'}), (a, b) => {
          writeGcloudDir(dir, {configs: {default: `${a}\n[core]\n${b}`}})
          const config = readGcloudConfig({CLOUDSDK_CONFIG: dir})
          expect(config.activeConfig).to.equal('default')
        }),
        {numRuns: 100},
      )
    })
  })

  describe('installation properties (named_configs.py ActivePropertiesFile: installation, then the configuration)', () => {
    it('finds the SDK root above the launcher, through a symlink, and none for a lone executable', () => {
      const root = sdk(dir, '')
      mkdirSync(join(dir, 'usr-bin'))
      symlinkSync(join(root, 'bin', 'gcloud'), join(dir, 'usr-bin', 'gcloud'))
      expect(sdkRootOf(join(dir, 'usr-bin', 'gcloud'))).to.equal(root)
      writeFileSync(join(dir, 'usr-bin', 'fake'), '#!/bin/sh\n')
      expect(sdkRootOf(join(dir, 'usr-bin', 'fake'))).to.equal(undefined)
      expect(sdkRootOf(join(dir, 'missing'))).to.equal(undefined)
    })

    it('applies installation values the active configuration does not set, and says where each came from', () => {
      const root = sdk(dir, '[core]\nproject = from-installation\naccount = ops@example.com\n[run]\nregion = europe-west1\n')
      const configDir = join(dir, 'config')
      writeGcloudDir(configDir, {configs: {default: '[core]\naccount = me@example.com\n'}})
      const config = readGcloudConfig({CLOUDSDK_CONFIG: configDir}, {sdkRoot: root})
      expect(config.project).to.equal('from-installation')
      expect(config.runRegion).to.equal('europe-west1')
      expect(config.account).to.equal('me@example.com')
      expect(propertyOrigin(config, 'project')).to.equal(`gcloud installation properties (${join(root, 'properties')})`)
      expect(propertyOrigin(config, 'account')).to.equal("gcloud configuration 'default'")
    })

    it('lets an explicitly empty value in the configuration hide the installation value', () => {
      const root = sdk(dir, '[core]\nproject = from-installation\n')
      const configDir = join(dir, 'config')
      writeGcloudDir(configDir, {configs: {default: '[core]\nproject =\n'}})
      expect(readGcloudConfig({CLOUDSDK_CONFIG: configDir}, {sdkRoot: root}).project).to.equal(undefined)
    })

    it('still applies under the NONE configuration, which has no file of its own', () => {
      const root = sdk(dir, '[core]\nproject = from-installation\n')
      const configDir = join(dir, 'config')
      writeGcloudDir(configDir, {active: 'NONE', configs: {}})
      expect(readGcloudConfig({CLOUDSDK_CONFIG: configDir}, {sdkRoot: root}).project).to.equal('from-installation')
    })
  })

  describe('parseIni', () => {
    it('joins indented continuation lines', () => {
      const sections = parseIni('[s]\nkey = a\n  b\n')
      expect(sections.get('s')?.get('key')).to.equal('a\nb')
    })
  })
})
