'use strict';
const test = require('node:test');
const assert = require('node:assert');
const { Scheduler } = require('../lib/scheduler');
const { AckTracker } = require('../lib/ack_tracker');
const { ModuleRecord } = require('../lib/module_record');

/** A scheduler that runs whenever work is ready, with modules whose handlers are given. */
function setup(handlers) {
  const acks = new AckTracker();
  const returned = [];
  const errors = [];
  let idleWaiters = [];
  const scheduler = new Scheduler({
    acks,
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
