// The pure part of the GitHub Action (action.yml): its inputs → binauthz's argv, and the --json result → step outputs
// in GITHUB_OUTPUT's syntax. No shell is ever involved: every input stays one argv element or is split here by rules
// documented in README.md ("GitHub Action").
import {randomBytes} from 'node:crypto'

/** A boolean input: "true" or "false" (any case, surrounding spaces ignored); empty means the default. */
export function booleanInput(name, value, fallback = false) {
  const text = (value ?? '').trim().toLowerCase()
  if (text === '') return fallback
  if (text === 'true') return true
  if (text === 'false') return false
  throw new Error(`Input ${name} must be true or false, not ${JSON.stringify(value)}.`)
}

/** Regions: separated by commas, spaces or line breaks. */
export function regionsInput(value = '') {
  return value.split(/[\s,]+/).filter(r => r !== '')
}

/**
 * gcloud's arguments: one per line when the input has a line break (each line trimmed, empty lines skipped), else
 * the input split at runs of whitespace. Nothing is unquoted or expanded: a value with a space needs its own line.
 */
export function flagsInput(text = '') {
  if (/[\r\n]/.test(text)) return text.split(/\r?\n|\r/).map(line => line.trim()).filter(line => line !== '')
  return text.split(/\s+/).filter(arg => arg !== '')
}

/** binauthz's arguments for the inputs (after the path of its bin). */
export function binauthzArgs(env) {
  const kind = (env.INPUT_KIND ?? '').trim()
  if (kind !== 'run' && kind !== 'function') throw new Error(`Input kind must be run or function, not ${JSON.stringify(env.INPUT_KIND ?? '')}.`)
  const name = (env.INPUT_NAME ?? '').trim()
  if (name === '') throw new Error('Input name is required: the Cloud Run service or function to deploy.')
  const noPatch = booleanInput('no_patch', env.INPUT_NO_PATCH)
  const dryRun = booleanInput('dry_run', env.INPUT_DRY_RUN)
  const project = (env.INPUT_PROJECT_ID ?? '').trim()
  const regions = regionsInput(env.INPUT_REGIONS)
  const deadline = (env.INPUT_DEADLINE ?? '').trim()
  const flags = flagsInput(env.INPUT_FLAGS)
  return [
    'deploy',
    kind,
    name,
    '--json',
    ...(project === '' ? [] : ['--project', project]),
    ...(regions.length === 0 ? [] : ['--region', regions.join(',')]),
    // A workflow run cannot be asked: --yes is the workflow's consent to add the entries (the diff is in the log);
    // no_patch forbids any policy write instead, dry_run changes nothing.
    ...(noPatch ? ['--no-patch'] : ['--yes']),
    ...(dryRun ? ['--dry-run'] : []),
    ...(deadline === '' ? [] : ['--deadline', deadline]),
    ...(flags.length === 0 ? [] : ['--', ...flags]),
  ]
}

/** The step outputs for a --json deploy result (or a bare {error} object). */
export function outputsOf(result, exitCode) {
  const deploys = Array.isArray(result.deploys) ? result.deploys : []
  const urls = Object.fromEntries(deploys.filter(d => typeof d.url === 'string').map(d => [d.region, d.url]))
  const policy = result.policy ?? {}
  return {
    backup_file: policy.backupFile ?? '',
    etag_after: policy.etagAfter ?? '',
    etag_before: policy.etagBefore ?? '',
    exit_code: String(exitCode),
    exit_codes: JSON.stringify(Object.fromEntries(deploys.map(d => [d.region, d.exitCode]))),
    patterns_added: JSON.stringify(result.patterns?.added ?? []),
    policy_written: String(policy.written === true),
    result: JSON.stringify(result),
    url: Object.values(urls)[0] ?? '',
    urls: JSON.stringify(urls),
  }
}

/** GITHUB_OUTPUT text: every value in the multiline form NAME<<DELIMITER, with a delimiter the value does not contain. */
export function githubOutputText(outputs) {
  let text = ''
  for (const [name, value] of Object.entries(outputs)) {
    let delimiter
    do delimiter = `ghadelimiter_${randomBytes(12).toString('hex')}`
    while (value.includes(delimiter))
    text += `${name}<<${delimiter}\n${value}\n${delimiter}\n`
  }

  return text
}
