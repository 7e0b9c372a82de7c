// The runner over an in-memory socket: hello → welcome → commands → replies; refused; heartbeats,
// hold, back-off and grace on a hand-driven clock.
import test from 'node:test';
import assert from 'node:assert';
import { startRunner, browserModule, deployCommand, WELCOME } from '../test_support/runner_harness.js';
import { runnersUrl } from '../polyflow.js';

test('the runner opens ws://server/runners and says hello with the token, then waits for welcome', async () => {
  const h = startRunner();
  assert.strictEqual(h.socket.url, 'ws://127.0.0.1:7770/runners');
  h.socket.open();
  const [hello] = h.socket.texts();
  assert.deepStrictEqual(Object.keys(hello).sort(), ['instance', 'modules', 'name', 'protocol', 'runtimes', 't', 'tags', 'token']);
  assert.strictEqual(hello.t, 'hello');
  assert.strictEqual(hello.protocol, 1);
  assert.match(hello.instance, /^[0-9a-f]{16}$/);
  assert.deepStrictEqual(hello.runtimes.map((r) => r.id), ['browser']);
  assert.deepStrictEqual(hello.tags, ['dash']);
  assert.deepStrictEqual(hello.modules, []);
  assert.strictEqual(hello.token, 's3cret');
  assert.strictEqual(h.runner.link, 'awaitingWelcome');
  await h.clock.advance(5000); // no pings before the welcome
  assert.strictEqual(h.socket.texts().length, 1);
});

test('server forms: host:port, http(s) URLs, ws(s) URLs', () => {
  assert.strictEqual(runnersUrl('http://127.0.0.1:7770/'), 'ws://127.0.0.1:7770/runners');
  assert.strictEqual(runnersUrl('https://flows.example'), 'wss://flows.example/runners');
  assert.strictEqual(runnersUrl('wss://flows.example:8443'), 'wss://flows.example:8443/runners');
});

test('commands after the welcome get exactly one reply each, with their id', async () => {
  const h = startRunner();
  await h.welcome();
  assert.strictEqual(h.runner.link, 'connected');
  const runtimes = await h.command({ op: 'listRuntimes' });
  assert.strictEqual(runtimes.kind, 'runtimes');
  assert.strictEqual(runtimes.runtimes[0].id, 'browser');
  assert.deepStrictEqual(await h.command({ op: 'start', flow: 'nope' }),
    { kind: 'failure', code: 'unknown-flow', message: 'no flow "nope" on this browser runner' });
  assert.deepStrictEqual(await h.command({ op: 'status' }), { kind: 'status', flows: [] });
  const ids = h.socket.replies().map((r) => r.id);
  assert.deepStrictEqual(ids, [1, 2, 3]);
});

test('a dispatcher ping is answered with a pong of the same number', async () => {
  const h = startRunner();
  await h.welcome();
  h.socket.receive({ t: 'ping', n: 41 });
  assert.deepStrictEqual(h.socket.of('pong'), [{ t: 'pong', n: 41 }]);
});

test('refused: the runner stops, says why, and does not reconnect', async () => {
  const h = startRunner();
  h.socket.open();
  h.socket.receive({ t: 'refused', code: 'duplicate-name', message: 'a runner named "tab-1" is already connected' });
  assert.strictEqual(h.runner.link, 'refused');
  assert.strictEqual(h.socket.closed.code, 1000);
  await h.clock.advance(60000);
  assert.strictEqual(h.sockets.length, 1);
  assert.match(h.runner.snapshot().lastErrors.at(-1).text, /already connected/);
});

test('silence: pings each interval, modules held at 2 intervals, link closed at 3, reconnect after 250 ms', async () => {
  const h = startRunner();
  await h.welcome();
  await h.clock.advance(1000);
  assert.deepStrictEqual(h.socket.of('ping'), [{ t: 'ping', n: 1 }]);
  await h.clock.advance(1000);
  assert.strictEqual(h.runner.modules, 'held');
  h.socket.receive({ t: 'pong', n: 1 }); // anything heard is life
  assert.strictEqual(h.runner.modules, 'running');
  await h.clock.advance(3000);
  assert.strictEqual(h.runner.link, 'backingOff');
  assert.strictEqual(h.sockets[0].closed.code, 4000);
  await h.clock.advance(249);
  assert.strictEqual(h.sockets.length, 1);
  await h.clock.advance(1);
  assert.strictEqual(h.sockets.length, 2);
  assert.strictEqual(h.runner.link, 'connecting');
});

test('a lost connection backs off 250, 500, 1000 ... 5000 ms; a welcome resets it', async () => {
  const h = startRunner();
  await h.welcome();
  const opened = [];
  let last = h.clock.now();
  for (let i = 0; i < 7; i++) {
    h.socket.drop();
    const before = h.sockets.length;
    while (h.sockets.length === before) await h.clock.advance(10);
    opened.push(h.clock.now() - last);
    last = h.clock.now();
  }
  assert.deepStrictEqual(opened, [250, 500, 1000, 2000, 4000, 5000, 5000]);
  await h.welcome({ session: 19 });
  assert.strictEqual(h.runner.link, 'connected');
  h.socket.drop();
  const before = h.sockets.length;
  await h.clock.advance(250);
  assert.strictEqual(h.sockets.length, before + 1);
});

