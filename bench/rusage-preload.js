// Preloaded (NODE_OPTIONS=--import=...) by bench/run.js only where /usr/bin/time is missing: appends this process's
// resource usage (maxRSS in KiB, user/system CPU in µs) to BENCH_RUSAGE_FILE as one JSON line when it exits.
import {appendFileSync} from 'node:fs'

const file = process.env.BENCH_RUSAGE_FILE
if (file) {
  process.on('exit', () => {
    const {maxRSS, systemCPUTime, userCPUTime} = process.resourceUsage()
    appendFileSync(file, `${JSON.stringify({maxRSS, systemCPUTime, userCPUTime})}\n`)
  })
}
