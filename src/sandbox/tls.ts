// A private certificate authority for the sandbox's one TLS endpoint: Cloud Run v2 over gRPC (grpc.ts). gcloud 528's
// GAPIC clients always open a TLS channel (core/gapic_util_internal.py GetSSLCredentials: the roots come from
// `core/custom_ca_certs_file` when set), so the sandbox makes a CA and a server certificate for every
// REGION-127.0.0.1 it serves, written in DER by hand with node:crypto's keys (Node has no X.509 writer; no openssl).
// Both live in STATE_DIR/tls/ and are made once; the CA's key never leaves the process that makes them.
import {
  createHash, createPrivateKey, generateKeyPairSync, type KeyObject, randomBytes, sign,
} from 'node:crypto'
import {
  existsSync, mkdirSync, readFileSync, writeFileSync,
} from 'node:fs'
import {join} from 'node:path'

export const TLS_FILES = {ca: 'tls/ca.pem', cert: 'tls/server.pem', key: 'tls/server-key.pem'} as const

// --- a minimal DER writer (X.690): only the types an X.509 v3 certificate needs ---

function length(n: number): Buffer {
  if (n < 0x80) return Buffer.from([n])
  const bytes: number[] = []
  for (let v = n; v > 0; v = Math.floor(v / 256)) bytes.unshift(v % 256)
  return Buffer.from([0x80 + bytes.length, ...bytes])
}

function tlv(tag: number, content: Buffer): Buffer {
  return Buffer.concat([Buffer.from([tag]), length(content.length), content])
}

const seq = (...items: Buffer[]): Buffer => tlv(0x30, Buffer.concat(items))
const set = (...items: Buffer[]): Buffer => tlv(0x31, Buffer.concat(items))
const octets = (content: Buffer): Buffer => tlv(0x04, content)
const bits = (content: Buffer): Buffer => tlv(0x03, Buffer.concat([Buffer.from([0]), content]))
const explicit = (n: number, content: Buffer): Buffer => tlv(0xA0 + n, content)
const bool = (value: boolean): Buffer => tlv(0x01, Buffer.from([value ? 0xFF : 0]))

function integer(bytes: Buffer): Buffer {
  // Positive: a leading 0 when the high bit is set.
  return tlv(0x02, (bytes[0] ?? 0) >= 0x80 ? Buffer.concat([Buffer.from([0]), bytes]) : bytes)
}

function oid(dotted: string): Buffer {
  const [a = 0, b = 0, ...rest] = dotted.split('.').map(Number)
  const out = [(40 * a) + b]
  for (const n of rest) {
    const chunk = [n % 128]
    for (let v = Math.floor(n / 128); v > 0; v = Math.floor(v / 128)) chunk.unshift(128 + (v % 128))
    out.push(...chunk)
  }

  return tlv(0x06, Buffer.from(out))
}

function time(date: Date): Buffer {
  // UTCTime (YYMMDDHHMMSSZ) until 2049, GeneralizedTime after (RFC 5280 4.1.2.5).
  const iso = date.toISOString().replaceAll(/[-:T]/g, '').slice(0, 14)
  return date.getUTCFullYear() < 2050 ? tlv(0x17, Buffer.from(`${iso.slice(2)}Z`)) : tlv(0x18, Buffer.from(`${iso}Z`))
}

const name = (cn: string): Buffer => seq(set(seq(oid('2.5.4.3'), tlv(0x0C, Buffer.from(cn)))))
const extension = (id: string, critical: boolean, value: Buffer): Buffer => seq(oid(id), ...(critical ? [bool(true)] : []), octets(value))
const ECDSA_SHA256 = seq(oid('1.2.840.10045.4.3.2'))

interface CertInput {
  extensions: Buffer[]
  issuer: string
  issuerKey: KeyObject
  publicKey: KeyObject
  subject: string
}

function certificate(input: CertInput, now: Date): Buffer {
  const spki = input.publicKey.export({format: 'der', type: 'spki'})
  const tbs = seq(
    explicit(0, integer(Buffer.from([2]))),
    integer(randomBytes(16)),
    ECDSA_SHA256,
    name(input.issuer),
    seq(time(new Date(now.getTime() - 3_600_000)), time(new Date(now.getTime() + (3650 * 86_400_000)))),
    name(input.subject),
    spki,
    explicit(3, seq(...input.extensions)),
  )
  return seq(tbs, ECDSA_SHA256, bits(sign('sha256', tbs, {dsaEncoding: 'der', key: input.issuerKey})))
}

