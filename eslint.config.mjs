// House lint config: eslint-config-oclif's flat config plus the choke-point rules (conventions 3 and 13).
// Zero suppressions: findings are fixed in code; a rule is only turned off below when it fights our conventions.
import oclif from 'eslint-config-oclif'

// Modules xo's config already restricts; repeated here because each no-restricted-imports block replaces the last.
const XO_RESTRICTED = ['domain', 'freelist', 'smalloc', 'punycode', 'sys', 'querystring', 'colors']

// One choke point per outside system (DESIGN.md): each group may be imported only in the files that own it.
const GROUPS = {
  childProcess: {
    message: 'gcloud runs through src/gcloud/runner.ts; only src/app/sandbox-control.ts spawns (the CLI\'s own `sandbox serve`).',
    modules: ['node:child_process', 'child_process'],
  },
  execa: {message: 'Only src/gcloud/runner.ts runs processes (captureGcloud/runGcloud).', modules: ['execa']},
  googleAuth: {message: 'Only src/auth/google-auth.ts talks to google-auth-library.', modules: ['google-auth-library']},
  inquirer: {
    message: 'Only src/cli/prompts.ts prompts (confirmPrompt/selectPrompt/inputPrompt/checkboxPrompt).',
    modules: ['@inquirer/*', '@listr2/prompt-adapter-inquirer'],
  },
  nodeIo: {
    message: 'src/policy is pure: no I/O modules.',
    modules: [
      'node:*',
      'fs',
      'fs/*',
      'child_process',
      'http',
      'https',
      'http2',
      'net',
      'tls',
      'dgram',
      'dns',
      'os',
      'process',
      'readline',
      'worker_threads',
      'cluster',
      'tty',
      'path',
      'stream',
      'stream/*',
      'timers',
      'timers/*',
      'url',
    ],
  },
  oclif: {
    message: '@oclif/core belongs in src/commands and src/cli; use cases and adapters stay oclif-free.',
    modules: ['@oclif/core', '@oclif/core/*'],
  },
  // Convention 19: the sandbox judges with code of its own. src/sandbox is one flat directory, so any "../" path
  // leaves it (the CLI's policy logic, errors, gcloud runner...). Keep the sandbox flat or widen this with care.
  sandboxOwn: {
    message: 'src/sandbox imports nothing of the CLI: write (or move) the code into src/sandbox instead.',
    modules: ['../*'],
  },
}

const escape = text => text.replaceAll(/[.*+?^${}()|[\]\\/]/g, String.raw`\$&`)
const toRegExp = module => `^${module.split('*').map(part => escape(part)).join('.*')}$`

/** A config block that forbids the given groups (static imports and `await import(...)`) in `files`. */
function restrict(files, groupNames) {
  const groups = groupNames.map(name => GROUPS[name])
  return {
    files,
    rules: {
      'no-restricted-imports': [
        'error',
        {
          paths: XO_RESTRICTED,
          patterns: groups.map(group => ({message: group.message, regex: group.modules.map(m => toRegExp(m)).join('|')})),
        },
      ],
      // no-restricted-imports does not see dynamic import(); our heavy modules are imported lazily.
      'no-restricted-syntax': [
        'error',
        ...groups.flatMap(group =>
          group.modules.map(module => ({
            message: group.message,
            selector: `ImportExpression[source.value=/${toRegExp(module)}/]`,
          }))),
      ],
    },
  }
}

const EVERYWHERE = ['execa', 'googleAuth', 'inquirer']
const SRC = [...EVERYWHERE, 'childProcess', 'oclif']
const without = (list, ...names) => list.filter(name => !names.includes(name))

