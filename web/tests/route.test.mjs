// The URL fragment alone (node --test web/tests/): which view it names, and
// fragments that cannot be read are said to be so instead of throwing.
import { test } from "node:test";
import assert from "node:assert/strict";
import { parseRoute } from "../js/route.js";

test("the overview and a flow", () => {
  assert.deepEqual(parseRoute(""), { view: "overview" });
  assert.deepEqual(parseRoute("#/"), { view: "overview" });
  assert.deepEqual(parseRoute("#/flows/words"), { view: "flow", id: "words" });
  assert.deepEqual(parseRoute("#/flows/words/"), { view: "flow", id: "words" });
  assert.deepEqual(parseRoute("#%2Fflows%2Fwords"), { view: "flow", id: "words" });
});

test("a malformed percent-escape is a bad address, not an exception", () => {
  for (const hash of ["#/flows/%E0%A4%A", "#/flows/%", "#/%ZZ", "#/flows/%C0%AF"]) {
    const r = parseRoute(hash);
    assert.equal(r.view, "bad", hash);
    assert.equal(r.fragment, hash.slice(1));
    assert.match(r.reason, /percent-escape/);
  }
});

test("an id that is no flow id, and an unknown path, are bad addresses", () => {
  assert.equal(parseRoute("#/flows/" + "x".repeat(65)).view, "bad");
  assert.equal(parseRoute("#/flows/a b").view, "bad");
  assert.equal(parseRoute("#/flows/").view, "bad");
  assert.equal(parseRoute("#/runners/x").view, "bad");
});
