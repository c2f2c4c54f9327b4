import {Command} from '@oclif/core/command'

import {withExitCodes} from '../cli/error-docs.js'

export default class VersionCommand extends Command {
  static override description = withExitCodes('Prints binauthz-deploy/VERSION with the platform and Node version, as --version does.')
  static override examples = ['<%= config.bin %> <%= command.id %>', '<%= config.bin %> --version', '<%= config.bin %> -v']
  static override summary = 'Print the binauthz version (the same as --version and -v).'

  async run(): Promise<void> {
    this.log(this.config.userAgent)
  }
}
