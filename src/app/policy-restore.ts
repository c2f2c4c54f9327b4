// `binauthz policy restore`: put a backup's content back through the one policy-change path (refusing a backup of
// another project), and `restore --list`. Nothing here prints.

import {UserError} from '../errors.js'
import {planRestore} from '../policy/restore-plan.js'
import {type BackupEntry, listPolicyBackups, readPolicyBackupRecord} from '../store/backups.js'
import {resolveContext} from './context.js'
import {
  applyConfirmed, type CommonInput, type PolicyWriteReport, withRunConfig, type WriteInput, writeOutcome,
} from './policy-access.js'

export interface PolicyRestoreInput extends WriteInput {
  file?: string
  latest: boolean
}

export interface PolicyRestoreResult extends PolicyWriteReport {
  /** The etag the backup was taken at, when it recorded one. */
  backupEtag?: string
  /** The backup restored from. */
  file: string
}

async function chooseBackup(input: PolicyRestoreInput, project: string): Promise<string> {
  if (input.file !== undefined) return input.file
  const backups = await listPolicyBackups(input.env, project)
  if (backups.length === 0) {
    throw new UserError(`No policy backups of project ${project} were found.`, {
      code: 'NO_BACKUP',
      suggestions: ['Backups are saved before every policy write by binauthz; pass --file FILE to restore another file.'],
    })
  }

  const newestFirst = backups // listPolicyBackups returns newest first
  const newest = newestFirst[0]
  if (input.latest && newest) return newest.file
  return input.prompter.select(
    'Which backup should be restored?',
    newestFirst.map(b => ({name: `${b.savedAt}  ${b.etag ?? '(no etag)'}  ${b.file}`, value: b.file})),
    {flag: '--latest or --file FILE'},
  )
}

export async function restorePolicy(given: PolicyRestoreInput): Promise<PolicyRestoreResult> {
  const input = withRunConfig(given)
  const ctx = resolveContext({
    ...(input.project === undefined ? {} : {project: input.project}), config: input.config, env: input.env, requireRegion: false,
  })
  const {project} = ctx
  const file = await chooseBackup(input, project)
  const record = await readPolicyBackupRecord(file)
  const backup = record.policy
  const otherProject = (): UserError => new UserError(
    `The backup ${file} is a policy of project ${record.project}${typeof backup.name === 'string' ? ` (${backup.name})` : ''}, not of project ${project}; nothing was changed.`,
    {
      code: 'BACKUP_OTHER_PROJECT',
      suggestions: [`Pass --project matching the backup, or choose a backup of ${project} with --latest.`],
    },
  )
  const numbered = typeof backup.name === 'string' ? /^projects\/(\d+)\/policy$/.exec(backup.name)?.[1] : undefined
  const foreignName = typeof backup.name === 'string' && backup.name !== `projects/${project}/policy` && numbered === undefined
  if (record.project !== project || foreignName) throw otherProject()

  const applied = await applyConfirmed(input, {
    plan(current) {
      // A policy named by project NUMBER belongs here only if that number is this project's: the ID itself, or the
      // number the API names the current policy with. Otherwise it could be any project's (refused).
      if (numbered !== undefined && numbered !== project && current.name !== `projects/${numbered}/policy`) throw otherProject()
      return planRestore(current, backup)
    },
    project,
  })
  const {plan} = applied
  return {
    file,
    mode: input.mode,
    project,
    ...(record.etag === undefined ? {} : {backupEtag: record.etag}),
    added: plan.added,
    changed: plan.changed,
    declined: applied.declined,
    removed: plan.removed,
    written: applied.written,
    ...writeOutcome(applied, 'Nothing to restore: the current policy already has the content of the backup.'),
  }
}

export interface BackupListResult {
  /** Newest first. */
  backups: BackupEntry[]
  project: string
}

/** `policy restore --list`: the saved backups of the project's policy; no API call. */
export async function listBackups(given: CommonInput): Promise<BackupListResult> {
  const input = withRunConfig(given)
  const ctx = resolveContext({
    ...(input.project === undefined ? {} : {project: input.project}), config: input.config, env: input.env, requireRegion: false,
  })
  return {backups: await listPolicyBackups(input.env, ctx.project), project: ctx.project}
}
