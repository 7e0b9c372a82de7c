import test from 'node:test';
import assert from 'node:assert';
import { Scheduler } from '../../core/scheduler.js';
import { AckTracker } from '../../core/ack_tracker.js';
import { ModuleRecord } from '../../core/module_record.js';
import { LogCapture } from '../lib/log_capture.js';

/** A scheduler that runs whenever work is ready, with modules whose handlers are given. */
function setup(handlers, { invoke } = {}) {
  const acks = new AckTracker();
  const returned = [];
  const errors = [];
  let idleWaiters = [];
  const scheduler = new Scheduler({
    acks,
    invoke,
    onReturned: (module, value) => returned.push([module.id, value]),
    onError: (module, error) => errors.push([module.id, module.currentMessage.payload, error.message]),
    onUndeliverable: () => {},
    onAsyncDone: () => setImmediate(drain),
  });
  function drain() {
    scheduler.run(Infinity);
    if (scheduler.idle) {
      const waiters = idleWaiters;
      idleWaiters = [];
      waiters.forEach((resolve) => resolve());
    }
  }
  const modules = {};
  Object.entries(handlers).forEach(([id, onMessage], i) => {
    const module = new ModuleRecord(i, { id, code: '', inputs: ['in'], outputs: ['out'], config: {}, state: {}, init: false });
    module.onMessage = onMessage;
    module.ctx = {};
    scheduler.attach(module);
    modules[id] = module;
  });
  return {
    acks, scheduler, modules, returned, errors,
    /** A message from the host: a new ack root. */
    post(id, payload) {
      scheduler.enqueue(modules[id], 'in', payload, acks.open(), null);
    },
    /** Runs until nothing is running or waiting (fails after a timeout). */
    settle(timeoutMs = 5000) {
      return new Promise((resolve, reject) => {
        const timer = setTimeout(() => reject(new Error('scheduler did not become idle')), timeoutMs);
        idleWaiters.push(() => { clearTimeout(timer); resolve(); });
        drain();
      });
    },
  };
}

const tick = (ms) => new Promise((resolve) => setTimeout(resolve, ms));

test('an async handler takes one message at a time, in order, even when it awaits', async () => {
  const events = [];
  let running = 0;
  const s = setup({
    slow: async (msg) => {
      running++;
      assert.strictEqual(running, 1, 'two messages of one module ran at the same time');
      events.push(`start ${msg.payload}`);
      await tick(msg.payload % 3 === 0 ? 5 : 1); // later messages finish their waits first
      await null;
      events.push(`end ${msg.payload}`);
      running--;
      return msg.payload * 10;
    },
  });
  for (let i = 1; i <= 9; i++) s.post('slow', i);
  await s.settle();
  const expected = [];
  for (let i = 1; i <= 9; i++) expected.push(`start ${i}`, `end ${i}`);
  assert.deepStrictEqual(events, expected);
  assert.deepStrictEqual(s.returned.map(([, value]) => value), [10, 20, 30, 40, 50, 60, 70, 80, 90]);
  assert.strictEqual(s.acks.acked, 9);
});

test('while one module awaits, other modules go on', async () => {
  const events = [];
  let release;
  const gate = new Promise((resolve) => { release = resolve; });
  const s = setup({
    waiting: async (msg) => {
      events.push(`waiting got ${msg.payload}`);
      await gate;
      events.push(`waiting done ${msg.payload}`);
    },
    quick: (msg) => {
      events.push(`quick ${msg.payload}`);
      if (msg.payload === 3) release();
    },
  });
  s.post('waiting', 'a');
  s.post('waiting', 'b');
  for (let i = 1; i <= 3; i++) s.post('quick', i);
  await s.settle();
  assert.deepStrictEqual(events, [
    'waiting got a', 'quick 1', 'quick 2', 'quick 3', 'waiting done a', 'waiting got b', 'waiting done b',
  ]);
});

test('a root is not acked before its async handler finished', async () => {
  let release;
  const s = setup({
    m: async (msg) => { if (msg.payload === 1) await new Promise((resolve) => { release = resolve; }); },
  });
  s.post('m', 1);
  s.post('m', 2);
  s.scheduler.run(Infinity);
  await tick(1);
  assert.strictEqual(s.acks.acked, 0);
  release();
  await s.settle();
  assert.strictEqual(s.acks.acked, 2);
});

