// cross-spawn 7 ships no types: its default export is child_process.spawn's signature (on Windows it resolves
// .cmd shims such as gcloud.cmd and their arguments; elsewhere it is child_process.spawn itself).
declare module 'cross-spawn' {
  import type {spawn} from 'node:child_process'

  const crossSpawn: typeof spawn
  export default crossSpawn
}
