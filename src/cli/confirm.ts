// Showing a planned policy change and asking for it, shared by `binauthz setup` and `binauthz policy allow|revoke|restore`.

import type {PolicyPlan} from '../policy/plan.js'

import {renderPolicyDiff} from '../policy/diff.js'
import {confirmPrompt, type PromptIo} from './prompts.js'

/** Where the wizard and the policy commands report progress (stderr under --json, never stdout). */
export interface Ui {
  info(line: string): void
  warn(line: string): void
}

export const silentUi: Ui = {
  info() {},
  warn() {},
}

export interface ConfirmOptions {
  io?: PromptIo
  message?: string
  ui: Ui
  yes: boolean
}

/** A confirm callback for applyPolicyChange: prints the diff, then --yes or a terminal prompt (else exit 3 naming --yes). */
export function confirmPlan(options: ConfirmOptions): (plan: PolicyPlan) => Promise<boolean> {
  return async plan => {
    options.ui.info('Planned change to the Binary Authorization policy:')
    for (const line of renderPolicyDiff(plan.before, plan.after).split('\n')) options.ui.info(line)
    if (options.yes) return true
    return confirmPrompt(options.message ?? 'Write this change to the policy?', {flag: '--yes', ...options.io, default: false})
  }
}