export default [
  {
    // summary-reporter.cjs is CommonJS because mocha require()s reporters; the house config is ESM/TypeScript-only.
    ignores: ['dist/', 'node_modules/', '.bench-tmp/', 'bench/RESULTS*', '**/*.d.ts', 'test/helpers/*.cjs'],
  },
  ...oclif,
  {
    rules: {
      // eslint-config-xo/space keeps xo's tab width for this one rule; the house indent (@stylistic/indent) is 2 spaces.
      '@stylistic/indent-binary-ops': ['error', 2],
      // Help text, recorded gcloud output and gcloud's error regexes are data: the 200-column limit is for code.
      '@stylistic/max-len': [
        'warn',
        {
          code: 200, ignoreComments: true, ignoreRegExpLiterals: true, ignoreStrings: true, ignoreTemplateLiterals: true, ignoreUrls: true,
        },
      ],
      // Convention 14 (never mutate inputs): `const {etag: _etag, ...rest} = policy` is how we drop a key.
      '@typescript-eslint/no-unused-vars': ['error', {argsIgnorePattern: '^_', ignoreRestSiblings: true}],
      // Google's wire formats are snake_case (ADC JSON client_email, OAuth access_token, the no_proxy variable);
      // identifiers stay camelCase, property names follow the format they describe.
      camelcase: ['error', {properties: 'never'}],
      // Bounded retries with backoff, re-read-on-conflict and deadline polls are sequential by design (DESIGN.md:
      // client.ts, transaction.ts); running those awaits in parallel would be the bug.
      'no-await-in-loop': 'off',
      // Strict TypeScript (convention 12): a required `T | undefined` parameter must be passed explicitly.
      'unicorn/no-useless-undefined': ['error', {checkArguments: false}],
    },
  },
  {
    // The layers (DESIGN.md): commands → cli → app (use cases) → policy (pure) and the adapters (google, auth, gcloud,
    // store); the sandbox stands apart. Each zone forbids the importing layer (target) the layers above it (from).
    files: ['src/**/*.ts'],
    rules: {
      'import/no-restricted-paths': [
        'error',
        {
          zones: [
            {
              except: ['./policy', './errors.ts'], from: './src', message: 'src/policy is pure: it imports only itself and src/errors.ts.', target: './src/policy',
            },
            {
              from: ['./src/app', './src/cli', './src/commands'],
              message: 'Adapters (google, auth, gcloud, store) serve the use cases: they never import app, cli or commands.',
              target: ['./src/google', './src/auth', './src/gcloud', './src/store'],
            },
            {
              from: ['./src/cli', './src/commands'], message: 'Use cases get a Prompter and Ui (src/app/ports.ts); they never import cli or commands.', target: './src/app',
            },
            {from: './src/commands', message: 'src/cli serves the commands; it never imports them.', target: './src/cli'},
            {
              except: ['./sandbox'], from: './src', message: 'The sandbox is a judge, not a mirror: it imports nothing of the CLI.', target: './src/sandbox',
            },
            {from: ['./test', './bench', './scripts'], message: 'Shipped code never imports tests, the bench or build scripts.', target: './src'},
          ],
        },
      ],
    },
  },
  {
    // bin/run.js feature-detects module.enableCompileCache (Node >= 22.1) and calls it only where it exists; on
    // Node 20 it starts without the cache. The rule's own option, for that one API in that one file.
    files: ['bin/run.js'],
    rules: {'n/no-unsupported-features/node-builtins': ['error', {ignores: ['module.enableCompileCache']}]},
  },
  {
    // bin/ is CommonJS (bin/package.json): an ES module entry point costs every start Node's ESM loader set-up.
    files: ['bin/*.js'],
    languageOptions: {globals: {__dirname: 'readonly', module: 'writable', require: 'readonly'}, sourceType: 'commonjs'},
    rules: {
      '@typescript-eslint/no-require-imports': 'off', 'no-implicit-globals': 'off', 'unicorn/prefer-module': 'off', 'unicorn/prefer-top-level-await': 'off',
    },
  },
  // Most specific last: a later block replaces the options of an earlier one for the files it matches.
  restrict(['**/*.{js,mjs,cjs,ts}'], EVERYWHERE),
  restrict(['src/**/*.ts'], SRC),
  restrict(['src/commands/**/*.ts', 'src/cli/**/*.ts'], without(SRC, 'oclif')),
  restrict(['src/policy/**/*.ts'], [...SRC, 'nodeIo']),
  restrict(['src/gcloud/runner.ts'], without(SRC, 'execa', 'childProcess')),
  restrict(['src/auth/google-auth.ts'], without(SRC, 'googleAuth')),
  restrict(['src/cli/prompts.ts'], without(SRC, 'inquirer', 'oclif')),
  // After src/** (it adds a group): nothing under src/sandbox imports outside it.
  restrict(['src/sandbox/**/*.ts'], [...SRC, 'sandboxOwn']),
  restrict(['src/app/sandbox-control.ts'], without(SRC, 'childProcess')),
]
