// Everything that documents exit and error codes is generated from the one registry in src/errors.ts: the README's
// tables (scripts/error-docs.js, run by `npm run readme`) and the exit-code paragraph of every command's help.
import {
  ERROR_CODES, EXIT_CODE_MEANINGS, EXIT_CODES, type ExitCodeName,
} from '../errors.js'
import {
  POLICY_GET_ONLY_ROLES, POLICY_GET_PERMISSION, POLICY_UPDATE_PERMISSION, POLICY_UPDATE_ROLES,
} from '../policy/handoff.js'

const byCode = (Object.entries(EXIT_CODES) as [ExitCodeName, number][]).sort(([, a], [, b]) => a - b)

/** The README's exit-code table. */
export function exitCodeTable(): string {
  return [
    '| code | name | meaning |',
    '|---|---|---|',
    ...byCode.map(([name, code]) => `| ${code} | \`${name}\` | ${EXIT_CODE_MEANINGS[name]} |`),
  ].join('\n')
}

/** The README's table of error codes (the `code` of the --json `error` object), with each one's exit code. */
export function errorCodeTable(): string {
  return [
    '| code | exit | meaning |',
    '|---|---:|---|',
    ...Object.entries(ERROR_CODES).map(([code, spec]) => `| \`${code}\` | ${EXIT_CODES[spec.exit]}${code === 'INTERRUPTED' ? ' / 143' : ''} | ${spec.meaning} |`),
  ].join('\n')
}

const roles = (list: readonly string[]): string => list.map(role => `\`${role}\``).join(', ')

/** The README's permissions table: the roles are the admin hand-off's (src/policy/handoff.ts), one list. */
export function permissionTable(): string {
  return [
    '| to | you need | granted by |',
    '|---|---|---|',
    `| read the policy (every command) | \`${POLICY_GET_PERMISSION}\` | ${roles(POLICY_GET_ONLY_ROLES)}, and all below |`,
    `| add the allowlist entry | \`${POLICY_UPDATE_PERMISSION}\` | ${roles(POLICY_UPDATE_ROLES)} |`,
    '| deploy | what `gcloud run deploy` / `gcloud functions deploy` need | e.g. `roles/run.developer` / `roles/cloudfunctions.developer` |',
  ].join('\n')
}

/** The exit-code paragraph of a command's help. */
export function exitCodesHelp(): string {
  return `Exit codes: ${byCode.map(([name, code]) => `${code} ${name}`).join(', ')} (the README lists every error code; --json errors carry it as error.code).`
}

/** A command's description with the generated exit-code paragraph at its end. */
export function withExitCodes(description: string): string {
  return `${description}\n\n${exitCodesHelp()}`
}
