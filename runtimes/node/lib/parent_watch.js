// Node-only: the parent watchdog. The runtime ends when its runner (the parent process) is gone.
//
// The fifos usually tell: when the runner dies, `--in` reads end of file and a write to `--out`
// fails. They do not tell a runtime whose fifos another process still holds open. So a timer
// looks at process.ppid once a second: when it changed, the runner died and the runtime was
// reparented (to init or a subreaper), and the process exits at once, nobody being left to read
// what a cleaner exit would write.
//
// The timer runs on the event loop: a handler that never returns (or a write blocked on a full
// `--out` that someone else holds open) blocks it, and such a runtime is not ended by this. A
// worker thread would not be blocked, but measured ~10 MB more memory and ~3.5 ms more start-up
// per runtime, for a module that is broken anyway.

import fs from 'node:fs';

const EXIT_RUNNER_GONE = 69;
const INTERVAL_MS = 1000;

/** Starts the watchdog (an unref'd timer), unless POLYFLOW_PARENT_WATCHDOG=0; returns it, or null. */
function startParentWatch({ env = process.env, intervalMs = INTERVAL_MS } = {}) {
  if (env.POLYFLOW_PARENT_WATCHDOG === '0') return null;
  const parent = process.ppid;
  const timer = setInterval(() => {
    if (process.ppid === parent) return;
    try {
      // fd 2 itself: process.stderr is captured as log frames.
      fs.writeSync(2, `polyflow node runtime: the runner (pid ${parent}) is gone; exiting\n`);
    } catch {
      // stderr was a pipe to the runner
    }
    process.exit(EXIT_RUNNER_GONE);
  }, intervalMs);
  timer.unref();
  return timer;
}

export { startParentWatch, EXIT_RUNNER_GONE };
