// The sandbox's gRPC endpoint: Cloud Run v2 WorkerPools and google.longrunning.Operations, what gcloud 528's GAPIC
// client for worker pools calls (worker-pools.ts has the logic). gcloud dials `REGION-127.0.0.1:PORT` (the RUN
// endpoint override with the region in front: surface/run/worker_pools/deploy.py DeriveRegionalEndpoint) over TLS,
// through its proxy setting (core/gapic_util_internal.py MakeChannelOptions → grpc.http_proxy), i.e. as
// `CONNECT REGION-127.0.0.1:PORT` to the sandbox, which hands the tunnel to this server (server.ts). It listens on
// its own loopback port with the certificate of tls.ts. @grpc/grpc-js and @grpc/proto-loader are loaded only here,
// when the sandbox serves (never on the CLI's start path); the protos are Google's, vendored in protos/ (Apache-2.0).
import {join} from 'node:path'
import {fileURLToPath} from 'node:url'

import type {SandboxContext} from './api.js'
import type {RequestRecord} from './state.js'
import type {SandboxTls} from './tls.js'

import {
  createWorkerPool, getPoolOperation, getWorkerPool, GRPC, listWorkerPools, type PoolOperation, type RpcError, type RpcResult,
  updateWorkerPool,
} from './worker-pools.js'

/** The vendored protos: beside this module (tsc output: dist/src/sandbox/protos; bundle: dist/bundle/protos). */
export function protosDir(): string {
  return join(fileURLToPath(new URL('.', import.meta.url)), 'protos')
}

export interface GrpcOptions {
  context(): SandboxContext
  log(record: Omit<RequestRecord, 'time'>): void
  /** Whom the Authorization header acts as; undefined: not a sandbox token. */
  principal(authorization: string | undefined): string | undefined
  tls: SandboxTls
}

export interface GrpcServer {
  close(): Promise<void>
  port: number
}

const HTTP_OF_GRPC: Record<number, number> = {
  0: 200, 3: 400, 5: 404, 6: 409, 7: 403, 9: 400, 12: 501, 16: 401,
}

type Json = Record<string, unknown>
type Call = {getHost?: () => string; metadata: {get(key: string): unknown[]}; request: Json}
type Callback = (error: null | {code: number; details: string}, value?: unknown) => void

export async function startGrpc(options: GrpcOptions): Promise<GrpcServer> {
  const grpc = await import('@grpc/grpc-js')
  const loader = await import('@grpc/proto-loader')
  const loadOptions = {
    defaults: false, enums: String, includeDirs: [protosDir()], longs: String, oneofs: true,
  }
  const definition = await loader.load(['google/cloud/run/v2/worker_pool.proto', 'google/longrunning/operations.proto'], loadOptions)
  const pools = definition['google.cloud.run.v2.WorkerPools'] as Record<string, {path: string; responseSerialize(value: unknown): Buffer}>
  const operations = definition['google.longrunning.Operations'] as Record<string, {path: string}>
  const serializePool = pools.GetWorkerPool?.responseSerialize
  if (!pools.GetWorkerPool || !serializePool || !operations.GetOperation) throw new Error('sandbox: the vendored Cloud Run v2 protos lack WorkerPools or Operations')
  // google.protobuf.Any comes from protobufjs's own copy, which keeps the proto's snake_case field name.
  const any = (pool: unknown): Json => ({type_url: 'type.googleapis.com/google.cloud.run.v2.WorkerPool', value: serializePool(pool)})
  const asOperation = (op: PoolOperation): Json => ({
    done: true,
    metadata: any(op.pool),
    name: op.name,
    ...(op.error ? {error: {code: op.error.code, details: [], message: op.error.message}} : {response: any(op.pool)}),
  })

  const unary = <T>(rpc: string, run: (ctx: SandboxContext, request: Json, principal: string) => RpcResult<T>, shape: (value: T) => unknown) =>
    (call: Call, callback: Callback): void => {
      const authorization = call.metadata.get('authorization')[0]
      const principal = options.principal(typeof authorization === 'string' ? authorization : undefined)
      let result: RpcResult<unknown>
      if (principal === undefined) {
        result = {error: {code: GRPC.UNAUTHENTICATED, message: 'Request is missing required authentication credential. Expected the sandbox access token (see `binauthz sandbox env`).'}}
      } else {
        try {
          const ctx = options.context()
          result = ctx.faults.disabledApis.includes('run.googleapis.com')
            ? {error: {code: GRPC.PERMISSION_DENIED, message: `Cloud Run Admin API has not been used in project ${ctx.identity.projectNumber} before or it is disabled.`}}
            : run(ctx, call.request, principal)
        } catch (error: unknown) {
          result = {error: {code: 13, message: `Sandbox internal error: ${error instanceof Error ? error.message : String(error)}`}}
        }
      }

      const error: RpcError | undefined = 'error' in result ? result.error : undefined
      const userAgent = call.metadata.get('user-agent')[0]
      const params = call.metadata.get('x-goog-request-params')[0]
      options.log({
        api: 'run',
        auth: authorization === undefined ? 'none' : (principal === undefined ? 'other' : 'sandbox-token'),
        headers: {
          'content-type': 'application/grpc',
          ...(typeof userAgent === 'string' ? {'user-agent': userAgent} : {}),
          ...(typeof params === 'string' ? {'x-goog-request-params': params} : {}),
        },
        host: call.getHost?.() ?? '',
        method: 'POST',
        path: rpc,
        ...(principal === undefined ? {} : {principal}),
        query: '',
        status: error ? (HTTP_OF_GRPC[error.code] ?? 500) : 200,
      })
      if (error) callback({code: error.code, details: error.message})
      else callback(null, shape((result as {value: T}).value))
    }

  const server = new grpc.Server()
  const poolOp = (op: PoolOperation): unknown => asOperation(op)
  server.addService(pools as never, {
    CreateWorkerPool: unary(pools.CreateWorkerPool?.path ?? '', createWorkerPool, poolOp),
    GetWorkerPool: unary(pools.GetWorkerPool.path, getWorkerPool, v => v),
    ListWorkerPools: unary(pools.ListWorkerPools?.path ?? '', listWorkerPools, v => v),
    UpdateWorkerPool: unary(pools.UpdateWorkerPool?.path ?? '', updateWorkerPool, poolOp),
  })
  server.addService(operations as never, {
    GetOperation: unary(operations.GetOperation.path, getPoolOperation, poolOp),
    WaitOperation: unary(operations.WaitOperation?.path ?? '', getPoolOperation, poolOp),
  })
  const credentials = grpc.ServerCredentials.createSsl(null, [{cert_chain: Buffer.from(options.tls.cert), private_key: Buffer.from(options.tls.key)}], false)
  const port = await new Promise<number>((resolve, reject) => {
    server.bindAsync('127.0.0.1:0', credentials, (error, bound) => (error ? reject(error) : resolve(bound)))
  })
  return {
    close: () => new Promise<void>(resolve => {
      server.tryShutdown(() => resolve())
      // Open tunnels (gcloud keeps its channel until it exits) must not hold the sandbox's stop.
      setTimeout(() => server.forceShutdown(), 1000).unref()
    }),
    port,
  }
}
