import * as Args from '@oclif/core/args'
import {Command} from '@oclif/core/command'
import {loadHelpClass} from '@oclif/core/help'

import {withExitCodes} from '../cli/error-docs.js'
import {unknownCommandText} from '../cli/main.js'
import {EXIT_CODES} from '../errors.js'

export default class HelpCommand extends Command {
  static override args = {
    command: Args.string({description: 'The command to show help for, e.g. "deploy run".', required: false}),
  }
  static override description = withExitCodes('Prints the help of a command or topic, or the list of commands. An unknown command is a usage error (exit 2) naming the nearest one.')
  static override examples = ['<%= config.bin %> <%= command.id %>', '<%= config.bin %> <%= command.id %> deploy run']
  // `help deploy run`: a command is several words.
  static override strict = false
  static override summary = 'Show help for binauthz or one of its commands (the same as --help).'
  static override usage = 'help [COMMAND]'

  async run(): Promise<void> {
    const words = this.argv.filter(word => !word.startsWith('-'))
    const id = words.join(':')
    if (words.length > 0 && this.config.findCommand(id) === undefined && this.config.findTopic(id) === undefined) {
      const visible = [...this.config.commands.filter(c => !c.hidden).map(c => c.id), ...this.config.topics.filter(t => !t.hidden).map(t => t.name)]
      process.stderr.write(unknownCommandText(this.config.bin, id, visible, {via: ['help']}))
      this.exit(EXIT_CODES.usage)
    }

    const Help = await loadHelpClass(this.config)
    await new Help(this.config, this.config.pjson.oclif.helpOptions ?? this.config.pjson.helpOptions).showHelp(words)
  }
}