const keyId = (key: KeyObject): Buffer => createHash('sha1').update(key.export({format: 'der', type: 'spki'})).digest()

function pem(der: Buffer): string {
  const lines = der.toString('base64').match(/.{1,64}/g) ?? []
  return `-----BEGIN CERTIFICATE-----\n${lines.join('\n')}\n-----END CERTIFICATE-----\n`
}

export interface SandboxTls {
  /** PEM of the CA gcloud must trust (core/custom_ca_certs_file). */
  ca: string
  caFile: string
  /** The server certificate (PEM) and its private key (PKCS#8 PEM). */
  cert: string
  key: string
}

/**
 * The CA and the server certificate for `hosts` (DNS names), made on first use and then read from STATE_DIR/tls.
 * A server certificate that does not name every host is made anew (under the same CA when its key is still here,
 * which it is not: the CA key is never written, so both are renewed together).
 */
export function sandboxTls(stateDir: string, hosts: readonly string[], now = new Date()): SandboxTls {
  const caFile = join(stateDir, TLS_FILES.ca)
  const certFile = join(stateDir, TLS_FILES.cert)
  const keyFile = join(stateDir, TLS_FILES.key)
  const hostsFile = join(stateDir, 'tls/hosts.json')
  if ([caFile, certFile, keyFile, hostsFile].every(f => existsSync(f)) && readFileSync(hostsFile, 'utf8') === JSON.stringify(hosts)) {
    return {
      ca: readFileSync(caFile, 'utf8'), caFile, cert: readFileSync(certFile, 'utf8'), key: readFileSync(keyFile, 'utf8'),
    }
  }

  const caKeys = generateKeyPairSync('ec', {namedCurve: 'prime256v1'})
  const serverKeys = generateKeyPairSync('ec', {namedCurve: 'prime256v1'})
  const caName = 'binauthz sandbox CA'
  const caCert = certificate({
    extensions: [
      extension('2.5.29.19', true, seq(bool(true))),
      // keyCertSign (bit 5) and cRLSign (bit 6): BIT STRING with 1 unused bit, 0b0000011 → 0x06
      extension('2.5.29.15', true, tlv(0x03, Buffer.from([1, 0x06]))),
      extension('2.5.29.14', false, octets(keyId(caKeys.publicKey))),
    ],
    issuer: caName,
    issuerKey: caKeys.privateKey,
    publicKey: caKeys.publicKey,
    subject: caName,
  }, now)
  const serverCert = certificate({
    extensions: [
      extension('2.5.29.19', true, seq()),
      // digitalSignature (bit 0): 7 unused bits, 0x80
      extension('2.5.29.15', true, tlv(0x03, Buffer.from([7, 0x80]))),
      extension('2.5.29.37', false, seq(oid('1.3.6.1.5.5.7.3.1'))),
      extension('2.5.29.17', false, seq(...hosts.map(h => tlv(0x82, Buffer.from(h))))),
      extension('2.5.29.14', false, octets(keyId(serverKeys.publicKey))),
      extension('2.5.29.35', false, seq(tlv(0x80, keyId(caKeys.publicKey)))),
    ],
    issuer: caName,
    issuerKey: caKeys.privateKey,
    publicKey: serverKeys.publicKey,
    subject: hosts[0] ?? 'localhost',
  }, now)
  const tls: SandboxTls = {
    ca: pem(caCert),
    caFile,
    cert: pem(serverCert),
    key: createPrivateKey(serverKeys.privateKey.export({format: 'pem', type: 'pkcs8'})).export({format: 'pem', type: 'pkcs8'}).toString(),
  }
  mkdirSync(join(stateDir, 'tls'), {recursive: true})
  writeFileSync(caFile, tls.ca)
  writeFileSync(certFile, tls.cert)
  writeFileSync(keyFile, tls.key, {mode: 0o600})
  writeFileSync(hostsFile, JSON.stringify(hosts))
  return tls
}
