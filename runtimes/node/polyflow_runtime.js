#!/usr/bin/env node
// The Node.js runtime of Polyflow: node runtimes/node/polyflow_runtime.js --in FIFO_IN --out FIFO_OUT
// The protocol is docs/protocol.md; the platform-neutral core is ../core/ (shared with the browser
// runner), the Node-only parts are in lib/ (node_main.js wires them together).
import { main } from './lib/node_main.js';

main(process.argv.slice(2));
