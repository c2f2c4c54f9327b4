import {expect} from 'chai'

import {multipartBoundary, parseMultipart} from '../../src/sandbox/multipart.js'

describe('sandbox multipart parser', () => {
  it('reads the single-quoted boundary gcloud sends', () => {
    expect(multipartBoundary("multipart/related; boundary='===============123=='")).to.equal('===============123==')
    expect(multipartBoundary('multipart/related; boundary="abc"')).to.equal('abc')
    expect(multipartBoundary('multipart/related; boundary=abc; charset=x')).to.equal('abc')
    expect(multipartBoundary('application/json')).to.equal(undefined)
  })

  it('splits an LF body (gcloud) keeping binary content intact', () => {
    const binary = Buffer.from([0x50, 0x4B, 0x03, 0x04, 0x0A, 0x0D, 0x0A, 0x00, 0xFF])
    const body = Buffer.concat([
      Buffer.from('--==b==\nContent-Type: application/json\nMIME-Version: 1.0\n\n{"size":"9"}\n--==b==\nContent-Type: application/zip\nContent-Transfer-Encoding: binary\n\n'),
      binary,
      Buffer.from('\n--==b==--'),
    ])
    const parts = parseMultipart(body, '==b==')
    expect(parts).to.have.length(2)
    expect(parts[0]?.headers['content-type']).to.equal('application/json')
    expect(parts[0]?.body.toString()).to.equal('{"size":"9"}')
    expect(parts[1]?.headers['content-type']).to.equal('application/zip')
    expect(parts[1]?.body.equals(binary)).to.equal(true)
  })

  it('splits a CRLF body', () => {
    const body = Buffer.from('--b\r\nContent-Type: text/plain\r\n\r\nhello\r\n--b\r\n\r\nworld\r\n--b--\r\n')
    const parts = parseMultipart(body, 'b')
    expect(parts.map(p => p.body.toString())).to.deep.equal(['hello', 'world'])
  })

  it('returns no parts when the boundary is absent', () => {
    expect(parseMultipart(Buffer.from('nothing here'), 'b')).to.deep.equal([])
  })
})