test('synchronous handlers run without promises and return values are passed on', async () => {
  const s = setup({ sync: (msg) => msg.payload + 1 });
  s.post('sync', 1);
  s.post('sync', 2);
  s.scheduler.run(Infinity);
  // Everything happened synchronously inside run(): no await was needed.
  assert.deepStrictEqual(s.returned, [['sync', 2], ['sync', 3]]);
  assert.strictEqual(s.acks.acked, 2);
  assert.strictEqual(s.scheduler.busyCount, 0);
});

test('throws and rejections are module errors, and the module goes on', async () => {
  const s = setup({
    m: async (msg) => {
      if (msg.payload === 1) throw new TypeError('x is not a function');
      if (msg.payload === 2) return Promise.reject(new RangeError('bad'));
      return 'ok';
    },
    n: (msg) => { throw new Error(`sync ${msg.payload}`); },
  });
  s.post('m', 1);
  s.post('m', 2);
  s.post('m', 3);
  s.post('n', 4);
  await s.settle();
  assert.deepStrictEqual(s.errors, [['n', 4, 'sync 4'], ['m', 1, 'x is not a function'], ['m', 2, 'bad']]);
  assert.deepStrictEqual(s.returned, [['m', 'ok']]);
  assert.strictEqual(s.modules.m.errors, 2);
  assert.strictEqual(s.modules.m.received, 3);
  assert.strictEqual(s.acks.acked, 4);
});

test('a run stops at its budget and says more is ready', () => {
  const s = setup({ m: () => {} });
  for (let i = 0; i < 10; i++) s.post('m', i);
  assert.strictEqual(s.scheduler.run(4), true);
  assert.strictEqual(s.acks.acked, 4);
  assert.strictEqual(s.scheduler.run(100), false);
  assert.strictEqual(s.acks.acked, 10);
});

test('a foreign thenable is awaited once', async () => {
  let calls = 0;
  const s = setup({
    m: () => ({ then(resolve) { calls++; resolve(5); resolve(6); } }),
  });
  s.post('m', 1);
  await s.settle();
  assert.deepStrictEqual(s.returned, [['m', 5]]);
  assert.strictEqual(calls, 1);
});

test('a turn runs many messages of one module, yet other modules get turns and each inbox stays in order', () => {
  const seen = { a: [], b: [] };
  let bRanAt = -1;
  const s = setup({
    a: (msg) => { seen.a.push(msg.payload); },
    b: (msg) => {
      if (bRanAt < 0) bRanAt = seen.a.length;
      seen.b.push(msg.payload);
    },
  });
  for (let i = 0; i < 1000; i++) s.post('a', i);
  s.post('b', 'first');
  s.post('b', 'second');
  assert.strictEqual(s.scheduler.run(Infinity), false);
  assert.deepStrictEqual(seen.a, Array.from({ length: 1000 }, (_, i) => i));
  assert.deepStrictEqual(seen.b, ['first', 'second']);
  assert.ok(bRanAt > 0 && bRanAt < 1000, `b waited until a had run ${bRanAt} messages`);
  assert.strictEqual(s.acks.acked, 1002);
  assert.strictEqual(s.modules.a.received, 1000);
});

test('messages sent inside a turn arrive in order, also from a module sending to itself; the root is acked at the end', () => {
  const got = [];
  let s = null;
  /** A local send from the running module, counted under its root (as the router does). */
  const send = (from, to, payload) => {
    s.acks.add(s.modules[from].currentRoot);
    s.scheduler.enqueue(s.modules[to], 'in', payload, s.modules[from].currentRoot, null);
  };
  s = setup({
    a: (msg) => {
      if (msg.payload < 600) send('a', 'a', msg.payload + 1);
      send('a', 'b', msg.payload);
    },
    b: (msg) => { got.push(msg.payload); },
  });
  s.post('a', 0);
  assert.strictEqual(s.scheduler.run(100), true);
  assert.strictEqual(s.acks.acked, 0, 'not acked while messages it caused wait');
  s.scheduler.run(Infinity);
  assert.deepStrictEqual(got, Array.from({ length: 601 }, (_, i) => i));
  assert.strictEqual(s.acks.acked, 1);
  assert.ok(s.scheduler.idle);
});

