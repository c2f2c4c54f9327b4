import {expect} from 'chai'
import {mkdirSync, rmSync, writeFileSync} from 'node:fs'
import {join} from 'node:path'

import type {DeployKind} from '../../src/policy/repository.js'

import {
  resolveContext, type ResolveContextInput, resolveQuotaProject, splitRegions,
} from '../../src/app/context.js'
import {UserError} from '../../src/errors.js'
import {thrownBy} from '../helpers/assert.js'
import {createFakeGcloud} from '../helpers/fake-gcloud.js'
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
    rmSync(dir, {force: true, recursive: true})
  })

  interface Setup {
    env?: NodeJS.ProcessEnv
    flagProject?: string
    flagRegions?: string[]
    gcloud?: string
    kind?: DeployKind
    requireRegion?: boolean
    saved?: Record<string, unknown>
  }

  function run(setup: Setup) {
    if (setup.saved) writeFileSync(join(binauthzDir, 'defaults.json'), JSON.stringify(setup.saved))
    if (setup.gcloud !== undefined) writeFileSync(join(gcloudDir, 'configurations', 'config_default'), setup.gcloud)
    const input: ResolveContextInput = {
      env: {
        BINAUTHZ_CONFIG_DIR: binauthzDir, CLOUDSDK_CONFIG: gcloudDir, HOME: dir, ...setup.env,
      },
      ...(setup.flagProject === undefined ? {} : {project: setup.flagProject}),
      ...(setup.flagRegions === undefined ? {} : {regions: setup.flagRegions}),
      ...(setup.kind === undefined ? {} : {kind: setup.kind}),
      ...(setup.requireRegion === undefined ? {} : {requireRegion: setup.requireRegion}),
    }
    return resolveContext(input)
  }

  const all: Setup = {
    env: {CLOUDSDK_CORE_PROJECT: 'env-proj', CLOUDSDK_FUNCTIONS_REGION: 'us-west2', CLOUDSDK_RUN_REGION: 'us-west1'},
    flagProject: 'flag-proj',
    flagRegions: ['us-east1'],
    gcloud: '[core]\nproject = gcloud-proj\n[run]\nregion = asia-east1\n[functions]\nregion = asia-east2\n',
    saved: {project: 'saved-proj', regions: ['europe-west1']},
  }

  const table: {name: string; project: [string, string]; regions: [string[], string]; setup: Setup;}[] = [
    {
      name: 'flags win over everything', project: ['flag-proj', '--project flag'], regions: [['us-east1'], '--region flag'], setup: {...all, kind: 'run'},
    },
    {
      name: 'env is next (run)',
      project: ['env-proj', 'CLOUDSDK_CORE_PROJECT'],
      regions: [['us-west1'], 'CLOUDSDK_RUN_REGION'],
      setup: {
        ...all, flagProject: undefined, flagRegions: undefined, kind: 'run',
      },
    },
    {
      name: 'env is next (function)',
      project: ['env-proj', 'CLOUDSDK_CORE_PROJECT'],
      regions: [['us-west2'], 'CLOUDSDK_FUNCTIONS_REGION'],
      setup: {
        ...all, flagProject: undefined, flagRegions: undefined, kind: 'function',
      },
    },
    {
      name: 'saved defaults come before gcloud config',
      project: ['saved-proj', 'binauthz setup defaults'],
      regions: [['europe-west1'], 'binauthz setup defaults'],
      setup: {
        ...all, env: {}, flagProject: undefined, flagRegions: undefined, kind: 'run',
      },
    },
    {
      name: 'gcloud config last (run)',
      project: ['gcloud-proj', "gcloud configuration 'default'"],
      regions: [['asia-east1'], "gcloud configuration 'default'"],
      setup: {gcloud: all.gcloud, kind: 'run'},
    },
    {
      name: 'gcloud config last (function uses functions/region)',
      project: ['gcloud-proj', "gcloud configuration 'default'"],
      regions: [['asia-east2'], "gcloud configuration 'default'"],
      setup: {gcloud: all.gcloud, kind: 'function'},
    },
    {
      name: 'a function never uses run/region',
      project: ['p', "gcloud configuration 'default'"],
      regions: [[], 'none'],
      setup: {gcloud: '[core]\nproject = p\n[run]\nregion = asia-east1\n', kind: 'function', requireRegion: false},
    },
    {
      name: 'a service never uses CLOUDSDK_FUNCTIONS_REGION',
      project: ['p', 'CLOUDSDK_CORE_PROJECT'],
      regions: [[], 'none'],
      setup: {env: {CLOUDSDK_CORE_PROJECT: 'p', CLOUDSDK_FUNCTIONS_REGION: 'us-west2'}, kind: 'run', requireRegion: false},
    },
    {
      name: 'a job never uses CLOUDSDK_FUNCTIONS_REGION or functions/region',
      project: ['p', 'CLOUDSDK_CORE_PROJECT'],
      regions: [[], 'none'],
      setup: {
        env: {CLOUDSDK_CORE_PROJECT: 'p', CLOUDSDK_FUNCTIONS_REGION: 'us-west2'}, gcloud: '[functions]\nregion = us-east4\n', kind: 'job', requireRegion: false,
      },
    },
    {
      name: 'a worker pool takes run/region, as services do',
      project: ['p', "gcloud configuration 'default'"],
      regions: [['asia-east1'], "gcloud configuration 'default'"],
      setup: {gcloud: '[core]\nproject = p\n[run]\nregion = asia-east1\n[functions]\nregion = us-east4\n', kind: 'worker-pool', requireRegion: false},
    },
    {
      name: 'without a kind, run settings come before functions settings',
      project: ['p', 'CLOUDSDK_CORE_PROJECT'],
      regions: [['us-west1'], 'CLOUDSDK_RUN_REGION'],
      setup: {env: {CLOUDSDK_CORE_PROJECT: 'p', CLOUDSDK_FUNCTIONS_REGION: 'us-west2', CLOUDSDK_RUN_REGION: 'us-west1'}},
    },
    {
      name: 'repeated and comma-separated region flags are split and deduplicated',
      project: ['p', '--project flag'],
      regions: [['us-east1', 'europe-west1', 'asia-east1'], '--region flag'],
      setup: {flagProject: 'p', flagRegions: ['us-east1,europe-west1', 'us-east1', 'asia-east1']},
    },
    {
      name: 'a region newer than the table, named in BINAUTHZ_EXTRA_REGIONS',
      project: ['p', '--project flag'],
      regions: [['mars-north1', 'us-east1'], '--region flag'],
      setup: {env: {BINAUTHZ_EXTRA_REGIONS: 'mars-north1'}, flagProject: 'p', flagRegions: ['mars-north1,us-east1']},
    },
    {
      name: 'domain-scoped projects',
      project: ['example.com:proj', '--project flag'],
      regions: [['us-east1'], '--region flag'],
      setup: {flagProject: 'example.com:proj', flagRegions: ['us-east1']},
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

  it('never spawns gcloud', async () => {
    const fake = createFakeGcloud()
    try {
      run({...all, env: {...all.env, BINAUTHZ_GCLOUD: fake.bin, PATH: fake.dir}})
      // Anything started in the background would have recorded its call by now.
      await new Promise(resolve => {
        setTimeout(resolve, 200)
      })
      expect(await fake.calls()).to.deep.equal([])
    } finally {
      fake.cleanup()
    }
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

  const invalid: {code: string; mentions: string; name: string; setup: Setup;}[] = [
    {
      code: 'INVALID_PROJECT', mentions: '--project', name: 'bad --project', setup: {flagProject: 'My Project', flagRegions: ['us-east1']},
    },
    {
      code: 'INVALID_PROJECT', mentions: 'CLOUDSDK_CORE_PROJECT', name: 'bad CLOUDSDK_CORE_PROJECT', setup: {env: {CLOUDSDK_CORE_PROJECT: 'Bad_Proj'}, flagRegions: ['us-east1']},
    },
    {
      code: 'INVALID_PROJECT', mentions: 'binauthz setup defaults', name: 'bad saved project', setup: {flagRegions: ['us-east1'], saved: {project: 'UPPER'}},
    },
    {
      code: 'INVALID_PROJECT', mentions: "gcloud configuration 'default'", name: 'bad gcloud project', setup: {flagRegions: ['us-east1'], gcloud: '[core]\nproject = bad proj\n'},
    },
    {
      code: 'INVALID_REGION', mentions: '--region', name: 'bad --region', setup: {flagProject: 'p', flagRegions: ['us-east1', 'us']},
    },
    {
      code: 'INVALID_REGION', mentions: 'CLOUDSDK_RUN_REGION', name: 'bad CLOUDSDK_RUN_REGION', setup: {env: {CLOUDSDK_RUN_REGION: 'nowhere'}, flagProject: 'p'},
    },
    {
      code: 'INVALID_REGION', mentions: 'run/region', name: 'bad gcloud run/region', setup: {flagProject: 'p', gcloud: '[run]\nregion = us-central1-a\n', kind: 'run'},
    },
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
    it('splits and dedupes; never trims', () => {
      expect(splitRegions(['a,b', 'c', 'a'])).to.deep.equal(['a', 'b', 'c'])
      for (const bad of [[''], [','], ['a,'], [',a'], ['a,,b'], [' a'], ['a '], ['a, b'], ['a\n'], ['\t']]) {
        expect((thrownBy(() => splitRegions(bad)) as UserError).code, JSON.stringify(bad)).to.equal('INVALID_REGION')
      }
    })
  })

  describe('explicit values are refused, never trimmed or skipped for the next source (gcloud: "set to the empty string")', () => {
    const fallback = {saved: {project: 'saved-proj', regions: ['us-east1']}}
    const cases: {code: string; mentions: string; setup: Setup; title: string}[] = [
      {
        code: 'INVALID_PROJECT', mentions: 'empty string', setup: {...fallback, flagProject: ''}, title: '--project ""',
      },
      {
        code: 'INVALID_PROJECT', mentions: 'only whitespace', setup: {...fallback, flagProject: '  '}, title: '--project "  "',
      },
      {
        code: 'INVALID_PROJECT', mentions: 'whitespace', setup: {...fallback, flagProject: 'saved-proj '}, title: '--project with a trailing space',
      },
      {
        code: 'INVALID_PROJECT', mentions: 'control character', setup: {...fallback, flagProject: 'saved-proj\n'}, title: '--project with a trailing newline',
      },
      {
        code: 'INVALID_PROJECT', mentions: 'CLOUDSDK_CORE_PROJECT', setup: {...fallback, env: {CLOUDSDK_CORE_PROJECT: ''}}, title: 'CLOUDSDK_CORE_PROJECT=""',
      },
      {
        code: 'INVALID_PROJECT', mentions: 'CLOUDSDK_CORE_PROJECT', setup: {...fallback, env: {CLOUDSDK_CORE_PROJECT: ' env-proj'}}, title: 'CLOUDSDK_CORE_PROJECT with a leading space',
      },
      {
        code: 'INVALID_REGION', mentions: 'empty string', setup: {...fallback, flagProject: 'p', flagRegions: ['']}, title: '--region ""',
      },
      {
        code: 'INVALID_REGION', mentions: 'empty element', setup: {...fallback, flagProject: 'p', flagRegions: [',']}, title: '--region ","',
      },
      {
        code: 'INVALID_REGION', mentions: 'whitespace', setup: {...fallback, flagProject: 'p', flagRegions: ['us-east1 ']}, title: '--region with a trailing space',
      },
      {
        code: 'INVALID_REGION', mentions: 'CLOUDSDK_RUN_REGION', setup: {
          ...fallback, env: {CLOUDSDK_RUN_REGION: ''}, flagProject: 'p', kind: 'run',
        }, title: 'CLOUDSDK_RUN_REGION=""',
      },
      {
        code: 'INVALID_REGION', mentions: 'CLOUDSDK_FUNCTIONS_REGION', setup: {
          ...fallback, env: {CLOUDSDK_FUNCTIONS_REGION: 'us-east1\n'}, flagProject: 'p', kind: 'function',
        }, title: 'CLOUDSDK_FUNCTIONS_REGION with a newline',
      },
      {
        code: 'REGION_UNLISTED', mentions: 'us-central1', setup: {flagProject: 'p', flagRegions: ['us-centrall1']}, title: 'a misspelt region: did you mean',
      },
      {
        code: 'REGION_UNLISTED', mentions: 'BINAUTHZ_EXTRA_REGIONS', setup: {flagProject: 'p', flagRegions: ['mars-north1']}, title: 'an unknown region: how to allow a newer one',
      },
      {
        code: 'REGION_UNLISTED', mentions: 'europe-west1', setup: {env: {CLOUDSDK_RUN_REGION: 'europe-wset1'}, flagProject: 'p', kind: 'run'}, title: 'a misspelt region from the environment',
      },
      {
        code: 'REGION_UNLISTED', mentions: 'run/region', setup: {flagProject: 'p', gcloud: '[run]\nregion = us-east9\n', kind: 'run'}, title: 'an unknown region from the gcloud configuration',
      },
      {
        code: 'INVALID_REGION', mentions: 'BINAUTHZ_EXTRA_REGIONS', setup: {env: {BINAUTHZ_EXTRA_REGIONS: 'mars north'}, flagProject: 'p', flagRegions: ['us-east1']}, title: 'a bad BINAUTHZ_EXTRA_REGIONS',
      },
    ]
    for (const c of cases) {
      it(c.title, () => {
        const error = thrownBy(() => run(c.setup)) as UserError
        expect(error).to.be.instanceOf(UserError)
        expect(error.code).to.equal(c.code)
        expect(`${error.message}\n${error.suggestions.join('\n')}`).to.include(c.mentions)
      })
    }
  })

  describe('resolveQuotaProject (creds.py GetQuotaProject)', () => {
    const gcloud = {activeConfig: 'default', configDir: '/nonexistent'}
    const user = {isUser: true}
    const sa = {isUser: false}
    const cases: {credential: {isUser: boolean; quotaProject?: string}; env: NodeJS.ProcessEnv; expected: string | undefined; file?: string; keyword?: string; title: string}[] = [
      {
        credential: user, env: {}, expected: 'proj', title: 'default CURRENT_PROJECT, user credential: the current project',
      },
      {
        credential: sa, env: {}, expected: undefined, title: 'default CURRENT_PROJECT, service account / bare token / impersonation: no header',
      },
      {
        credential: {isUser: false, quotaProject: 'own'}, env: {}, expected: 'own', title: "no header from gcloud: the credential file's own quota project",
      },
      {
        credential: user, env: {}, expected: 'proj', keyword: 'CURRENT_PROJECT_WITH_FALLBACK', title: 'CURRENT_PROJECT_WITH_FALLBACK behaves like CURRENT_PROJECT',
      },
      {
        credential: user, env: {}, expected: undefined, keyword: 'LEGACY', title: 'LEGACY: no header',
      },
      {
        credential: sa, env: {}, expected: 'config-quota', file: 'config-quota', title: 'an explicit billing/quota_project, for any credential',
      },
      {
        credential: {isUser: true, quotaProject: 'own'}, env: {}, expected: 'config-quota', file: 'config-quota', title: 'the configuration beats the credential',
      },
      {
        credential: sa, env: {CLOUDSDK_BILLING_QUOTA_PROJECT: 'env-quota'}, expected: 'env-quota', file: 'config-quota', title: 'the environment (or --billing-project) beats the file',
      },
      {
        credential: sa, env: {CLOUDSDK_BILLING_QUOTA_PROJECT: 'CURRENT_PROJECT'}, expected: undefined, file: 'config-quota', title: 'a keyword in the environment beats the file too',
      },
    ]
    for (const c of cases) {
      it(c.title, () => {
        const config = {...gcloud, ...(c.file ? {quotaProject: c.file} : {}), ...(c.keyword ? {quotaProjectKeyword: c.keyword} : {})}
        expect(resolveQuotaProject(c.env, config, c.credential, 'proj')).to.equal(c.expected)
      })
    }

    it('refuses a value that is no project ID (it would become a request header)', () => {
      const error = thrownBy(() => resolveQuotaProject({CLOUDSDK_BILLING_QUOTA_PROJECT: 'bad\r\nX-Injected: 1'}, gcloud, {isUser: false}))
      expect(error).to.be.instanceOf(UserError)
      expect((error as UserError).message).to.contain('CLOUDSDK_BILLING_QUOTA_PROJECT')
    })
  })
})
