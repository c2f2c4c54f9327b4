import * as Args from '@oclif/core/args'

import {BinauthzCommand} from '../cli/base-command.js'
import {COMPLETION_SHELLS, type CompletionScript, completionScript} from '../cli/completion.js'
import {withExitCodes} from '../cli/error-docs.js'

export default class Completion extends BinauthzCommand {
  static override args = {
    shell: Args.string({description: 'The shell to complete in.', options: [...COMPLETION_SHELLS], required: true}),
  }
  static override description = withExitCodes(`Prints a completion script for bash, zsh or fish: commands, flags, and the values of flags that have a fixed list
(--kind run|function|all). It is generated from the command manifest when the package is built, so completion adds
nothing to binauthz's start. Load it in each shell session, or install it where your shell looks for completions:
  bash  source <(binauthz completion bash)     (in ~/.bashrc), or the file of the first example (bash-completion)
  zsh   binauthz completion zsh > "$fpath[1]/_binauthz"     (then start a new zsh)
  fish  binauthz completion fish > ~/.config/fish/completions/binauthz.fish`)
  static override examples = [
    '<%= config.bin %> <%= command.id %> bash > ~/.local/share/bash-completion/completions/<%= config.bin %>',
    '<%= config.bin %> <%= command.id %> zsh > "$fpath[1]/_<%= config.bin %>"',
    '<%= config.bin %> <%= command.id %> fish > ~/.config/fish/completions/<%= config.bin %>.fish',
  ]
  static override summary = 'Print the shell completion script for bash, zsh or fish.'

  async run(): Promise<CompletionScript> {
    const {args} = await this.parse(Completion)
    const result = completionScript(this.config.root, this.config.bin, args.shell as CompletionScript['shell'])
    this.say(result.script.trimEnd())
    return result
  }
}
