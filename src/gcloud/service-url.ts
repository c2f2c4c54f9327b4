// The URL gcloud printed for a deployed service (pure). `gcloud run deploy` ends with
// "Service URL: {bold}URL{reset}" on stderr (lib/googlecloudsdk/command_lib/run/messages_util.py
// GetSuccessMessageForSynchronousDeploy; printed only when the revision serves traffic). The bold codes appear in a
// terminal, so they are stripped before matching.

// ESC [ … m, the attribute sequences gcloud writes (built from the code point: no control character in a regex literal).
const ANSI = new RegExp(`${String.fromCodePoint(27)}\\[[0-9;]*m`, 'g')

/** The last "Service URL: …" gcloud printed, or undefined when it printed none. */
export function serviceUrlOf(stderr: string): string | undefined {
  const matches = [...stderr.replaceAll(ANSI, '').matchAll(/^Service URL: (https?:\/\/\S+)\s*$/gm)]
  return matches.at(-1)?.[1]
}
