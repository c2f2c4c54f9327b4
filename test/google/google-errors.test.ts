import {expect} from 'chai'

import type {HttpResponse} from '../../src/google/http-transport.js'

import {UserError} from '../../src/errors.js'
import {
  ApiError, errorForAnswer, isJson, type Operation, parseGoogleError, PolicyConflictError, withAttempts,
} from '../../src/google/google-errors.js'

const JSON_TYPE = {'content-type': 'application/json; charset=UTF-8'}

function google(status: number, error: Record<string, unknown>): HttpResponse {
  return {body: JSON.stringify({error: {code: status, ...error}}), headers: JSON_TYPE, status}
}

function mapped(response: HttpResponse, op: Operation = 'getPolicy', method = 'GET'): ApiError | UserError {
  return errorForAnswer({
    method, op, project: 'my-proj', redact: text => text.replaceAll('SECRET', '[REDACTED]'), response,
  })
}

describe('google/google-errors (pure error mapping)', () => {
  describe('errorForAnswer', () => {
    const table: [title: string, response: HttpResponse, op: Operation, method: string, code: string, exitCode: number, kind: 'api' | 'conflict' | 'user'][] = [
      ['401 UNAUTHENTICATED', google(401, {status: 'UNAUTHENTICATED'}), 'getPolicy', 'GET', 'UNAUTHENTICATED', 3, 'user'],
      ['403 PERMISSION_DENIED', google(403, {message: 'denied', status: 'PERMISSION_DENIED'}), 'getPolicy', 'GET', 'PERMISSION_DENIED', 3, 'api'],
      ['403 SERVICE_DISABLED by reason', google(403, {details: [{'@type': 'type.googleapis.com/google.rpc.ErrorInfo', reason: 'SERVICE_DISABLED'}], status: 'PERMISSION_DENIED'}), 'getPolicy', 'GET', 'SERVICE_DISABLED', 3, 'api'],
      ['403 SERVICE_DISABLED by message', google(403, {message: 'Binary Authorization API has not been used in project 1 before or it is disabled.'}), 'updatePolicy', 'PUT', 'SERVICE_DISABLED', 3, 'api'],
      ['404 NOT_FOUND', google(404, {status: 'NOT_FOUND'}), 'getPolicy', 'GET', 'NOT_FOUND', 5, 'api'],
      ['409 ABORTED on PUT is a conflict', google(409, {status: 'ABORTED'}), 'updatePolicy', 'PUT', 'POLICY_CONFLICT', 4, 'conflict'],
      ['412 on PUT is a conflict', google(412, {}), 'updatePolicy', 'PUT', 'POLICY_CONFLICT', 4, 'conflict'],
      ['400 FAILED_PRECONDITION on PUT is a conflict', google(400, {status: 'FAILED_PRECONDITION'}), 'updatePolicy', 'PUT', 'POLICY_CONFLICT', 4, 'conflict'],
      ['400 FAILED_PRECONDITION on GET is not', google(400, {status: 'FAILED_PRECONDITION'}), 'getPolicy', 'GET', 'INVALID_ARGUMENT', 5, 'api'],
      ['409 on GET is not a conflict', google(409, {status: 'ABORTED'}), 'getPolicy', 'GET', 'ABORTED', 5, 'api'],
      ['400 INVALID_ARGUMENT', google(400, {status: 'INVALID_ARGUMENT'}), 'updatePolicy', 'PUT', 'INVALID_ARGUMENT', 5, 'api'],
      ['429 RESOURCE_EXHAUSTED', google(429, {status: 'RESOURCE_EXHAUSTED'}), 'getPolicy', 'GET', 'RESOURCE_EXHAUSTED', 5, 'api'],
      ['503 UNAVAILABLE', google(503, {status: 'UNAVAILABLE'}), 'testIamPermissions', 'POST', 'UNAVAILABLE', 5, 'api'],
      ['502 HTML page: code from the status', {body: '<html>Bad Gateway</html>', headers: {'content-type': 'text/html'}, status: 502}, 'getPolicy', 'GET', 'API_ERROR', 5, 'api'],
    ]
    for (const [title, response, op, method, code, exitCode, kind] of table) {
      it(title, () => {
        const error = mapped(response, op, method)
        expect(error.code).to.equal(code)
        expect(error.exitCode).to.equal(exitCode)
        expect(error.suggestions.length).to.be.greaterThan(0)
        if (kind === 'user') expect(error).to.be.instanceOf(UserError)
        if (kind === 'api') expect(error).to.be.instanceOf(ApiError).and.not.be.instanceOf(PolicyConflictError)
        if (kind === 'conflict') expect(error).to.be.instanceOf(PolicyConflictError)
        if (error instanceof ApiError) expect(error.status).to.equal(response.status)
      })
    }

    it('names the exact fix: the enable command, the role to ask for, the project', () => {
      const disabled = mapped(google(403, {details: [{reason: 'SERVICE_DISABLED'}]}))
      expect(disabled.suggestions).to.deep.equal(['gcloud services enable binaryauthorization.googleapis.com --project=my-proj'])
      expect(mapped(google(403, {}), 'getPolicy').suggestions[0]).to.contain('roles/binaryauthorization.policyViewer')
      expect(mapped(google(403, {}), 'updatePolicy', 'PUT').suggestions[0]).to.contain('roles/binaryauthorization.policyEditor')
      expect(mapped(google(404, {})).suggestions.join('\n')).to.contain('gcloud projects describe my-proj')
    })

    it("SERVICE_DISABLED names the ErrorInfo's consumer (the quota project), not the policy's project", () => {
      const info = {'@type': 'type.googleapis.com/google.rpc.ErrorInfo', metadata: {consumer: 'projects/billing-proj', service: 'binaryauthorization.googleapis.com'}, reason: 'SERVICE_DISABLED'}
      const disabled = mapped(google(403, {details: [info], status: 'PERMISSION_DENIED'}))
      expect(disabled.message).to.contain('not enabled in project billing-proj').and.contain('not my-proj')
      expect(disabled.suggestions[0]).to.equal('gcloud services enable binaryauthorization.googleapis.com --project=billing-proj')
      const same = mapped(google(403, {details: [{...info, metadata: {consumer: 'projects/my-proj'}}]}))
      expect(same.suggestions).to.deep.equal(['gcloud services enable binaryauthorization.googleapis.com --project=my-proj'])
      const quota = mapped(google(429, {details: [{...info, reason: 'RATE_LIMIT_EXCEEDED'}], status: 'RESOURCE_EXHAUSTED'}))
      expect(quota.message).to.contain('quota of project billing-proj')
    })

    it("quotes Google's message on one line, trimmed and redacted", () => {
      const error = mapped(google(500, {message: `boom\n  SECRET ${'x'.repeat(600)}`, status: 'INTERNAL'}))
      expect(error.message).to.contain('(HTTP 500 INTERNAL: boom [REDACTED] x')
      expect(error.message).not.to.contain('SECRET')
      expect(error.message).to.contain('…')
      expect(error.message).not.to.contain('\n')
    })
  })

  describe('parseGoogleError', () => {
    it('reads the envelope, preferring the ErrorInfo reason', () => {
      expect(parseGoogleError(google(403, {
        details: [{reason: 'OTHER'}, {'@type': 'type.googleapis.com/google.rpc.ErrorInfo', reason: 'SERVICE_DISABLED'}],
        message: 'm',
        status: 'PERMISSION_DENIED',
      }))).to.deep.equal({
        code: 403, message: 'm', reason: 'SERVICE_DISABLED', status: 'PERMISSION_DENIED',
      })
    })

    it('unwraps a one-element array and ignores what is not an envelope', () => {
      const wrapped = {body: JSON.stringify([{error: {code: 503, status: 'UNAVAILABLE'}}]), headers: JSON_TYPE, status: 503}
      expect(parseGoogleError(wrapped)).to.deep.equal({code: 503, status: 'UNAVAILABLE'})
      for (const body of ['not json', 'null', '{"error": "text"}', '[]', '{"error": {"code": "x", "details": [null, 3]}}']) {
        const parsed = parseGoogleError({body, headers: JSON_TYPE, status: 500})
        expect(parsed, body).to.deep.equal({})
      }

      expect(parseGoogleError({body: '{"error": {"code": 1}}', headers: {'content-type': 'text/plain'}, status: 500})).to.deep.equal({})
    })
  })

  it('isJson', () => {
    const table: [string | undefined, boolean][] = [
      ['application/json', true],
      ['Application/JSON; charset=utf-8', true],
      ['application/problem+json', true],
      ['text/html', false],
      ['application/jsonp', false],
      [undefined, false],
    ]
    for (const [type, expected] of table) expect(isJson(type), String(type)).to.equal(expected)
  })

  it('withAttempts keeps the class, code, status and exit code', () => {
    const conflict = new PolicyConflictError('changed.', {status: 409})
    const again = withAttempts(conflict, 3)
    expect(again).to.be.instanceOf(ApiError)
    expect(again.message).to.equal('changed. Gave up after 3 attempts.')
    expect([again.code, again.exitCode, (again as ApiError).status]).to.deep.equal(['POLICY_CONFLICT', 4, 409])
  })
})
