// Starts a browser runner against a FakeSocket and a FakeClock, and plays the dispatcher.

import { connect } from '../polyflow.js';
import { FakeClock } from './fake_clock.js';
import { FakeSocket } from './fake_socket.js';

const WELCOME = {
  t: 'welcome', protocol: 1, runner: 'tab-1', session: 18, heartbeatMs: 1000, lostAfterMs: 3000,
  window: 1024, maxFrameBytes: 16777216, maxMessageBytes: 16842752, drop: [],
};

/** A silent console, so module logs do not clutter the test output. */
function quietConsole() {
  const noop = () => {};
  return { log: noop, info: noop, debug: noop, warn: noop, error: noop, trace: noop };
}

function startRunner(options = {}) {
  const clock = new FakeClock();
  const sockets = [];
  const runner = connect({
    server: '127.0.0.1:7770', name: 'tab-1', tags: ['dash'], token: 's3cret', clock,
    openSocket: (url) => { const s = new FakeSocket(url); sockets.push(s); return s; },
    console: quietConsole(), pageErrors: false, ...options,
  });
  const h = {
    runner, clock, sockets,
    get socket() { return sockets[sockets.length - 1]; },
    nextId: 1,
    async welcome(fields = {}) {
      h.socket.open();
      h.socket.receive({ ...WELCOME, ...fields });
      await clock.settle();
    },
    /** Sends a command; resolves to its reply (after the runner settled). */
    async command(command) {
      const id = h.nextId++;
      h.socket.receive({ t: 'command', id, command });
      await clock.settle();
      const reply = h.socket.replies().find((r) => r.id === id);
      if (reply === undefined) throw new Error(`no reply to command ${id} (${command.op})`);
      return reply.reply;
    },
  };
  return h;
}

function browserModule(id, code, extra = {}) {
  return { id, runtime: 'browser', code, inputs: ['in'], outputs: ['out'], config: {}, ...extra };
}

function deployCommand(flow, placed, routes = [], extra = {}) {
  return { op: 'deploy', deploy: { flow, placed: placed.map((m) => (typeof m === 'string' ? { module: m, gen: 1 } : m)), routes, breakpoints: [], start: true, ...extra } };
}

export { startRunner, browserModule, deployCommand, WELCOME };
