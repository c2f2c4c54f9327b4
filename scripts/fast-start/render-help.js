// Child process of scripts/fast-start/build.js: renders every `--help` text the fast start may print, with oclif's
// own Config and Help class (unbundled, exactly as bin/run.js's plain path would), for every terminal width in a
// range. The parent runs it twice, with FORCE_COLOR=0 and FORCE_COLOR=3, because oclif bolds section headers
// when colour is supported. stdout here is a pipe; the output width is passed to Help as maxWidth, which is what
// oclif derives from the terminal (or OCLIF_COLUMNS) at run time.
//
// argv: root, output JSON file, min width, max width.
// Output: {userAgent, subjects: [{key, argv, texts: {width: text}}]} (texts deduplicated later by the parent).
import {Config, loadHelpClass} from '@oclif/core'
import {writeFileSync} from 'node:fs'

const [root, outFile, minArg, maxArg] = process.argv.slice(2)
const minWidth = Number(minArg)
const maxWidth = Number(maxArg)

// As bin/run.js loads it (userPlugins: false: binauthz never loads oclif user/link plugins).
const config = await Config.load({root, userPlugins: false})
const Help = await loadHelpClass(config)
const helpOptions = config.pjson.oclif.helpOptions ?? config.pjson.helpOptions ?? {}

// What the fast start answers: the root help and each topic's, called as oclif's main.js calls showHelp (with the
// --help flag still in argv). A command's own help is long and changes at almost every width (hundreds of variants
// per command); it is left to the bundled oclif, which prints it in about the time of a deploy's start.
const subjects = [{argv: ['--help'], key: ''}]
const commandIds = new Set(config.commands.map(c => c.id))
for (const topic of config.topics) {
  if (!commandIds.has(topic.name)) subjects.push({argv: [...topic.name.split(':'), '--help'], key: topic.name})
}

// oclif's Help rewrites the cached commands' and topics' ids/names as it prints them (':' -> ' '): fine for the one
// showHelp() of a real run, so each rendering here starts from the state Config.load() left.
const commandState = config.commands.map(c => [c, c.id, c.aliases])
const topicState = config.topics.map(t => [t, t.name])
function restore() {
  for (const [c, id, aliases] of commandState) {
    c.id = id
    c.aliases = aliases
  }

  for (const [t, name] of topicState) t.name = name
}

const {write} = process.stdout
async function render(argv, width) {
  const help = new Help(config, {maxWidth: width, ...helpOptions})
  let captured = ''
  process.stdout.write = (chunk, encoding, callback) => {
    captured += typeof chunk === 'string' ? chunk : Buffer.from(chunk).toString('utf8')
    if (typeof encoding === 'function') encoding()
    else if (typeof callback === 'function') callback()
    return true
  }

  try {
    await help.showHelp(argv)
  } finally {
    process.stdout.write = write
    restore()
  }

  return captured
}

const out = {subjects: [], userAgent: config.userAgent}
for (const subject of subjects) {
  const texts = {}

  for (let width = minWidth; width <= maxWidth; width++) texts[width] = await render(subject.argv, width)
  // Any state a rendering left behind would show here.

  if ((await render(subject.argv, 80)) !== texts[80]) throw new Error(`render-help: help for "${subject.key}" changes from one rendering to the next`)
  out.subjects.push({...subject, texts})
}

writeFileSync(outFile, JSON.stringify(out))
