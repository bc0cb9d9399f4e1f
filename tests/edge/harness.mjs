// What the edge suites share: the real workerd from npm, started on a free loopback port with a
// config written by www/edge/config.mjs (the one the committed config.capnp comes from), its log
// lines collected, and the visitor cookie read back the way the worker reads it.
import { execFileSync, spawn } from "node:child_process";
import { mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import { connect, createServer } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";

import { edgeConfig } from "../../www/edge/config.mjs";
import { cookieKey, encodeVisitor } from "../../www/edge/visitor.js";
import { fixtures, root } from "../personas.mjs";

export const WORKERD = join(root, "node_modules", ".bin", "workerd");
/** The tests' cookie key: a development key, never a real one. */
export const TEST_COOKIE_KEY = "test-only-cookie-key-0123456789abcdef-not-secret";

const DAY_MS = 86_400_000;
/** How long a test waits for a line in workerd's log. */
const LOG_WAIT_MS = 5000;

/**
 * The sample catalogue signed with the fixtures' key "a" as a bundle file, valid from a month ago
 * for half a year: workerd decides by the real clock, which no test can set. `change` edits the
 * catalogue first (`version` and all).
 */
export function edgeBundle(change = (catalogue) => catalogue) {
  const catalogue = JSON.parse(readFileSync(join(root, "www/catalogue.json"), "utf8"));
  catalogue.valid = { from: new Date(Date.now() - 30 * DAY_MS).toISOString(), until: new Date(Date.now() + 180 * DAY_MS).toISOString() };
  const dir = mkdtempSync(join(tmpdir(), "opmaat-edge-bundle-"));
  writeFileSync(join(dir, "catalogue.json"), JSON.stringify(change(catalogue)));
  execFileSync(join(root, "target/debug/opmaat"), ["build", join(dir, "catalogue.json"), "--key", join(fixtures, "a.key"), "--out", join(dir, "bank-nl-web.opb")]);
  return join(dir, "bank-nl-web.opb");
}

/**
 * An availability overlay for the sample bundle with `propositions` (see `opmaat overlay build`),
 * signed with the fixtures' key "a", issued now (workerd decides by the real clock) and valid an
 * hour; written to `file`.
 */
export function edgeOverlay(file, propositions, sequence) {
  const source = `${file}.json`;
  writeFileSync(source, JSON.stringify({ bundle: "bank-nl-web", sequence, propositions }));
  execFileSync(join(root, "target/debug/opmaat"), ["overlay", "build", source, "--key", join(fixtures, "a.key"), "--out", file]);
}

/** A loopback port nothing listens on (a free one, just closed again). */
export async function freePort() {
  const server = createServer();
  await new Promise((ok) => server.listen(0, "127.0.0.1", ok));
  const { port } = server.address();
  await new Promise((ok) => server.close(ok));
  return port;
}

/** Whether something accepts TCP connections on the loopback `port`. */
function listening(port) {
  return new Promise((ok) => {
    const socket = connect(port, "127.0.0.1");
    socket.once("connect", () => { socket.destroy(); ok(true); });
    socket.once("error", () => ok(false));
  });
}

/**
 * workerd serving the edge worker and the static origin with `options` (see edgeConfig):
 * resolves to { base, logs, pid, startedIn, stop } once it listens (not once it answers: with
 * the origin down, the first answer may be a 502).
 */
export async function startEdge(options = {}) {
  const dir = mkdtempSync(join(tmpdir(), "opmaat-edge-"));
  const port = await freePort();
  // Nothing from the demo (target/demo/ is not there on a fresh checkout): an empty /bundles/ unless given.
  const bundles = mkdtempSync(join(tmpdir(), "opmaat-edge-no-bundles-"));
  writeFileSync(join(dir, "config.capnp"), edgeConfig({ dir, port, bundles, cookieKey: TEST_COOKIE_KEY, collectAddress: null, ...options }));
  const started = performance.now();
  // Disk services resolve their paths from the working directory: the config's own folder.
  const child = spawn(WORKERD, ["serve", "config.capnp"], { cwd: dir, stdio: ["ignore", "pipe", "pipe"] });
  const logs = [];
  let exited = null;
  for (const stream of [child.stdout, child.stderr]) {
    let rest = "";
    stream.setEncoding("utf8").on("data", (chunk) => {
      const lines = (rest + chunk).split("\n");
      rest = lines.pop();
      logs.push(...lines.filter(Boolean));
    });
  }
  child.on("exit", (code) => { exited = code; });
  const base = `http://127.0.0.1:${port}`;
  /** The JSON log lines the worker wrote so far, parsed. */
  const events = () => logs.flatMap((l) => {
    try {
      const line = JSON.parse(l.slice(l.indexOf("{")));
      return line.opmaat ? [line] : [];
    } catch {
      return [];
    }
  });
  for (;;) {
    if (exited !== null) throw new Error(`workerd exited with ${exited}:\n${logs.join("\n")}`);
    if (await listening(port)) break;
    await new Promise((ok) => setTimeout(ok, 5));
  }
  return {
    base, logs, pid: child.pid, startedIn: performance.now() - started,
    /** The JSON log lines the worker wrote, parsed. */
    events,
    /** Resolves to the first logged event that `matches`; the log reaches us through a pipe, a moment later. */
    async waitForEvent(matches, what = "the expected log line") {
      for (let waited = 0; waited < LOG_WAIT_MS; waited += 10) {
        const hit = events().find(matches);
        if (hit) return hit;
        await new Promise((ok) => setTimeout(ok, 10));
      }
      throw new Error(`workerd did not log ${what}; its log:\n${logs.join("\n")}`);
    },
    stop: () => new Promise((ok) => { if (exited !== null) return ok(); child.once("exit", ok); child.kill(); }),
  };
}

/**
 * A returning visitor the tests can count on: not in the sample catalogue's 2% holdout group
 * (which sees no sales), so the homepage shows them green savings. New visitors get random ids,
 * and 1 in 50 of them is held out.
 */
export const STEADY_VISITOR = "v-abcdefghijklmnop";

/** The `name=value` of a visitor cookie signed with the tests' key (`id` null: none). */
export async function signedVisitorCookie(id = STEADY_VISITOR, { topics = [], ledger, dismissals, at = Date.now() } = {}) {
  const { setCookie } = await encodeVisitor({ id: id ?? undefined, topics, ledger, dismissals }, await cookieKey(TEST_COOKIE_KEY), at);
  return setCookie.split(";")[0];
}

/** The visitor cookie's `name=value` a response sets, or undefined (a deletion is not one). */
export function visitorCookie(response) {
  const set = response.headers.getSetCookie().find((c) => c.startsWith("opmaat_v="));
  return set && !/; Max-Age=0(;|$)/.test(set) ? set.split(";")[0] : undefined;
}

/** Whether a response deletes the visitor cookie. */
export function deletesVisitorCookie(response) {
  return response.headers.getSetCookie().some((c) => /^opmaat_v=;.*; Max-Age=0(;|$)/.test(c));
}

/** The payload of a visitor cookie (signed, not encrypted: anyone may read it). */
export function cookiePayload(cookie) {
  const payload = cookie.slice("opmaat_v=".length).split(".")[0];
  return JSON.parse(Buffer.from(payload, "base64url").toString("utf8"));
}

/** The propositions the page shows, by slot, from the HTML the worker sent. */
export function shownIn(html) {
  return [...html.matchAll(/data-opmaat-slot="([^"]+)"[^>]*data-opmaat-proposition="([^"]+)"/g)].map((m) => [m[1], m[2]]);
}
