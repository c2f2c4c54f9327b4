// The shell completion scripts `binauthz completion SHELL` prints: generated at build time from oclif.manifest.json by
// scripts/completion.js into dist/bundle/completion/ (shipped in the package), read here as they are. Nothing of
// completion runs when binauthz starts.
import {readFileSync} from 'node:fs'
import {join} from 'node:path'

import {BugError} from '../errors.js'

export const COMPLETION_SHELLS = ['bash', 'zsh', 'fish'] as const
export type CompletionShell = (typeof COMPLETION_SHELLS)[number]

/** What `completion SHELL --json` returns. */
export interface CompletionScript {
  /** Where the script is (inside the installed package). */
  file: string
  /** How to load it, one line. */
  load: string
  script: string
  shell: CompletionShell
}

/** How a user loads the script of `shell` for `bin`, one line (also in each script's header). */
export function completionLoadLine(bin: string, shell: CompletionShell): string {
  if (shell === 'bash') return `source <(${bin} completion bash)   (e.g. in ~/.bashrc)`
  if (shell === 'zsh') return `${bin} completion zsh > "$fpath[1]/_${bin}"   (then start a new zsh)`
  return `${bin} completion fish > ~/.config/fish/completions/${bin}.fish`
}

/** The generated script of `shell`, from the package at `root` (oclif's config.root). */
export function completionScript(root: string, bin: string, shell: CompletionShell): CompletionScript {
  const file = join(root, 'dist', 'bundle', 'completion', `${bin}.${shell}`)
  let script: string
  try {
    script = readFileSync(file, 'utf8')
  } catch (error) {
    // `npm run build` writes it and the package ships it: missing means a broken build or install.
    throw new BugError(`The ${shell} completion script ${file} is missing: run \`npm run build\` (or reinstall binauthz-deploy).`, {cause: error})
  }

  return {
    file, load: completionLoadLine(bin, shell), script, shell,
  }
}
