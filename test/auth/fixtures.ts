import {mkdirSync, writeFileSync} from 'node:fs'
import {join} from 'node:path'

/** Writes a gcloud config dir: configurations/config_NAME files and optionally active_config. */
export function writeGcloudDir(dir: string, files: {active?: string; configs?: Record<string, string>}): void {
  mkdirSync(join(dir, 'configurations'), {recursive: true})
  if (files.active !== undefined) writeFileSync(join(dir, 'active_config'), files.active)
  for (const [name, text] of Object.entries(files.configs ?? {})) writeFileSync(join(dir, 'configurations', `config_${name}`), text)
}