test('an async handler in the middle of a turn ends it; later messages wait, and acks follow', async () => {
  const events = [];
  let release;
  const gate = new Promise((resolve) => { release = resolve; });
  const s = setup({
    m: (msg) => {
      events.push(`start ${msg.payload}`);
      if (msg.payload !== 3) return msg.payload;
      return gate.then(() => { events.push('end 3'); return 3; });
    },
  });
  for (let i = 1; i <= 5; i++) s.post('m', i);
  assert.strictEqual(s.scheduler.run(Infinity), false);
  assert.deepStrictEqual(events, ['start 1', 'start 2', 'start 3']);
  assert.strictEqual(s.acks.acked, 2);
  assert.strictEqual(s.modules.m.busy, true);
  release();
  await s.settle();
  assert.deepStrictEqual(events, ['start 1', 'start 2', 'start 3', 'end 3', 'start 4', 'start 5']);
  assert.deepStrictEqual(s.returned.map(([, value]) => value), [1, 2, 3, 4, 5]);
  assert.strictEqual(s.acks.acked, 5);
});

test('a throw in the middle of a turn is an error of that message only; the turn goes on', () => {
  const s = setup({ m: (msg) => { if (msg.payload === 2) throw new Error('two'); return msg.payload; } });
  for (let i = 1; i <= 4; i++) s.post('m', i);
  assert.strictEqual(s.scheduler.run(Infinity), false);
  assert.deepStrictEqual(s.errors, [['m', 2, 'two']]);
  assert.deepStrictEqual(s.returned.map(([, value]) => value), [1, 3, 4]);
  assert.strictEqual(s.modules.m.errors, 1);
  assert.strictEqual(s.acks.acked, 4);
});

test('a message for a module that did not load is undeliverable, and the others go on', () => {
  const s = setup({ m: (msg) => msg.payload, broken: () => {} });
  s.modules.broken.onMessage = null;
  s.post('broken', 1);
  s.post('m', 2);
  s.post('broken', 3);
  s.scheduler.run(Infinity);
  assert.strictEqual(s.modules.broken.errors, 2);
  assert.strictEqual(s.modules.broken.received, 2);
  assert.deepStrictEqual(s.returned, [['m', 2]]);
  assert.strictEqual(s.acks.acked, 3);
});

test('the log-capture context is entered once per turn and names the right module, also after an await', async () => {
  const capture = new LogCapture(() => {});
  let entered = 0;
  const invoke = (module, fn, a, b) => { entered++; return capture.invoke(module, fn, a, b); };
  const seen = [];
  const s = setup({
    a: (msg) => { seen.push(['a', msg.payload, capture.currentModuleId()]); },
    b: async (msg) => {
      seen.push(['b', msg.payload, capture.currentModuleId()]);
      await null;
      await new Promise((resolve) => setImmediate(resolve));
      seen.push(['b after await', msg.payload, capture.currentModuleId()]);
    },
  }, { invoke });
  for (let i = 0; i < 10; i++) s.post('a', i);
  s.post('b', 'x');
  s.post('b', 'y');
  s.scheduler.run(Infinity);
  assert.strictEqual(entered, 2, 'one turn for a, one for b (which then awaits)');
  assert.strictEqual(capture.currentModuleId(), null, 'outside a turn no module is running');
  await s.settle();
  assert.deepStrictEqual(seen, [
    ...Array.from({ length: 10 }, (_, i) => ['a', i, 'a']),
    ['b', 'x', 'b'], ['b after await', 'x', 'b'], ['b', 'y', 'b'], ['b after await', 'y', 'b'],
  ]);
});

test('thenables are found however `then` is reached; other objects and primitives are return values', async () => {
  class Deferred {
    constructor(value) { this.value = value; }
    then(resolve) { resolve(this.value); }
  }
  const viaGetter = Object.create({ get then() { return (resolve) => resolve('getter'); } });
  const viaProxy = new Proxy({}, { get: (target, name) => (name === 'then' ? (resolve) => resolve('proxy') : undefined) });
  const results = [
    { a: 1 }, { ...{ a: 1, b: 2.5 }, c: 3 }, { then: 1 }, 'text', 7, [1],
    new Deferred('class'), viaGetter, viaProxy, Promise.resolve('promise'),
  ];
  const s = setup({ m: (msg) => results[msg.payload] });
  results.forEach((_, i) => s.post('m', i));
  await s.settle();
  assert.deepStrictEqual(s.returned.map(([, value]) => value), [
    { a: 1 }, { a: 1, b: 2.5, c: 3 }, { then: 1 }, 'text', 7, [1], 'class', 'getter', 'proxy', 'promise',
  ]);
});

test('a `then` getter that throws is an error of the message', () => {
  const s = setup({ m: () => ({ get then() { throw new Error('no then'); } }) });
  s.post('m', 1);
  s.scheduler.run(Infinity);
  assert.deepStrictEqual(s.errors, [['m', 1, 'no then']]);
  assert.strictEqual(s.acks.acked, 1);
});
