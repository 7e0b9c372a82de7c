// Test support: the runner of the parent-watchdog tests (test/parent_watch.test.js), a process of
// its own so that a test can SIGKILL it. Starts a runtime through FifoHost (its output in
// process-output.txt in the fifo directory), waits for `hello`, prints `<runtime pid> <dir>` and
// waits. Not killed, it ends at the end of its stdin and cleans up.

import { FifoHost } from './fifo_host.js';

const host = new FifoHost({ outputToFile: true });
try {
  await host.waitFor('hello');
} catch (err) {
  await host.cleanup();
  throw err;
}
process.stdout.write(`${host.child.pid} ${host.dir}\n`);
process.stdin.on('end', () => host.cleanup().then(() => process.exit(0)));
process.stdin.resume();
