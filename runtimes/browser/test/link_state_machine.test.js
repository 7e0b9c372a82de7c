// The runner's side of the heartbeats, driven by hand: hold after 2 silent intervals, back-off
// 250 ms doubling to 5 s, modules stopped after a 30 s grace without welcome, refusal final.
import test from 'node:test';
import assert from 'node:assert';
import { LinkStateMachine } from '../runner/link_state_machine.js';

const WELCOME = { session: 7, heartbeatMs: 1000, lostAfterMs: 3000, drop: [] };
const types = (actions) => actions.map((a) => a.type);

function welcomed(now = 0) {
  const m = new LinkStateMachine(now);
  assert.deepStrictEqual(m.start(), [{ type: 'connect' }]);
  assert.deepStrictEqual(m.connected(), [{ type: 'sendHello' }]);
  assert.deepStrictEqual(m.welcomed(WELCOME, now), []);
  return m;
}

test('start, connected, welcomed: hello then nothing until the first ping is due', () => {
  const m = welcomed();
  assert.strictEqual(m.link, 'connected');
  assert.strictEqual(m.session, 7);
  assert.deepStrictEqual(m.tick(999), []);
  assert.deepStrictEqual(m.tick(1000), [{ type: 'sendPing', n: 1 }]);
});

test('two silent intervals hold the modules; anything heard releases them', () => {
  const m = welcomed();
  m.tick(1000);
  assert.deepStrictEqual(types(m.tick(2000)), ['holdModules', 'sendPing']);
  assert.strictEqual(m.modules, 'held');
  assert.deepStrictEqual(m.heard(2100), [{ type: 'releaseModules' }]);
  assert.strictEqual(m.modules, 'running');
});

test('three silent intervals close the link and back off 250 ms, doubling to 5 s', () => {
  const m = welcomed();
  m.tick(2000);
  const lost = m.tick(3000);
  assert.deepStrictEqual(types(lost), ['closeConnection', 'scheduleReconnect']);
  assert.strictEqual(lost[1].afterMs, 250);
  const delays = [];
  for (let i = 0; i < 7; i++) {
    assert.deepStrictEqual(m.retryTimerFired(), [{ type: 'connect' }]);
    delays.push(m.disconnected(3000 + i).find((a) => a.type === 'scheduleReconnect').afterMs);
  }
  assert.deepStrictEqual(delays, [500, 1000, 2000, 4000, 5000, 5000, 5000]);
});

test('a welcome after a loss releases the held modules and applies drop', () => {
  const m = welcomed();
  m.disconnected(100);
  assert.strictEqual(m.modules, 'held');
  m.retryTimerFired();
  m.connected();
  const drop = [{ flow: 'f', module: 'a', gen: 2 }];
  assert.deepStrictEqual(m.welcomed({ ...WELCOME, session: 8, drop }, 600), [{ type: 'drop', modules: drop }, { type: 'releaseModules' }]);
  assert.strictEqual(m.session, 8);
});

test('30 s held without a welcome stops the modules, once', () => {
  const m = welcomed();
  m.disconnected(1000);
  assert.deepStrictEqual(m.tick(30999), []);
  assert.deepStrictEqual(types(m.tick(31000)), ['stopModules']);
  assert.deepStrictEqual(m.tick(40000), []);
  assert.strictEqual(m.modules, 'stopped');
});

test('a refusal is final: modules stopped, no reconnect', () => {
  const m = new LinkStateMachine(0);
  m.start();
  m.connected();
  assert.deepStrictEqual(types(m.refused({ code: 'bad-token', message: 'wrong token' })), ['stopModules', 'giveUp']);
  assert.strictEqual(m.link, 'refused');
  assert.deepStrictEqual(m.disconnected(10), []);
  assert.deepStrictEqual(m.retryTimerFired(), []);
});

test('the welcome sets the interval: pings every heartbeatMs, hold at two of them', () => {
  const m = new LinkStateMachine(0);
  m.start();
  m.connected();
  m.welcomed({ ...WELCOME, heartbeatMs: 500, lostAfterMs: 1500 }, 0);
  assert.deepStrictEqual(m.tick(500), [{ type: 'sendPing', n: 1 }]);
  assert.deepStrictEqual(types(m.tick(1000)), ['holdModules', 'sendPing']);
  assert.deepStrictEqual(types(m.tick(1500)), ['closeConnection', 'scheduleReconnect']);
});
