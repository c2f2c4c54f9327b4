// The sandbox's state directory: small JSON files that tests (and curious users) can seed and inspect while the
// server runs. Every request re-reads what it needs and writes atomically (tmp file + rename), so a file edited
// between two gcloud calls is seen by the next one. All I/O is synchronous on purpose: one request's
// read-modify-write never interleaves with another's inside the single-threaded server.
//
//   STATE_DIR/
//     sandbox.json      identity: {project, projectNumber, account}
//     server.json       {pid, port, url, startedAt} of the running server (removed on stop)
//     token             the bearer token gcloud and binauthz must send (mode 0600; never logged)
//     gcloud/           private CLOUDSDK_CONFIG (configurations/config_default, active_config)
//     policy.json       the project's Binary Authorization policy (absent: Google's default policy)
//     policies.json     policies of further projects the sandbox serves, by project ID
//     faults.json       fault knobs (see faults.ts); re-read on every request
//     services.json     Cloud Run services, key "REGION/NAME" -> Knative Service object
//     functions.json    Cloud Functions v2, key "projects/P/locations/R/functions/N" -> Function
//     operations.json   long-running operations (Artifact Registry, Cloud Build, Functions) by full name
//     repositories.json Artifact Registry repositories by full name
//     buckets.json      Cloud Storage buckets by name; objects.json objects by "bucket/name"
//     builds.json       Cloud Build builds by id; images.json images pushed (and deployed) in order
//     requests.jsonl    one JSON line per request: {time, method, host, path, query, status, api, ...} (RequestRecord)
//     uploads/          uploaded source archives
import {randomBytes} from 'node:crypto'
import {
  appendFileSync, chmodSync, existsSync, mkdirSync, readFileSync, renameSync, writeFileSync,
} from 'node:fs'
import {join, resolve} from 'node:path'

export const STATE_FILES = {
  buckets: 'buckets.json',
  builds: 'builds.json',
  faults: 'faults.json',
  functions: 'functions.json',
  gcloudConfig: 'gcloud',
  identity: 'sandbox.json',
  images: 'images.json',
  log: 'server.log',
  objects: 'objects.json',
  operations: 'operations.json',
  policies: 'policies.json',
  policy: 'policy.json',
  repositories: 'repositories.json',
  requests: 'requests.jsonl',
  server: 'server.json',
  services: 'services.json',
  token: 'token',
  /** Further bearer tokens → the principal each acts as (seeded by tests; minted by generateAccessToken). 0600. */
  tokens: 'tokens.json',
  uploads: 'uploads',
} as const

export type JsonObject = Record<string, unknown>

export interface SandboxIdentity {
  account: string
  project: string
  projectNumber: string
}

export const DEFAULT_IDENTITY: SandboxIdentity = {
  account: 'sandbox-user@example.com',
  project: 'sandbox-project',
  projectNumber: '123456789012',
}

/**
 * One line of requests.jsonl. Never contains a credential: of Authorization only whether it carried the sandbox
 * token (`auth`) and otherwise a fingerprint; of the other headers only those in LOGGED_HEADERS.
 */
export interface RequestRecord {
  /** Which API the sandbox routed it to, e.g. "binaryauthorization", "run", "cloudfunctions", "storage". */
  api: string
  /** "sandbox-token": `Bearer <the sandbox token>`; "other": another credential; "none": no Authorization. */
  auth?: 'none' | 'other' | 'sandbox-token'
  /** sha256 of an Authorization header that was not the sandbox token, first 12 hex digits. */
  authFingerprint?: string
  /** Binary Authorization calls only: the request body as sent (up to 1 MiB; see bodyBytes). */
  body?: string
  bodyBytes?: number
  /** slow: how long the answer was held. */
  delayMs?: number
  /** The targeted fault (binauthzFaults kind) or knob ("binauthzFailNext", "binauthzErrorRate") that shaped the answer. */
  fault?: string
  /** Non-secret request headers (LOGGED_HEADERS), lower-case names. */
  headers?: Record<string, string>
  host: string
  method: string
  /** Binary Authorization calls: the API method (getPolicy, updatePolicy, testIamPermissions, getIamPolicy). */
  op?: string
  /** Raw path as sent, e.g. /v1/projects/example.com:p/policy. */
  path: string
  /** Who the bearer token belongs to: the sandbox account for the sandbox token, else a principal of tokens.json. */
  principal?: string
  /** Binary Authorization calls: the percent-decoded project of the path. */
  project?: string
  /** Query string with signed-URL secrets replaced by "REDACTED". */
  query: string
  /** The status answered (0: the connection was reset without an answer). */
  status: number
  time: string
}

