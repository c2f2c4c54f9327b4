// The Terraform alternative to a policy import: `admission_whitelist_patterns` blocks of the
// google_binary_authorization_policy resource (hashicorp/google provider). Pure: no I/O.

const HCL_ESCAPES: Readonly<Record<string, string>> = {
  '\t': String.raw`\t`,
  '\n': String.raw`\n`,
  '\r': String.raw`\r`,
  '"': String.raw`\"`,
  '\\': String.raw`\\`,
}

/** An HCL quoted string: escapes `\`, `"`, newlines/tabs, other control characters, and the `${` / `%{` template openers. */
export function hclString(value: string): string {
  let out = ''
  for (const ch of value) {
    const code = ch.codePointAt(0) ?? 0
    const escaped = HCL_ESCAPES[ch]
    if (escaped !== undefined) out += escaped
    else if (code < 0x20 || (code >= 0x7F && code <= 0x9F) || code === 0x20_28 || code === 0x20_29) out += `\\u${code.toString(16).padStart(4, '0')}`
    else out += ch
  }

  // Literal "${" and "%{" would start an interpolation/directive; HCL escapes them by doubling the sigil.
  // (Replacer functions: in a replacement string "$$" would itself collapse to "$".)
  return `"${out.replaceAll('${', () => '$${').replaceAll('%{', () => '%%{')}"`
}

/** Just the `admission_whitelist_patterns { name_pattern = "..." }` blocks, indented by `indent`. */
export function terraformPatternBlocks(patterns: readonly string[], indent = '  '): string {
  return patterns
  .map(pattern => `${indent}admission_whitelist_patterns {\n${indent}  name_pattern = ${hclString(pattern)}\n${indent}}\n`)
  .join('')
}

/**
 * A `resource "google_binary_authorization_policy"` hint containing one `admission_whitelist_patterns` block per
 * pattern, for administrators who manage the policy with Terraform (add the blocks to the existing resource).
 */
export function terraformAllowlistBlock(patterns: readonly string[], options: {project?: string} = {}): string {
  const lines = [
    '# Add these blocks to your existing google_binary_authorization_policy resource',
    '# (keep its default_admission_rule and other settings as they are).',
    'resource "google_binary_authorization_policy" "policy" {',
  ]
  if (options.project !== undefined) lines.push(`  project = ${hclString(options.project)}`, '')
  return `${lines.join('\n')}\n${terraformPatternBlocks(patterns)}  # ... existing admission_whitelist_patterns, default_admission_rule, etc.\n}\n`
}
