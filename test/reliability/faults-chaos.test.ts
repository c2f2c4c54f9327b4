// Guarantee 2 (faults), the seeded chaos half: the built CLI deploys through a stand-in that answers ~30% of the
// Binary Authorization calls with 503 / 429 / connection resets / lost answers / stalls, slows some down, and lets
// "another admin" write just before some PUTs (etag conflicts). Deterministic: the chaos proxy decides from
// sha256(seed, project, n). For every run: it succeeds (exit 0, deployed once) or fails with a documented exit code
// and a clear --json error (and gcloud never ran); no token in any output. For every policy: no PUT ever carried a
// partial policy (all original entries and every other field byte-identical), nothing is lost (the original entries
// and every other admin's entries survive), and every successful run's pattern is there exactly once.
import type {AddressInfo} from 'node:net'

import {expect} from 'chai'
import {once} from 'node:events'
import http from 'node:http'

import {EXIT_CODES} from '../../src/errors.js'
import {type ChaosProxy, startChaosProxy} from '../helpers/reliability-chaos.js'
import {checkPolicy, checkRun, original} from '../helpers/reliability-checks.js'
import {
  CANARY_TOKEN, type CliKit, type CliRun, createCliKit, fetchPolicy, inBatches, REGIONS, runPattern,
} from '../helpers/reliability-cli.js'
import {startTestSandbox, type TestSandbox} from '../helpers/sandbox.js'

describe('reliability 2: seeded faults through a chaos proxy (~30% 503/429/resets/lost answers/stalls + etag conflicts)', function () {
  this.timeout(150_000)

  describe('in front of the sandbox', () => {
    // a-c: the ~30% mix. storm: ~65% faults incl. stalls (runs will fail). contended: EVERY PUT loses to another
    // admin (runs must give up with exit 4, and all of that admin's entries must survive).
    const PROJECTS = ['rel-chaos-a', 'rel-chaos-b', 'rel-chaos-c', 'rel-chaos-storm', 'rel-chaos-contended']
    const RUNS_PER_PROJECT = 4
    let server: TestSandbox
    let proxy: ChaosProxy
    let kit: CliKit
    let noServices: http.Server

    before(async () => {
      // The deploy reads the existing service first (what gcloud reuses). The sandbox's Run API serves only its own
      // project, so these projects get a stand-in that has no services (a first deploy each time): the chaos is
      // aimed at the Binary Authorization calls.
      noServices = http.createServer((_req, res) => {
        res.writeHead(404, {'content-type': 'application/json'}).end('{"error":{"code":404,"status":"NOT_FOUND"}}')
      })
      noServices.listen(0, '127.0.0.1')
      await once(noServices, 'listening')
      server = await startTestSandbox({policies: Object.fromEntries(PROJECTS.map(p => [p, original(p)])), token: CANARY_TOKEN})
      proxy = await startChaosProxy({
        projectRates: {
          'rel-chaos-contended': {conflict: 1},
          'rel-chaos-storm': {
            429: 0.1, 503: 0.25, conflict: 0.5, lost: 0.05, reset: 0.15, stall: 0.06,
          },
        },
        rates: {
          429: 0.07, 503: 0.1, conflict: 0.2, lost: 0.04, reset: 0.07, slow: 0.05, stall: 0.02,
        },
        seed: 20_261_129,
        token: CANARY_TOKEN,
        upstream: server.url,
      })
      kit = createCliKit({endpoint: proxy.url, readersEndpoint: `http://127.0.0.1:${(noServices.address() as AddressInfo).port}/`, timeoutMs: 60_000})
    })

    after(async () => {
      noServices.close()
      await proxy.close()
      await server.stop()
      kit.cleanup()
    })

    it('every run succeeds or fails cleanly; no partial write, nothing lost, no deploy after a failed policy step', async () => {
      // Projects in parallel, the runs of one project one after another (so each project's fault sequence is fixed).
      const runs = await inBatches(PROJECTS.length, PROJECTS.length, async p => {
        const project = PROJECTS[p] as string
        const results: {pattern: string; run: CliRun; service: string;}[] = []
        const count = project === 'rel-chaos-contended' ? 2 : (project === 'rel-chaos-storm' ? 3 : RUNS_PER_PROJECT)
        // The contended project gets room for all 10 conflict rounds, so it ends with the conflict (4), not the deadline (5).
        const deadline = project === 'rel-chaos-storm' ? '5' : (project === 'rel-chaos-contended' ? '40' : '8')
        for (let i = 0; i < count; i++) {
          const region = REGIONS[(p * RUNS_PER_PROJECT) + i] as string
          const service = `svc-${project}-${i}`
          const run = await kit.run(['deploy', 'run', service, '--project', project, '--region', region, '--yes', '--json', '--deadline', deadline, '--', '--source=.'])
          results.push({pattern: runPattern(project, region), run, service})
        }

        return results
      })

      const calls = await kit.gcloud.calls()
      const problems: string[] = []
      for (const [p, project] of PROJECTS.entries()) {
        const results = runs[p] ?? []
        for (const {run, service} of results) problems.push(...checkRun(run, service, calls))
        const final = await fetchPolicy(server.url, project)
        problems.push(...checkPolicy(
          project,
          final,
          proxy.forwardedPuts(project),
          proxy.writers.get(project) ?? [],
          results.filter(r => r.run.code === 0).map(r => r.pattern),
          results.map(r => r.pattern),
        ))
      }

      const kinds = new Set(proxy.records.map(r => r.kind))
      if (process.env.RELIABILITY_VERBOSE) {
        console.log(runs.flat().map(r => `${r.service}: ${r.run.code} ${r.run.code === 0 ? '' : r.run.stdout.slice(0, 160)}`).join('\n'))
        console.log(proxy.records.map(r => `${r.project ?? '-'}#${r.n} ${r.method} ${r.kind}`).join('\n'))
      }

      const outcome = runs.flat().map(r => `${r.service}: ${r.run.code}`)
      expect(problems, outcome.join('\n')).to.deep.equal([])
      // The seed really exercised the faults it claims to (and most runs still got through).
      for (const kind of ['503', '429', 'reset', 'lost', 'conflict'] as const) expect([...kinds]).to.include(kind)
      const mixed = proxy.records.filter(r => ['rel-chaos-a', 'rel-chaos-b', 'rel-chaos-c'].includes(r.project ?? ''))
      const mixedFaulted = mixed.filter(r => r.kind !== 'pass' && r.kind !== 'slow').length
      expect(mixedFaulted / mixed.length).to.be.within(0.2, 0.45)
      expect(runs.slice(0, 3).flat().filter(r => r.run.code === 0).length).to.be.greaterThan(6)
      // The storm made some runs fail (cleanly, checked above); every contended run gave up with exit 4.
      expect(runs[3]?.some(r => r.run.code === EXIT_CODES.external)).to.equal(true)
      expect(runs[4]?.map(r => r.run.code)).to.deep.equal([EXIT_CODES.conflict, EXIT_CODES.conflict])
      expect(proxy.writers.get('rel-chaos-contended')?.length).to.be.greaterThan(10)
    })
  })
})
