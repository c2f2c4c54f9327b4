import {DEPLOY_OUTPUT_HELP, DeployCommand} from '../../cli/deploy-command.js'
import {withExitCodes} from '../../cli/error-docs.js'

export default class DeployRun extends DeployCommand {
  static override description = withExitCodes(`Resolves the project and region(s), works out which Artifact Registry repository the build lands in (REGION-docker.pkg.dev/PROJECT/cloud-run-source-deploy, or the repository of --image when it is combined with --source), makes sure the project's Binary Authorization policy allowlists it (one read, at most one etag-checked write for all regions, after showing the diff and asking — or with --yes), then runs, per region:

  gcloud run deploy NAME --project=PROJECT --region=REGION [GCLOUD_ARGS...] --binary-authorization=default

Everything after -- goes to gcloud unchanged. Arguments that would undo Binary Authorization (--binary-authorization=OTHER, --clear-binary-authorization, --breakglass), another --project or --region, a non-managed --platform, --flags-file, a second --, or shell syntax are refused before anything changes. A plain --image deploy (no --source) builds nothing: binauthz adds no pattern and only reports whether the policy admits the image.

${DEPLOY_OUTPUT_HELP}`)
  static override examples = [
    {
      command: '<%= config.bin %> <%= command.id %> my-fn --region us-central1 -- --source . --function handler',
      description: 'Deploy a Cloud Run function from source (asks before changing the policy in a terminal).',
    },
    {
      command: '<%= config.bin %> <%= command.id %> my-svc --region us-central1,europe-west1 --yes --json -- --source .',
      description: 'Scripted release to two regions: patch without asking, JSON result on stdout.',
    },
    {
      command: '<%= config.bin %> <%= command.id %> my-svc --project my-proj --region us-central1 --dry-run -- --source .',
      description: 'Show the policy diff and the exact gcloud command, change nothing.',
    },
    {
      command: '<%= config.bin %> <%= command.id %> my-svc --region us-central1 --no-patch -- --source .',
      description: 'Never change the policy; stop with the admin hand-off if the repository is not allowlisted.',
    },
  ]
  static override summary = 'Allowlist the Cloud Run source-deploy repository, then run gcloud run deploy with Binary Authorization.'
  static override usage = 'deploy run NAME [--project PROJECT_ID] [--region REGION...] [-y] [--dry-run] [--no-patch] [--deadline SECONDS] [--verbose] [--json] [-- GCLOUD_ARGS...]'
  protected readonly kind = 'run' as const
}
