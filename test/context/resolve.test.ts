import {expect} from 'chai'
import {mkdirSync, rmSync, writeFileSync} from 'node:fs'
import {join} from 'node:path'

import {type ResolveContextInput, resolveContext, splitRegions} from '../../src/context/resolve.js'
import {UserError} from '../../src/errors.js'
import {gcloudSpawnCount} from '../../src/gcloud/runner.js'
import type {DeployKind} from '../../src/policy/pattern.js'
import {thrownBy} from '../helpers/assert.js'
import {tempDir} from '../helpers/tmp.js'

describe('resolveContext', () => {
  let dir: string
  let gcloudDir: string
  let binauthzDir: string

  beforeEach(() => {
    dir = tempDir('context')
    gcloudDir = join(dir, 'gcloud')
    binauthzDir = join(dir, 'binauthz')
    mkdirSync(join(gcloudDir, 'configurations'), {recursive: true})
    mkdirSync(binauthzDir)
  })

  afterEach(() => {
    rmSync(dir, {recursive: true, force: true})
  })

  interface Setup {
    flagProject?: string
    flagRegions?: string[]
    kind?: DeployKind
    env?: NodeJS.ProcessEnv
    saved?: Record<string, unknown>
    gcloud?: string
    requireRegion?: boolean
  }

  function run(setup: Setup) {
    if (setup.saved) writeFileSync(join(binauthzDir, 'defaults.json'), JSON.stringify(setup.saved))
    if (setup.gcloud !== undefined) writeFileSync(join(gcloudDir, 'configurations', 'config_default'), setup.gcloud)
    const input: ResolveContextInput = {
      env: {HOME: dir, CLOUDSDK_CONFIG: gcloudDir, BINAUTHZ_CONFIG_DIR: binauthzDir, ...setup.env},
      ...(setup.flagProject === undefined ? {} : {project: setup.flagProject}),
      ...(setup.flagRegions === undefined ? {} : {regions: setup.flagRegions}),
      ...(setup.kind === undefined ? {} : {kind: setup.kind}),
      ...(setup.requireRegion === undefined ? {} : {requireRegion: setup.requireRegion}),
    }
    return resolveContext(input)
  }

  const all: Setup = {
    flagProject: 'flag-proj',
    flagRegions: ['us-east1'],
    env: {CLOUDSDK_CORE_PROJECT: 'env-proj', CLOUDSDK_RUN_REGION: 'us-west1', CLOUDSDK_FUNCTIONS_REGION: 'us-west2'},
    saved: {project: 'saved-proj', regions: ['europe-west1']},
    gcloud: '[core]\nproject = gcloud-proj\n[run]\nregion = asia-east1\n[functions]\nregion = asia-east2\n',
  }

  const table: {name: string; setup: Setup; project: [string, string]; regions: [string[], string]}[] = [
    {name: 'flags win over everything', setup: {...all, kind: 'run'}, project: ['flag-proj', '--project flag'], regions: [['us-east1'], '--region flag']},
    {
      name: 'env is next (run)',
      setup: {...all, kind: 'run', flagProject: undefined, flagRegions: undefined},
      project: ['env-proj', 'CLOUDSDK_CORE_PROJECT'],
      regions: [['us-west1'], 'CLOUDSDK_RUN_REGION'],
    },
    {
      name: 'env is next (function)',
      setup: {...all, kind: 'function', flagProject: undefined, flagRegions: undefined},
      project: ['env-proj', 'CLOUDSDK_CORE_PROJECT'],
      regions: [['us-west2'], 'CLOUDSDK_FUNCTIONS_REGION'],
    },
    {
      name: 'saved defaults come before gcloud config',
      setup: {...all, kind: 'run', flagProject: undefined, flagRegions: undefined, env: {}},
      project: ['saved-proj', 'binauthz setup defaults'],
      regions: [['europe-west1'], 'binauthz setup defaults'],
    },
    {
      name: 'gcloud config last (run)',
      setup: {kind: 'run', gcloud: all.gcloud},
      project: ['gcloud-proj', "gcloud configuration 'default'"],
      regions: [['asia-east1'], "gcloud configuration 'default'"],
    },
    {
      name: 'gcloud config last (function uses functions/region)',
      setup: {kind: 'function', gcloud: all.gcloud},
      project: ['gcloud-proj', "gcloud configuration 'default'"],
      regions: [['asia-east2'], "gcloud configuration 'default'"],
    },
    {
      name: 'a function never uses run/region',
      setup: {kind: 'function', gcloud: '[core]\nproject = p\n[run]\nregion = asia-east1\n', requireRegion: false},
      project: ['p', "gcloud configuration 'default'"],
      regions: [[], 'none'],
    },
    {
      name: 'a service never uses CLOUDSDK_FUNCTIONS_REGION',
      setup: {kind: 'run', env: {CLOUDSDK_CORE_PROJECT: 'p', CLOUDSDK_FUNCTIONS_REGION: 'us-west2'}, requireRegion: false},
      project: ['p', 'CLOUDSDK_CORE_PROJECT'],
      regions: [[], 'none'],
    },
    {
      name: 'without a kind, run settings come before functions settings',
      setup: {env: {CLOUDSDK_CORE_PROJECT: 'p', CLOUDSDK_FUNCTIONS_REGION: 'us-west2', CLOUDSDK_RUN_REGION: 'us-west1'}},
      project: ['p', 'CLOUDSDK_CORE_PROJECT'],
      regions: [['us-west1'], 'CLOUDSDK_RUN_REGION'],
    },
    {
      name: 'repeated and comma-separated region flags are split, trimmed and deduplicated',
      setup: {flagProject: 'p', flagRegions: ['us-east1, europe-west1', 'us-east1', ',asia-east1,']},
      project: ['p', '--project flag'],
      regions: [['us-east1', 'europe-west1', 'asia-east1'], '--region flag'],
    },
    {
      name: 'an empty region flag list falls through',
      setup: {flagProject: 'p', flagRegions: [' , '], env: {CLOUDSDK_RUN_REGION: 'us-west1'}},
      project: ['p', '--project flag'],
      regions: [['us-west1'], 'CLOUDSDK_RUN_REGION'],
    },
    {
      name: 'an empty CLOUDSDK_CORE_PROJECT is unset',
      setup: {env: {CLOUDSDK_CORE_PROJECT: ''}, saved: {project: 'saved-proj', regions: ['us-east1']}},
      project: ['saved-proj', 'binauthz setup defaults'],
      regions: [['us-east1'], 'binauthz setup defaults'],
    },
    {
      name: 'domain-scoped projects',
      setup: {flagProject: 'example.com:proj', flagRegions: ['us-east1']},
      project: ['example.com:proj', '--project flag'],
      regions: [['us-east1'], '--region flag'],
    },
  ]

  for (const c of table) {
    it(c.name, () => {
      const ctx = run(c.setup)
      expect([ctx.project, ctx.projectSource]).to.deep.equal(c.project)
      expect([ctx.regions, ctx.regionSource]).to.deep.equal(c.regions)
    })
  }

  it('uses the active named configuration', () => {
    writeFileSync(join(gcloudDir, 'active_config'), 'work')
    writeFileSync(join(gcloudDir, 'configurations', 'config_work'), '[core]\nproject = work-proj\n[run]\nregion = us-east4\n')
    const ctx = run({kind: 'run'})
    expect(ctx.projectSource).to.equal("gcloud configuration 'work'")
    expect(ctx.project).to.equal('work-proj')
    expect(ctx.gcloud.activeConfig).to.equal('work')
  })

  it('never spawns gcloud', () => {
    const before = gcloudSpawnCount()
    run({...all})
    expect(gcloudSpawnCount()).to.equal(before)
  })

  it('does not mutate the region flags', () => {
    const regions = Object.freeze(['us-east1,europe-west1'])
    run({flagProject: 'p', flagRegions: regions as unknown as string[]})
    expect(regions).to.deep.equal(['us-east1,europe-west1'])
  })

  it('throws PROJECT_MISSING naming the flag and the gcloud command', () => {
    const error = thrownBy(() => run({flagRegions: ['us-east1']}))
    expect(error).to.be.instanceOf(UserError)
    expect((error as UserError).code).to.equal('PROJECT_MISSING')
    const hints = (error as UserError).suggestions.join('\n')
    expect(hints).to.include('--project').and.include('gcloud config set project')
  })

  it('throws REGION_MISSING naming the flag and the right gcloud property', () => {
    const run1 = thrownBy(() => run({flagProject: 'p', kind: 'run'})) as UserError
    expect(run1.code).to.equal('REGION_MISSING')
    expect(run1.suggestions.join('\n')).to.include('--region').and.include('gcloud config set run/region')
    const fn = thrownBy(() => run({flagProject: 'p', kind: 'function'})) as UserError
    expect(fn.suggestions.join('\n')).to.include('gcloud config set functions/region')
  })

  it('allows no region when requireRegion is false', () => {
    const ctx = run({flagProject: 'p', requireRegion: false})
    expect(ctx.regions).to.deep.equal([])
    expect(ctx.regionSource).to.equal('none')
  })

  const invalid: {name: string; setup: Setup; code: string; mentions: string}[] = [
    {name: 'bad --project', setup: {flagProject: 'My Project', flagRegions: ['us-east1']}, code: 'INVALID_PROJECT', mentions: '--project'},
    {name: 'bad CLOUDSDK_CORE_PROJECT', setup: {env: {CLOUDSDK_CORE_PROJECT: 'Bad_Proj'}, flagRegions: ['us-east1']}, code: 'INVALID_PROJECT', mentions: 'CLOUDSDK_CORE_PROJECT'},
    {name: 'bad saved project', setup: {saved: {project: 'UPPER'}, flagRegions: ['us-east1']}, code: 'INVALID_PROJECT', mentions: 'binauthz setup defaults'},
    {name: 'bad gcloud project', setup: {gcloud: '[core]\nproject = bad proj\n', flagRegions: ['us-east1']}, code: 'INVALID_PROJECT', mentions: "gcloud configuration 'default'"},
    {name: 'bad --region', setup: {flagProject: 'p', flagRegions: ['us-east1', 'us']}, code: 'INVALID_REGION', mentions: '--region'},
    {name: 'bad CLOUDSDK_RUN_REGION', setup: {flagProject: 'p', env: {CLOUDSDK_RUN_REGION: 'nowhere'}}, code: 'INVALID_REGION', mentions: 'CLOUDSDK_RUN_REGION'},
    {name: 'bad gcloud run/region', setup: {flagProject: 'p', kind: 'run', gcloud: '[run]\nregion = us-central1-a\n'}, code: 'INVALID_REGION', mentions: 'run/region'},
  ]
  for (const c of invalid) {
    it(`validates: ${c.name}`, () => {
      const error = thrownBy(() => run(c.setup)) as UserError
      expect(error).to.be.instanceOf(UserError)
      expect(error.code).to.equal(c.code)
      expect(error.message).to.include(c.mentions)
    })
  }

  describe('splitRegions', () => {
    it('splits, trims and dedupes', () => {
      expect(splitRegions(['a,b', ' c ', 'a', ''])).to.deep.equal(['a', 'b', 'c'])
    })
  })
})
