// The demo's measurement collector on 127.0.0.1: appends the well-formed events of a batch as JSON
// Lines and names the refused ones by index with the reason (unknown fields could carry personal
// data), so one bad event never costs the good ones beside it; a body that is no batch is a 400.
import { test } from "node:test";
import assert from "node:assert/strict";
import { mkdtempSync, readFileSync, existsSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";

import { createDemoServer } from "../../www/serve.mjs";

const event = {
  decisionId: "d-4f2a9c", proposition: "green-savings", treatment: "a", holdout: false, event: "click",
  time: "2026-12-05T09:30:00Z", bundle: "bank-nl-web", bundleVersion: 1, placement: "overview", position: 2,
  selectionProbability: 0.5, subject: "pz-8d1c",
};

async function withServer(run) {
  const dir = mkdtempSync(join(tmpdir(), "opmaat-collector-"));
  const eventsFile = join(dir, "events.jsonl");
  const server = createDemoServer({ bundles: dir, eventsFile });
  await new Promise((ok) => server.listen(0, "127.0.0.1", ok));
  const url = `http://127.0.0.1:${server.address().port}/collect`;
  try {
    await run(url, eventsFile);
  } finally {
    server.close();
  }
}

const post = (url, body) => fetch(url, { method: "POST", body: typeof body === "string" ? body : JSON.stringify(body) });

/** The collector's answer to a batch: its status and JSON body. */
async function answer(url, body) {
  const res = await post(url, body);
  assert.equal(res.headers.get("content-type"), "application/json; charset=utf-8");
  return { status: res.status, ...(await res.json()) };
}

test("a batch is appended as JSON Lines", () => withServer(async (url, file) => {
  assert.deepEqual(await answer(url, [event, { ...event, event: "impression" }]), { status: 200, accepted: 2, refused: [] });
  assert.deepEqual(await answer(url, [{ ...event, event: "dismiss" }]), { status: 200, accepted: 1, refused: [] });
  assert.deepEqual(await answer(url, []), { status: 200, accepted: 0, refused: [] });
  const lines = readFileSync(file, "utf8").trim().split("\n").map((l) => JSON.parse(l));
  assert.deepEqual(lines.map((l) => l.event), ["click", "impression", "dismiss"]);
  assert.deepEqual(lines[0], event);
}));

test("the decision's facts are accepted: placement, position, selection probability, and withheld events", () => withServer(async (url, file) => {
  // Before, an event with selectionProbability was refused as an unknown field.
  const withheld = { ...event, event: "withheld", holdout: true, position: 0 };
  assert.deepEqual(await answer(url, [event, withheld]), { status: 200, accepted: 2, refused: [] });
  const { refused } = await answer(url, [
    { ...event, selectionProbability: 0 }, { ...event, position: 1.5 }, { ...withheld, holdout: false }, { ...event, position: 0 },
    (({ placement, ...rest }) => rest)(event),
  ]);
  assert.deepEqual(refused.map((r) => r.index), [0, 1, 2, 3, 4]);
  assert.match(refused[0].reason, /selectionProbability: expected a probability/);
  assert.match(refused[2].reason, /a withheld event has position 0 and holdout true/);
  assert.match(refused[4].reason, /events\[4\]\.placement: expected a string/);
  assert.equal(readFileSync(file, "utf8").trim().split("\n").length, 2);
}));

test("the good events of a batch are kept; the bad ones are named by index, with the reason", () => withServer(async (url, file) => {
  const batch = [
    { ...event, event: "impression" }, { ...event, email: "someone@example.com" }, event, { ...event, event: "purchase" },
    { ...event, time: "yesterday" }, "not an event", { ...event, holdout: "no" }, { ...event, bundleVersion: 1.5 }, { ...event, event: "dismiss" },
  ];
  const { status, accepted, refused } = await answer(url, batch);
  assert.equal(status, 200);
  assert.equal(accepted, 3);
  assert.deepEqual(refused.map((r) => r.index), [1, 3, 4, 5, 6, 7]);
  const reasons = [/events\[1\]\.email: unknown field/, /events\[3\]\.event: expected one of/, /events\[4\]\.time/, /events\[5\]: expected an object/,
    /events\[6\]\.holdout: expected a boolean/, /events\[7\]\.bundleVersion/];
  refused.forEach((r, i) => assert.match(r.reason, reasons[i]));
  const lines = readFileSync(file, "utf8").trim().split("\n").map((l) => JSON.parse(l));
  assert.deepEqual(lines, [batch[0], batch[2], batch[8]]);
  // Nothing good in it: nothing written, every event named.
  const none = await answer(url, [{ ...event, email: "x@example.com" }]);
  assert.deepEqual([none.status, none.accepted, none.refused.map((r) => r.index)], [200, 0, [0]]);
  assert.equal(readFileSync(file, "utf8").trim().split("\n").length, 3);
}));

test("a body that is no batch is refused whole, with the reason, and nothing of it is written", () => withServer(async (url, file) => {
  for (const [body, reason] of [["not json", /not JSON/], [{ event: "click" }, /expected a JSON array/], ["", /not JSON/]]) {
    const res = await post(url, body);
    assert.equal(res.status, 400, JSON.stringify(body));
    assert.match(await res.text(), reason);
  }
  assert.equal((await post(url, "x".repeat(70 * 1024))).status, 413);
  assert.equal((await post(url, Array(201).fill(event))).status, 413);
  assert.equal((await fetch(url)).status, 405);
  assert.ok(!existsSync(file));
}));
