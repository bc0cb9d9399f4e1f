// The demo's measurement collector on 127.0.0.1: accepts well-formed batches, appends them as JSON
// Lines, and refuses anything else (unknown fields could carry personal data) with a reason.
import { test } from "node:test";
import assert from "node:assert/strict";
import { mkdtempSync, readFileSync, existsSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";

import { createDemoServer } from "../../www/serve.mjs";

const event = {
  decisionId: "d-4f2a9c", proposition: "green-savings", treatment: "a", holdout: false, event: "click",
  time: "2026-12-05T09:30:00Z", bundle: "bank-nl-web", bundleVersion: 1, subject: "pz-8d1c",
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

test("a batch is appended as JSON Lines", () => withServer(async (url, file) => {
  assert.equal((await post(url, [event, { ...event, event: "impression" }])).status, 204);
  assert.equal((await post(url, [{ ...event, event: "dismiss" }])).status, 204);
  const lines = readFileSync(file, "utf8").trim().split("\n").map((l) => JSON.parse(l));
  assert.deepEqual(lines.map((l) => l.event), ["click", "impression", "dismiss"]);
  assert.deepEqual(lines[0], event);
}));

test("bad batches are refused with the reason, and nothing of them is written", () => withServer(async (url, file) => {
  const cases = [
    ["not json", /not JSON/],
    [{ event: "click" }, /expected a JSON array/],
    [[{ ...event, email: "someone@example.com" }], /events\[0\]\.email: unknown field/],
    [[event, { ...event, event: "purchase" }], /events\[1\]\.event: expected one of/],
    [[{ ...event, time: "yesterday" }], /events\[0\]\.time/],
    [[{ ...event, holdout: "no" }], /events\[0\]\.holdout: expected a boolean/],
    [[{ ...event, bundleVersion: 1.5 }], /bundleVersion/],
  ];
  for (const [body, reason] of cases) {
    const res = await post(url, body);
    assert.equal(res.status, 400, JSON.stringify(body));
    assert.match(await res.text(), reason);
  }
  assert.equal((await post(url, "x".repeat(70 * 1024))).status, 413);
  assert.equal((await fetch(url)).status, 405);
  assert.ok(!existsSync(file));
}));
