#!/usr/bin/env node
'use strict';
// The Node.js runtime of Polyflow: node runtimes/node/polyflow_runtime.js --in FIFO_IN --out FIFO_OUT
// The protocol is docs/protocol.md; the code is in lib/ (node_main.js wires it together).

require('./lib/node_main').main(process.argv.slice(2));