/** Headers recorded in requests.jsonl (an allowlist: anything else may carry a secret). */
export const LOGGED_HEADERS = [
  'accept',
  'accept-encoding',
  'connection',
  'content-length',
  'content-type',
  'user-agent',
  'x-goog-api-client',
  'x-goog-request-params',
  'x-goog-user-project',
] as const

/** A pushed image, as recorded in images.json. */
export interface ImageRecord {
  digest?: string
  image: string
  pushedAt: string
  repository: string
}

export function isRecord(value: unknown): value is JsonObject {
  return typeof value === 'object' && value !== null && !Array.isArray(value)
}

export class SandboxState {
  readonly dir: string

  constructor(dir: string) {
    this.dir = resolve(dir)
    mkdirSync(this.dir, {recursive: true})
  }

  /** Adds a bearer token for a principal (0600 file; tests seed e.g. an ADC identity, generateAccessToken mints). */
  addPrincipalToken(token: string, principal: string): void {
    const path = this.file(STATE_FILES.tokens)
    writeFileSync(path, `${JSON.stringify({...this.principalTokens(), [token]: principal}, null, 2)}\n`, {mode: 0o600})
    chmodSync(path, 0o600)
  }

  appendRequest(record: RequestRecord): void {
    appendFileSync(this.file(STATE_FILES.requests), `${JSON.stringify(record)}\n`)
  }

  /** Empties the request log. */
  clearRequests(): void {
    writeFileSync(this.file(STATE_FILES.requests), '')
  }

  exists(name: string): boolean {
    return existsSync(this.file(name))
  }

  file(name: string): string {
    return join(this.dir, name)
  }

  getEntry(name: string, key: string): JsonObject | undefined {
    return this.readMap(name)[key]
  }

  identity(): SandboxIdentity {
    const stored = this.readJson<Partial<SandboxIdentity>>(STATE_FILES.identity, {})
    return {...DEFAULT_IDENTITY, ...stored}
  }

  /** tokens.json: further bearer tokens and the principal each acts as. */
  principalTokens(): Record<string, string> {
    const map = this.readJson<Record<string, unknown>>(STATE_FILES.tokens, {})
    const out: Record<string, string> = {}
    for (const [token, principal] of Object.entries(map)) if (typeof principal === 'string') out[token] = principal
    return out
  }

  putEntry(name: string, key: string, value: JsonObject): void {
    const map = this.readMap(name)
    this.writeJson(name, {...map, [key]: value})
  }

  /** Reads a JSON file; a missing file gives `fallback`. A malformed file throws (a seeding mistake to surface). */
  readJson<T>(name: string, fallback: T): T {
    let text: string
    try {
      text = readFileSync(this.file(name), 'utf8')
    } catch (error: unknown) {
      if ((error as NodeJS.ErrnoException).code === 'ENOENT') return fallback
      throw error
    }

    if (text.trim() === '') return fallback
    return JSON.parse(text) as T
  }

  /** Reads a map file (object keyed by name). */
  readMap(name: string): Record<string, JsonObject> {
    const value = this.readJson<unknown>(name, {})
    return isRecord(value) ? (value as Record<string, JsonObject>) : {}
  }

  recordImage(record: ImageRecord): void {
    const images = this.readJson<ImageRecord[]>(STATE_FILES.images, [])
    this.writeJson(STATE_FILES.images, [...images, record])
  }

  requests(): RequestRecord[] {
    let text: string
    try {
      text = readFileSync(this.file(STATE_FILES.requests), 'utf8')
    } catch {
      return []
    }

    return text
    .split('\n')
    .filter(line => line.trim() !== '')
    .map(line => JSON.parse(line) as RequestRecord)
  }

  /** The bearer token, created (0600) on first use. */
  token(): string {
    const path = this.file(STATE_FILES.token)
    if (existsSync(path)) {
      const value = readFileSync(path, 'utf8').trim()
      if (value !== '') return value
    }

    const token = `sandbox-${randomBytes(24).toString('base64url')}`
    writeFileSync(path, `${token}\n`, {mode: 0o600})
    chmodSync(path, 0o600)
    return token
  }

  uploadsDir(): string {
    const dir = this.file(STATE_FILES.uploads)
    mkdirSync(dir, {recursive: true})
    return dir
  }

  writeJson(name: string, value: unknown, mode?: number): void {
    const target = this.file(name)
    const tmp = `${target}.${process.pid}.${randomBytes(4).toString('hex')}.tmp`
    writeFileSync(tmp, `${JSON.stringify(value, null, 2)}\n`, mode === undefined ? undefined : {mode})
    renameSync(tmp, target)
  }
}
