import {expect} from 'chai'

import {serviceUrlOf} from '../../src/gcloud/service-url.js'

describe('gcloud/service-url', () => {
  it('finds the URL gcloud run deploy printed, with or without its bold codes, the last one when several', () => {
    const plain = 'Done.\nService [svc] revision [svc-00001-abc] has been deployed and is serving 100 percent of traffic.\nService URL: https://svc-123.us-central1.run.app\n'
    expect(serviceUrlOf(plain)).to.equal('https://svc-123.us-central1.run.app')
    expect(serviceUrlOf('Service URL: \u001B[1mhttps://a.run.app\u001B[m\nService URL: https://b.run.app')).to.equal('https://b.run.app')
  })

  it('finds none when gcloud printed none (no traffic, a failure, a URL only mentioned in a sentence)', () => {
    expect(serviceUrlOf('')).to.equal(undefined)
    expect(serviceUrlOf('ERROR: (gcloud.run.deploy) denied\n')).to.equal(undefined)
    expect(serviceUrlOf('See Service URL: later at https://x')).to.equal(undefined)
  })
})
