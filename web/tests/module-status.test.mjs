// How a module's status reads (node --test web/tests/): compact counters,
// errors never below those recorded, and where it runs or why it does not.
import { test } from "node:test";
import assert from "node:assert/strict";
import { compact, countersOf, placementOf, describe } from "../js/module-status.js";

test("compact numbers are at most 5 characters and round sensibly", () => {
  const cases = [[0, "0"], [7, "7"], [999, "999"], [1000, "1k"], [1234, "1.23k"], [12345, "12.3k"], [99949, "99.9k"],
    [123456, "123k"], [999499, "999k"], [999500, "1M"], [1234567, "1.23M"], [987654321, "988M"], [12345678901, "12.3G"]];
  for (const [n, s] of cases) assert.equal(compact(n), s, String(n));
  for (let n = 1; n < 1e13; n = Math.floor(n * 1.7) + 1) assert.ok(compact(n).length <= 5, `${n} → ${compact(n)}`);
  assert.equal(compact(undefined), "?");
});

test("errors shown are never fewer than the errors recorded in the same answer", () => {
  const lagging = { messagesIn: 1, messagesOut: 0, errors: 1, queued: 0, recentErrors: [{}, {}, {}], lastError: { message: "x" } };
  assert.equal(countersOf(lagging).errors, 3);
  assert.equal(countersOf({ errors: 0, lastError: { message: "x" }, recentErrors: [] }).errors, 1);
  assert.equal(countersOf({ errors: 40, recentErrors: [{}] }).errors, 40);
  assert.equal(countersOf(undefined), null);
});

test("an unplaced module says why, what it waits for, and invents no runner", () => {
  const st = { id: "gpu", state: "unplaced", unplacedReason: "no python3 runner has all of the required tags \"gpu\"", queued: 0 };
  const p = placementOf(st, { id: "gpu", runtime: "python3", requireTags: ["gpu"] });
  assert.equal(p.runner, null);
  assert.equal(p.state, "unplaced");
  assert.match(p.reason, /required tags/);
  assert.equal(p.waitsFor, "a python3 runner with the tag gpu to join");
  assert.equal(p.waiting, null, "the server does not count them (yet): not shown as 0");
  assert.equal(placementOf({ ...st, waiting: 2 }, { runtime: "python3" }).waiting, 2);
  assert.doesNotMatch(describe(st, { runtime: "python3" }), /local/);
});

test("an unreachable module names its runner; a module without a runner says so", () => {
  const p = placementOf({ state: "unreachable", runner: "box-2", unreachableReason: "silent for 3 s" }, { runtime: "node" });
  assert.deepEqual([p.runner, p.reason], ["box-2", "silent for 3 s"]);
  assert.match(p.waitsFor, /box-2/);
  assert.equal(placementOf({ state: "running" }, {}).runner, null);
  assert.match(describe({ state: "running", runner: "local", messagesIn: 3, messagesOut: 2, errors: 0, queued: 1 }),
    /^running, on runner local, in 3, out 2, errors 0, queued 1$/);
});
