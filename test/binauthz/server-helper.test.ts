// The local Binary Authorization stand-in is shared by other test suites: pin down its own behaviour.
import {expect} from 'chai'
import http from 'node:http'
import {setTimeout as sleep} from 'node:timers/promises'

import {defaultPolicy, startBinauthzServer} from '../helpers/binauthz-server.js'

interface Answer {
  body: string
  contentType?: string
  status: number
}

function request(url: string, method = 'GET', body?: string, headers: Record<string, string> = {}): Promise<Answer> {
  return new Promise((resolve, reject) => {
    const req = http.request(url, {agent: false, headers, method}, res => {
      const chunks: Buffer[] = []
      res.on('data', (c: Buffer) => chunks.push(c))
      res.on('end', () => resolve({body: Buffer.concat(chunks).toString(), contentType: res.headers['content-type'], status: res.statusCode ?? 0}))
      res.on('error', reject)
    })
    req.on('error', reject)
    req.end(body)
  })
}

describe('test helper: binauthz server', () => {
  it('serves default policies, checks tokens and etags, and records requests', async () => {
    const server = await startBinauthzServer({token: 'helper-token-123'})
    try {
      const auth = {authorization: 'Bearer helper-token-123'}
      expect((await request(`${server.url}v1/projects/p/policy`)).status).to.equal(401)
      const got = await request(`${server.url}v1/projects/example.com%3Ap/policy`, 'GET', undefined, auth)
      expect(got.status).to.equal(200)
      const policy = JSON.parse(got.body) as {etag: string; name: string}
      expect(policy.name).to.equal(defaultPolicy('example.com:p').name)
      expect(server.requests[1]?.project).to.equal('example.com:p')
      expect(server.requests[1]?.op).to.equal('getPolicy')

      const stale = await request(`${server.url}v1/projects/example.com:p/policy`, 'PUT', JSON.stringify({...policy, etag: 'nope'}), auth)
      expect(stale.status).to.equal(409)
      expect(JSON.parse(stale.body).error.status).to.equal('ABORTED')
      const wrongName = await request(`${server.url}v1/projects/example.com:p/policy`, 'PUT', JSON.stringify({name: 'projects/x/policy'}), auth)
      expect(wrongName.status).to.equal(400)
      const ok = await request(`${server.url}v1/projects/example.com:p/policy`, 'PUT', JSON.stringify({...policy, description: 'd'}), auth)
      expect(ok.status).to.equal(200)
      expect(JSON.parse(ok.body).etag).not.to.equal(policy.etag)
      expect(server.writes).to.equal(1)
      expect(server.policy('example.com:p')?.description).to.equal('d')

      const perms = await request(`${server.url}v1/projects/p/policy:testIamPermissions`, 'POST', JSON.stringify({permissions: ['a', 'binaryauthorization.policy.get']}), auth)
      expect(JSON.parse(perms.body)).to.deep.equal({permissions: ['binaryauthorization.policy.get']})
      expect((await request(`${server.url}v1/other`, 'GET', undefined, auth)).status).to.equal(404)
    } finally {
      await server.close()
    }
  })

  it('applies faults by method and count, and close() does not wait for slow answers', async () => {
    const server = await startBinauthzServer()
    server.fault({retryAfter: '3', status: 503}, {method: 'GET', times: 2})
    server.fault({body: 'hi', contentType: 'text/plain', kind: 'content-type'}, {op: 'testIamPermissions'})
    const first = await request(`${server.url}v1/projects/p/policy`)
    expect(first.status).to.equal(503)
    expect(JSON.parse(first.body).error.status).to.equal('UNAVAILABLE')
    const iam = await request(`${server.url}v1/projects/p/policy:testIamPermissions`, 'POST', '{"permissions":[]}')
    expect(iam).to.deep.include({body: 'hi', contentType: 'text/plain', status: 200})
    expect((await request(`${server.url}v1/projects/p/policy`)).status).to.equal(503)
    expect((await request(`${server.url}v1/projects/p/policy`)).status).to.equal(200)
    expect(server.requests.map(r => r.fault?.kind ?? (r.fault ? 'status' : 'none'))).to.deep.equal(['status', 'content-type', 'status', 'none'])

    server.fault({delayMs: 60_000, kind: 'slow'})
    const pending = request(`${server.url}v1/projects/p/policy`).catch((error: unknown) => error)
    for (let i = 0; i < 400 && server.requests.length < 5; i++) await sleep(5)
    expect(server.requests).to.have.length(5)
    await server.close()
    expect(await pending).to.be.instanceOf(Error)
  })

  it('reset() drops faults and requests, grants the starting permissions again and stores the given policies', async () => {
    const server = await startBinauthzServer({permissions: ['binaryauthorization.policy.get']})
    try {
      server.fault({status: 503}, {times: 5})
      server.permissions.clear()
      server.permissions.add('binaryauthorization.policy.update')
      expect((await request(`${server.url}v1/projects/p/policy`)).status).to.equal(503)
      server.reset({p: {...defaultPolicy('p'), description: 'after reset'}})
      expect(server.requests).to.deep.equal([])
      expect([...server.permissions]).to.deep.equal(['binaryauthorization.policy.get'])
      const got = await request(`${server.url}v1/projects/p/policy`)
      expect(got.status).to.equal(200)
      expect(JSON.parse(got.body)).to.include({description: 'after reset'})
    } finally {
      await server.close()
    }
  })
})
