import {DEPLOY_OUTPUT_HELP, DeployCommand} from '../../cli/deploy-command.js'
import {withExitCodes} from '../../cli/error-docs.js'

export default class DeployJob extends DeployCommand {
  static override description = withExitCodes(`Resolves the project and region(s), works out which Artifact Registry repository the build lands in — for a job always REGION-docker.pkg.dev/PROJECT/cloud-run-source-deploy, on a first deploy and a redeploy alike (gcloud 528's surface/run/jobs/deploy.py takes it from nothing else) — makes sure the project's Binary Authorization policy allowlists it (one read, at most one etag-checked write for all regions, after showing the diff and asking — or with --yes), then runs, per region:

  gcloud run jobs deploy NAME --project=PROJECT --region=REGION [GCLOUD_ARGS...] --binary-authorization=default

Everything after -- goes to gcloud unchanged (--execute-now and --wait included). Arguments that would undo Binary Authorization (--binary-authorization=OTHER, --clear-binary-authorization, --breakglass), another --project or --region, a non-managed --platform, --flags-file, a second --, --source together with --image (gcloud refuses it), or shell syntax are refused before anything changes. A plain --image deploy builds nothing: binauthz adds no pattern and only reports whether the policy admits the image (a blocked one stops the deploy before any write).

${DEPLOY_OUTPUT_HELP}`)
  static override examples = [
    {
      command: '<%= config.bin %> <%= command.id %> nightly-report --region us-central1 -- --source .',
      description: 'Deploy a job from source (asks before changing the policy in a terminal).',
    },
    {
      command: '<%= config.bin %> <%= command.id %> nightly-report --region us-central1,europe-west1 --yes --json -- --source . --execute-now',
      description: 'Scripted release to two regions, running each job once deployed; JSON result on stdout.',
    },
    {
      command: '<%= config.bin %> <%= command.id %> nightly-report --region us-central1 --dry-run -- --source .',
      description: 'Show the policy diff and the exact gcloud command, change nothing.',
    },
  ]
  static override summary = 'Allowlist the Cloud Run source-deploy repository, then run gcloud run jobs deploy with Binary Authorization.'
  static override usage = 'deploy job NAME [--project PROJECT_ID] [--region REGION...] [-y] [--dry-run] [--no-patch] [--deadline SECONDS] [--verbose] [--json] [-- GCLOUD_ARGS...]'
  protected readonly kind = 'job' as const
}
