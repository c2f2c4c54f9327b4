import {DEPLOY_OUTPUT_HELP, DeployCommand} from '../../cli/deploy-command.js'
import {withExitCodes} from '../../cli/error-docs.js'

export default class DeployFunction extends DeployCommand {
  static override description = withExitCodes(`Resolves the project and region(s), works out which Artifact Registry repository the build lands in (REGION-docker.pkg.dev/PROJECT/gcf-artifacts, or the one given with --docker-repository after --), makes sure the project's Binary Authorization policy allowlists it (one read, at most one etag-checked write for all regions, after showing the diff and asking — or with --yes), then runs, per region:

  gcloud functions deploy NAME --gen2 --project=PROJECT --region=REGION [GCLOUD_ARGS...] --binary-authorization=default

Everything after -- goes to gcloud unchanged. Arguments that would undo Binary Authorization (--binary-authorization=OTHER, --clear-binary-authorization), 1st gen (--no-gen2), another --project or --region, --flags-file, a second --, or shell syntax are refused before anything changes.

${DEPLOY_OUTPUT_HELP}`)
  static override examples = [
    {
      command:
        '<%= config.bin %> <%= command.id %> my-fn --region europe-west1 -- --runtime nodejs24 --source . --entry-point handler --trigger-http',
      description: 'Deploy an HTTP function (2nd gen).',
    },
    {
      command:
        '<%= config.bin %> <%= command.id %> my-fn --region europe-west1 --yes -- --runtime nodejs24 --source . --entry-point handler --trigger-http --docker-repository projects/my-proj/locations/europe-west1/repositories/builds',
      description: 'Build into a custom repository (the allowlist entry follows it).',
    },
    {
      command: '<%= config.bin %> <%= command.id %> my-fn --project my-proj --region us-central1 --yes --json -- --runtime python313 --source . --entry-point main --trigger-http',
      description: 'CI: no prompts, JSON result on stdout, gcloud output on stderr.',
    },
  ]
  static override summary = 'Allowlist the gcf-artifacts repository, then run gcloud functions deploy (2nd gen) with Binary Authorization.'
  static override usage = 'deploy function NAME [--project PROJECT_ID] [--region REGION...] [-y] [--dry-run] [--no-patch] [--deadline SECONDS] [--verbose] [--json] [-- GCLOUD_ARGS...]'
  protected readonly kind = 'function' as const
}
