// What `binauthz setup` is given (answers from flags, its dependencies) and what it returns (the --json contract).

import type {CredentialSource} from '../auth/credentials.js'
import type {GcloudConfig} from '../auth/gcloud-config.js'
import type {RequestContext} from '../google/request-context.js'
import type {SavedDefaults} from '../store/defaults.js'
import type {OpenedClient} from './open-client.js'
import type {DefaultRuleSummary, PathStatus} from './policy-status.js'
import type {Runtime} from './ports.js'
import type {ApiCheck, Capture, GcloudCheck} from './setup-checks.js'
import type {KindChoice} from './targets.js'

export interface SetupAnswers {
  /** --no-apply sets false: never write the policy, print the admin hand-off instead. */
  apply: boolean
  dockerRepository?: string
  kind?: KindChoice
  project?: string
  regions?: readonly string[]
  /** --save / --no-save; undefined: asked in a terminal, else saved (and said so, naming --no-save). */
  save?: boolean
  /** --yes: apply the missing entries without asking. */
  yes: boolean
}

/** What the wizard works with; the run's signal also stops its gcloud checks. */
export interface SetupDeps extends Partial<Pick<Runtime, 'clock' | 'config'>>, Pick<Runtime, 'env' | 'invocation' | 'prompter' | 'ui'>, RequestContext {
  /** Default: captureGcloud from src/gcloud/runner.ts (imported lazily). */
  capture?: Capture
  /** Default: openClient from ./open-client.ts. */
  open?: (options: RequestContext & {env: NodeJS.ProcessEnv; gcloud: GcloudConfig}) => Promise<OpenedClient>
}

export interface SetupPolicyResult {
  added: string[]
  backupFile?: string
  etagAfter?: string
  etagBefore?: string
  /** What an admin must do, when we could not or were told not to write. */
  handoff?: string
  /** nothing-missing | applied | declined | not-applied (--no-apply) | permission-denied | skipped (API unusable) */
  state: 'applied' | 'declined' | 'not-applied' | 'nothing-missing' | 'permission-denied' | 'skipped'
}

export interface SetupResult {
  api: {enableCommand?: string; message?: string; state: ApiCheck['state'];}
  credentials: CredentialSource & {account?: string}
  defaultRule?: DefaultRuleSummary
  defaults: {file?: string; saved: boolean; values: SavedDefaults}
  dockerRepository?: string
  gcloud: GcloudCheck
  kind: KindChoice
  nextSteps: string[]
  paths: PathStatus[]
  policy: SetupPolicyResult
  project: string
  /** Everything needed for `binauthz deploy` is in place. */
  ready: boolean
  regions: string[]
}

