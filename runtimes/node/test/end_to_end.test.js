// The runtime as a real child process on real fifos, driven like the runner host drives it.
import test from 'node:test';
import assert from 'node:assert';
import { FifoHost } from '../test_support/fifo_host.js';

const UPPER = `
exports.onMessage = async (msg, ctx) => {
  await new Promise((resolve) => setTimeout(resolve, 2));
  console.log('upper got', msg.payload);
  return msg.payload.toUpperCase();
};`;

const COUNT = `
console.log('count loaded');
exports.init = (ctx) => { ctx.state.n = 0; };
exports.onMessage = (msg, ctx) => {
  if (msg.payload === 'boom') throw new Error('boom!');
  ctx.state.n += 1;
  console.warn('careful');
  console.error('bad');
  process.stdout.write('raw write\\n');
  ctx.send('out', { n: ctx.state.n, v: msg.payload });
};`;

const BROKEN = 'exports.onMessage = (msg) => {\n  return ];\n};';

function configureFlow(host) {
  host.sendConfigure({
    modules: [
      { id: 'upper', code: UPPER, config: {}, inputs: ['in'], outputs: ['out'], state: null, init: true },
      { id: 'count', code: COUNT, config: {}, inputs: ['in'], outputs: ['out'], state: null, init: true },
      { id: 'broken', code: BROKEN, config: {}, inputs: ['in'], outputs: ['out'], state: null, init: true },
    ],
    slots: [['upper', 'in'], ['broken', 'in'], ['count', 'in']],
    routes: [
      { module: 'upper', port: 'out', local: [['count', 'in']], remote: 1 },
      { module: 'count', port: 'out', local: [], remote: 2 },
      { module: 'broken', port: 'out', local: [], remote: 3 },
    ],
  });
}

test('a runtime process speaks the protocol from hello to bye', async (t) => {
  const host = new FifoHost();
  t.after(() => host.cleanup());

  const hello = await host.waitFor('hello');
  assert.deepStrictEqual(hello, {
    t: 'hello', protocol: 1, runtime: 'node', name: 'Node.js', version: process.versions.node, pid: host.child.pid,
  });

  configureFlow(host);
  const configured = await host.waitFor('configured');
  assert.deepStrictEqual(configured.modules.upper, { ok: true });
  assert.deepStrictEqual(configured.modules.count, { ok: true });
  assert.strictEqual(configured.modules.broken.ok, false);
  assert.match(configured.modules.broken.error, /^SyntaxError: Unexpected token/);
  assert.strictEqual(configured.modules.broken.line, 2);
  assert.deepStrictEqual(await host.waitFor((f) => f.t === 'log' && f.text === 'count loaded'),
    { t: 'log', module: 'count', level: 'info', text: 'count loaded' });

  host.send('D0 "a"\nD0 "b"\nD2 "boom"\nD1 1\n');
  await host.waitForAck(4);

  const data = host.output.all('D').map((f) => [f.route, f.payload]);
  assert.deepStrictEqual(data.filter(([route]) => route === 1), [[1, 'A'], [1, 'B']]);
  assert.deepStrictEqual(data.filter(([route]) => route === 2), [[2, { n: 1, v: 'A' }], [2, { n: 2, v: 'B' }]]);

  const errors = host.output.all('error');
  const boom = errors.find((e) => e.module === 'count');
  assert.strictEqual(boom.port, 'in');
  assert.strictEqual(boom.payload, 'boom');
  assert.strictEqual(boom.message, 'Error: boom!');
  assert.match(boom.stack, /module:count:5:/);
  const undelivered = errors.find((e) => e.module === 'broken');
  assert.strictEqual(undelivered.payload, 1);
  assert.match(undelivered.message, /^module 'broken' did not load: SyntaxError: /);

  const logs = host.output.all('log').map((l) => [l.module, l.level, l.text]);
  assert.ok(logs.some((l) => l[0] === 'upper' && l[1] === 'info' && l[2] === 'upper got a'), 'console.log after an await');
  assert.ok(logs.some((l) => l[0] === 'count' && l[1] === 'warn' && l[2] === 'careful'));
  assert.ok(logs.some((l) => l[0] === 'count' && l[1] === 'error' && l[2] === 'bad'));
  assert.ok(logs.some((l) => l[0] === 'count' && l[1] === 'info' && l[2] === 'raw write'));

  const acks = host.output.all('A').map((a) => a.count);
  assert.deepStrictEqual(acks, [...acks].sort((a, b) => a - b), 'acks never go down');
  const lastData = host.output.frames.map((f) => f.t).lastIndexOf('D');
  const ackAll = host.output.frames.findIndex((f) => f.t === 'A' && f.count === 4);
  assert.ok(lastData < ackAll, 'data frames are written before the ack that covers them');

  const stats = await host.waitFor('stats');
  assert.deepStrictEqual(stats.modules.count.in >= 1, true);

  host.send('{"t":"stop"}\n');
  await host.waitFor('bye');
  const finalStats = host.output.all('stats').at(-1);
  assert.deepStrictEqual(finalStats.modules, {
    upper: { in: 2, out: 2, errors: 0, state: {} },
    count: { in: 3, out: 2, errors: 1, state: { n: 2 } },
    broken: { in: 1, out: 0, errors: 1, state: {} },
  });
  assert.strictEqual(host.output.frames.at(-1).t, 'bye');
  assert.strictEqual(host.output.frames.at(-2), finalStats);
  assert.deepStrictEqual(await host.waitForExit(), { code: 0, signal: null });
  assert.strictEqual(host.stdout, '', 'user output never reaches stdout');
});