test('held modules run nothing; after 30 s without a welcome they are stopped and dropped', async () => {
  const h = startRunner();
  await h.welcome();
  const flow = { id: 'f', modules: [browserModule('a', 'module.exports = (msg) => msg.payload')], connections: [] };
  assert.deepStrictEqual(await h.command(deployCommand(flow, ['a'])), { kind: 'ok' });
  h.socket.drop();
  assert.strictEqual(h.runner.modules, 'held');
  const hostA = h.runner.hosts.get('f');
  hostA.inject('a', undefined, '1');
  await h.clock.settle();
  assert.strictEqual(hostA.queue.length, 1, 'the message waits while held');
  await h.clock.advance(30000);
  assert.strictEqual(h.runner.modules, 'stopped');
  assert.strictEqual(h.runner.hosts.size, 0);
});

test('a runner that comes back lists its modules in hello and drops what welcome.drop names', async () => {
  const h = startRunner();
  await h.welcome();
  const flow = { id: 'f', modules: [browserModule('a', 'module.exports = (msg) => msg.payload'), browserModule('b', 'module.exports = () => {}')], connections: [] };
  await h.command(deployCommand(flow, [{ module: 'a', gen: 3 }, { module: 'b', gen: 1 }]));
  h.socket.drop();
  await h.clock.advance(250);
  h.socket.open();
  const hello = h.socket.of('hello')[0];
  assert.deepStrictEqual(hello.modules, [{ flow: 'f', module: 'a', gen: 3 }, { flow: 'f', module: 'b', gen: 1 }]);
  h.socket.receive({ ...(await import('../test_support/runner_harness.js')).WELCOME, session: 20, drop: [{ flow: 'f', module: 'a', gen: 3 }] });
  await h.clock.settle();
  assert.deepStrictEqual([...h.runner.hosts.get('f').placed.keys()], ['b']);
  assert.strictEqual(h.runner.modules, 'running');
});

test('messages over welcome.maxMessageBytes: states split per module, a reply becomes a failure', async () => {
  const h = startRunner();
  await h.welcome({ maxMessageBytes: 1000 });
  const big = '" + "x".repeat(700) + "';
  const flow = { id: 'f', modules: [
    browserModule('a', `exports.init = (ctx) => { ctx.state.s = "${big}"; };\nexports.onMessage = () => {};`),
    browserModule('b', `exports.init = (ctx) => { ctx.state.s = "${big}"; };\nexports.onMessage = () => {};`),
  ], connections: [] };
  assert.deepStrictEqual(await h.command(deployCommand(flow, ['a', 'b'])), { kind: 'ok' });
  await h.command({ op: 'inject', flow: 'f', module: 'a', payload: '1' });
  await h.clock.advance(1000);
  assert.deepStrictEqual(h.socket.of('states').map((m) => m.modules.map((x) => x.module)), [['a'], ['b']]);
  const status = await h.command({ op: 'status', flow: 'f' });
  assert.strictEqual(status.code, 'payload-too-large');
  assert.match(status.message, /over the dispatcher's limit of 1000/);
});

/**
 * Module `a` gets message `payload` and finishes it while the link is down; `then(h)` runs
 * once the runner has reconnected (the socket is open again, no welcome yet).
 */
async function handlerFinishingWhileTheLinkIsDown(id, payload, then) {
  const h = startRunner();
  await h.welcome();
  let open;
  globalThis.gate = new Promise((resolve) => { open = resolve; });
  try {
    const flow = { id: 'f', modules: [browserModule('a', 'module.exports = async (msg) => { await globalThis.gate; return msg.payload; };')], connections: [] };
    await h.command(deployCommand(flow, ['a']));
    h.socket.receive({ t: 'command', id, command: { op: 'inject', flow: 'f', module: 'a', payload } });
    await h.clock.settle();
    h.socket.drop();
    open();
    await h.clock.settle();
    await h.clock.advance(250);
    h.socket.open();
    await then(h);
  } finally {
    delete globalThis.gate;
  }
}

test('events of a handler that finishes while the link is down go out after the next welcome, not before', async () => {
  await handlerFinishingWhileTheLinkIsDown(70, '7', async (h) => {
    assert.deepStrictEqual(h.socket.texts().map((m) => m.t), ['hello'], 'nothing but hello before the welcome');
    h.socket.receive({ ...WELCOME, session: 30 });
    await h.clock.settle();
    assert.deepStrictEqual(h.socket.events('output').map((e) => e.payload), ['7']);
  });
});

test('close() stops the modules, closes the socket with 1000 and never reconnects', async () => {
  const h = startRunner();
  await h.welcome();
  const flow = { id: 'f', modules: [browserModule('a', 'module.exports = () => {}')], connections: [] };
  await h.command(deployCommand(flow, ['a']));
  h.runner.close();
  assert.strictEqual(h.runner.link, 'closed');
  assert.strictEqual(h.runner.modules, 'stopped');
  assert.strictEqual(h.runner.hosts.size, 0);
  assert.strictEqual(h.socket.closed.code, 1000);
  await h.clock.advance(60000);
  assert.strictEqual(h.sockets.length, 1);
});

test('welcome.drop applies before anything is sent: an output of a dropped module kept while the link was down is not', async () => {
  await handlerFinishingWhileTheLinkIsDown(80, '8', async (h) => {
    h.socket.receive({ ...WELCOME, session: 31, drop: [{ flow: 'f', module: 'a', gen: 1 }] });
    await h.clock.settle();
    assert.deepStrictEqual(h.socket.events('output'), []);
    assert.strictEqual(h.runner.hosts.size, 0);
  });
});
