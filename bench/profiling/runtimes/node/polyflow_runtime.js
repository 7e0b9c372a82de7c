'use strict';
// bench/run --profile: runs the real Node runtime (POLYFLOW_REAL_RUNTIMES) with V8's sampling
// profiler on (inspector, in this process) and writes POLYFLOW_PROFILE_DIR/node-<pid>.cpuprofile
// when the process exits.
const fs = require('node:fs');
const inspector = require('node:inspector');
const path = require('node:path');

const session = new inspector.Session();
session.connect();
session.post('Profiler.enable');
session.post('Profiler.setSamplingInterval', { interval: 250 });
session.post('Profiler.start');
process.on('exit', () => {
  session.post('Profiler.stop', (err, result) => {
    if (!err) {
      fs.writeFileSync(path.join(process.env.POLYFLOW_PROFILE_DIR, `node-${process.pid}.cpuprofile`),
        JSON.stringify(result.profile));
    }
  });
});
require(path.join(process.env.POLYFLOW_REAL_RUNTIMES, 'node', 'polyflow_runtime.js'));