test('the runtime exits 0 when the host closes its end (end of file)', async (t) => {
  const host = new FifoHost();
  t.after(() => host.cleanup());
  await host.waitFor('hello');
  configureFlow(host);
  await host.waitFor('configured');
  host.closeInput();
  host.reader.destroy();
  assert.deepStrictEqual(await host.waitForExit(), { code: 0, signal: null });
  assert.strictEqual(host.output.all('bye').length, 0);
});

test('a bad frame from the host is fatal: exit code 2', async (t) => {
  const host = new FifoHost();
  t.after(() => host.cleanup());
  await host.waitFor('hello');
  host.send('X1 2\n');
  const fatal = await host.waitFor('fatal');
  assert.match(fatal.message, /unknown-kind/);
  assert.deepStrictEqual(await host.waitForExit(), { code: 2, signal: null });
});

test('POLYFLOW_MAX_FRAME_BYTES sets the frame limit, also for a frame still arriving', async (t) => {
  const host = new FifoHost({ env: { POLYFLOW_MAX_FRAME_BYTES: '1000' } });
  t.after(() => host.cleanup());
  await host.waitFor('hello');
  host.send('D0 "' + 'x'.repeat(2000)); // no newline: the frame is not finished yet
  const fatal = await host.waitFor('fatal');
  assert.match(fatal.message, /frame-too-large/);
  assert.deepStrictEqual(await host.waitForExit(), { code: 2, signal: null });
});

test('errors outside handlers become log frames and the runtime goes on', async (t) => {
  const host = new FifoHost();
  t.after(() => host.cleanup());
  await host.waitFor('hello');
  host.sendConfigure({
    modules: [{
      id: 'wild',
      code: `module.exports = (msg) => {
        if (msg.payload === 1) setTimeout(() => { throw new Error('from a timer'); }, 1);
        if (msg.payload === 2) Promise.reject(new Error('nobody waits'));
        return msg.payload;
      };`,
      config: {}, inputs: ['in'], outputs: ['out'], state: null, init: true,
    }],
    slots: [['wild', 'in']],
    routes: [{ module: 'wild', port: 'out', local: [], remote: 0 }],
  });
  await host.waitFor('configured');
  host.send('D0 1\nD0 2\n');
  const uncaught = await host.waitFor((f) => f.t === 'log' && f.text.startsWith('uncaught exception'));
  assert.strictEqual(uncaught.level, 'error');
  assert.strictEqual(uncaught.module, 'wild');
  assert.match(uncaught.text, /from a timer/);
  const rejection = await host.waitFor((f) => f.t === 'log' && f.text.startsWith('unhandled promise rejection'));
  assert.strictEqual(rejection.level, 'error');
  assert.match(rejection.text, /nobody waits/);
  host.send('D0 3\n');
  await host.waitForAck(3);
  assert.deepStrictEqual(host.output.all('D').map((f) => f.payload), [1, 2, 3]);
  host.send('{"t":"stop"}\n');
  assert.deepStrictEqual(await host.waitForExit(), { code: 0, signal: null });
});

test('end of file still ends a runtime that is stopping behind a handler that never returns', async (t) => {
  const host = new FifoHost();
  t.after(() => host.cleanup());
  await host.waitFor('hello');
  host.sendConfigure({
    modules: [{ id: 'stuck', code: 'module.exports = () => new Promise(() => {});', config: {}, inputs: ['in'], outputs: ['out'], state: null, init: true }],
    slots: [['stuck', 'in']],
    routes: [{ module: 'stuck', port: 'out', local: [], remote: 0 }],
  });
  await host.waitFor('configured');
  host.send('D0 1\n{"t":"stop"}\n');
  await host.waitFor('stats'); // the message was taken (stats come while it hangs)
  host.closeInput();
  assert.deepStrictEqual(await host.waitForExit(), { code: 0, signal: null });
  assert.strictEqual(host.output.all('bye').length, 0);
});
