// `opmaat/start` outside a browser (Node): the engine starts from the package's own .wasm (read
// from disk: a file: URL cannot be fetched here) instead of reporting "no_webassembly", and every
// failure to fetch the bundle is reported as "fetch_failed", whatever the runtime's own error.
import { test } from "node:test";
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { createServer } from "node:http";

import { start } from "../../pkg/start.js";
import { bundleFile, trustedKeys } from "../personas.mjs";

const NOW = "2026-12-05T09:30:00Z";

test("in Node, start loads the bundle and decides", async () => {
  const server = createServer((req, res) => res.end(readFileSync(bundleFile)));
  await new Promise((ok) => server.listen(0, "127.0.0.1", ok));
  const errors = [];
  try {
    const started = await start({ bundleUrl: `http://127.0.0.1:${server.address().port}/bank.opb`, trustedKeys, loadOptions: { now: NOW }, onError: (e) => errors.push(e.code) });
    assert.ok(started, errors.join());
    assert.equal(started.engine.bundleId, "bank-nl-web");
    const d = started.engine.decide({ placement: "homepage", now: NOW });
    assert.equal(d.placement.id, "homepage");
    started.stop();
  } finally {
    server.close();
  }
  assert.deepEqual(errors, []);
});

test("in Node, a bundle that cannot be fetched is fetch_failed, never the runtime's code", async () => {
  const server = createServer();
  await new Promise((ok) => server.listen(0, "127.0.0.1", ok));
  const port = server.address().port;
  await new Promise((ok) => server.close(ok)); // nothing listens there now: ECONNREFUSED underneath
  const errors = [];
  const started = await start({ bundleUrl: `http://127.0.0.1:${port}/bank.opb`, trustedKeys, onError: (e) => errors.push([e.code, e.name]) });
  assert.equal(started, null);
  assert.deepEqual(errors, [["fetch_failed", "OpmaatError"]]);
});
