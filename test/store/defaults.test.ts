import {expect} from 'chai'
import {
  mkdirSync, readdirSync, rmSync, statSync, writeFileSync,
} from 'node:fs'
import {join} from 'node:path'

import {UserError} from '../../src/errors.js'
import {
  configDir, defaultsFile, loadDefaults, type SavedDefaults, saveDefaults,
} from '../../src/store/defaults.js'
import {rejectionOf, thrownBy} from '../helpers/assert.js'
import {tempDir} from '../helpers/tmp.js'

describe('saved defaults', () => {
  let dir: string

  beforeEach(() => {
    dir = tempDir('defaults')
  })

  afterEach(() => {
    rmSync(dir, {force: true, recursive: true})
  })

  describe('configDir', () => {
    it('uses BINAUTHZ_CONFIG_DIR, then XDG_CONFIG_HOME, then ~/.config', () => {
      expect(configDir({BINAUTHZ_CONFIG_DIR: '/a/b', HOME: '/h', XDG_CONFIG_HOME: '/x'})).to.equal('/a/b')
      expect(configDir({HOME: '/h', XDG_CONFIG_HOME: '/x'})).to.equal('/x/binauthz')
      // A relative XDG_CONFIG_HOME is invalid by the XDG spec and ignored, as XDG_DATA_HOME is for the data dir.
      expect(configDir({HOME: '/h', XDG_CONFIG_HOME: 'rel/x'})).to.equal('/h/.config/binauthz')
      expect(configDir({HOME: '/h', XDG_CONFIG_HOME: ''})).to.equal('/h/.config/binauthz')
      expect(configDir({HOME: '/h'})).to.equal('/h/.config/binauthz')
    })
  })

  it('round-trips through save and load', async () => {
    const env = {BINAUTHZ_CONFIG_DIR: join(dir, 'nested', 'cfg')}
    const values: SavedDefaults = {
      dockerRepository: 'us-docker.pkg.dev/p/r', kind: 'function', project: 'example.com:proj', regions: ['us-central1', 'europe-west1'],
    }
    const file = await saveDefaults(env, values)
    expect(file).to.equal(defaultsFile(env))
    expect(loadDefaults(env)).to.deep.equal(values)
  })

  it('writes the file with mode 0600 and leaves no temp files behind', async () => {
    const env = {BINAUTHZ_CONFIG_DIR: dir}
    const file = await saveDefaults(env, {project: 'p1'})
    expect(statSync(file).mode % 0o1000).to.equal(0o600)
    await saveDefaults(env, {project: 'p2'})
    expect(readdirSync(dir)).to.deep.equal(['defaults.json'])
    expect(loadDefaults(env)).to.deep.equal({project: 'p2'})
  })

  it('does not mutate the values it saves', async () => {
    const values = Object.freeze({regions: Object.freeze(['us-central1']) as unknown as string[]})
    await saveDefaults({BINAUTHZ_CONFIG_DIR: dir}, values)
    expect(values.regions).to.deep.equal(['us-central1'])
  })

  it('loads nothing when the file is missing or empty', () => {
    expect(loadDefaults({BINAUTHZ_CONFIG_DIR: join(dir, 'none')})).to.deep.equal({})
    writeFileSync(join(dir, 'defaults.json'), '')
    expect(loadDefaults({BINAUTHZ_CONFIG_DIR: dir})).to.deep.equal({})
  })

  it('ignores fields of the wrong type', () => {
    writeFileSync(join(dir, 'defaults.json'), JSON.stringify({
      extra: true, kind: 'vm', project: 5, regions: ['us-east1', 7, 'us-east1'],
    }))
    expect(loadDefaults({BINAUTHZ_CONFIG_DIR: dir})).to.deep.equal({regions: ['us-east1']})
  })

  it('rejects a file that is not a JSON object with a UserError naming it', () => {
    for (const content of ['{not json', '[1,2]', '"x"', 'x'.repeat(100_000)]) {
      writeFileSync(join(dir, 'defaults.json'), content)
      const error = thrownBy(() => loadDefaults({BINAUTHZ_CONFIG_DIR: dir}))
      expect(error).to.be.instanceOf(UserError)
      // Beyond 64 KiB the file is refused before it is read (src/store/regular-file.ts).
      expect((error as UserError).code).to.equal(content.length > 65_536 ? 'FILE_TOO_LARGE' : 'DEFAULTS_INVALID')
      expect((error as UserError).message).to.include(join(dir, 'defaults.json'))
    }
  })

  it('fails with a UserError when the directory cannot be created', async () => {
    writeFileSync(join(dir, 'file'), '')
    const error = await rejectionOf(saveDefaults({BINAUTHZ_CONFIG_DIR: join(dir, 'file', 'sub')}, {project: 'p'}))
    expect((error as UserError).code).to.equal('DEFAULTS_UNWRITABLE')
  })

  it('removes its temp file when the final rename fails', async () => {
    const env = {BINAUTHZ_CONFIG_DIR: dir}
    await saveDefaults(env, {project: 'old'})
    // A directory where the temp file would be renamed over cannot be replaced by a file.
    rmSync(join(dir, 'defaults.json'))
    mkdirSync(join(dir, 'defaults.json'))
    const error = await rejectionOf(saveDefaults(env, {project: 'new'}))
    expect((error as UserError).code).to.equal('DEFAULTS_UNWRITABLE')
    expect(readdirSync(dir)).to.deep.equal(['defaults.json'])
  })
})
