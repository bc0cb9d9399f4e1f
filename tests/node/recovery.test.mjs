// Recovery as defence in depth: after a trap, the package's host entries start a fresh Wasm
// instance instead of serving from a damaged one (the workers-rs pattern).
//
// target/pkg-trap/ is the package built with the Cargo feature `test-trap` (./build.sh build),
// which adds Engine.__trapForTests(): it traps as a panic would, leaking 4 KiB of shadow stack
// each time. Without recovery a few hundred of those ruin an instance for good (the second test
// shows it); through the Node entry, the workerd entry and the browser's `start`, a thousand and
// more later the engines and profiles made before the first trap decide every persona exactly as
// before, each trap threw code "engine_trapped", and each was reported once.
import { test } from "node:test";
import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import { existsSync, mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import { connect, createServer } from "node:net";
import { tmpdir } from "node:os";
import { join, relative } from "node:path";
import { fileURLToPath } from "node:url";

import * as release from "../../pkg/node.js";
import { bundleFile, personas, root, trustedKeys } from "../personas.mjs";

const TRAP_PKG = join(root, "target", "pkg-trap");
const TRAPS = 1200;
const NOW = "2026-12-05T09:30:00Z";
const WORKERD = join(root, "node_modules", ".bin", "workerd");

assert.ok(existsSync(join(TRAP_PKG, "node.js")), "target/pkg-trap/ is missing: run ./build.sh build");
const trapPkg = (file) => new URL(`file://${join(TRAP_PKG, file)}`).href;
const bundle = readFileSync(bundleFile);
const decisions = personas().flatMap((p) => p.decisions.map((d) => ({
  placement: d.placement, profile: p.profile, context: d.context ?? {}, now: d.now ?? p.now,
})));

/** Every persona decided (with trace), for its Profile and from its snapshot, and recorded. */
function everything(engine, profiles) {
  return JSON.stringify(decisions.map((d, i) => {
    const options = { placement: d.placement, context: d.context, now: d.now, trace: true };
    const decision = engine.decideFor(profiles[i], options);
    const token = decision.slots[0]?.token;
    return {
      decision,
      fromSnapshot: engine.decide({ ...options, profile: d.profile }),
      recorded: token && engine.recordFor(profiles[i], undefined, { event: "click", token, now: d.now }),
      id: profiles[i].id,
      engine: [engine.bundleId, engine.version, engine.placements, engine.expiresAt],
    };
  }));
}

/** Traps once through `Engine`; checks the error the call threw. */
function trapOnce(Engine) {
  assert.throws(() => Engine.__trapForTests(), (e) => {
    assert.ok(e instanceof Error);
    assert.equal(e.code, "engine_trapped");
    assert.equal(e.name, "OpmaatError");
    assert.ok(e.cause instanceof WebAssembly.RuntimeError, `the cause is the trap: ${e.cause}`);
    return true;
  });
}

test("the release package carries no trap; the test build does", () => {
  const exportsOf = (dir) => WebAssembly.Module.exports(new WebAssembly.Module(readFileSync(join(dir, "opmaat_bg.wasm")))).map((e) => e.name);
  assert.doesNotMatch(readFileSync(join(root, "pkg", "opmaat.d.ts"), "utf8"), /trapForTests/);
  assert.ok(!exportsOf(join(root, "pkg")).some((name) => name.includes("trap")));
  assert.equal(release.Engine.__trapForTests, undefined);
  assert.match(readFileSync(join(TRAP_PKG, "opmaat.d.ts"), "utf8"), /static __trapForTests\(\): void;/);
  assert.ok(exportsOf(TRAP_PKG).includes("engine___trapForTests"));
});

test("without recovery the traps ruin an instance for good", async () => {
  // A module instance of the bindings of its own (the query makes it a module of its own).
  const bindings = await import(`${trapPkg("opmaat.js")}?without-recovery`);
  bindings.initSync({ module: readFileSync(join(TRAP_PKG, "opmaat_bg.wasm")) });
  const load = () => bindings.Engine.load(new Uint8Array(bundle), { trustedKeys, now: NOW });
  load().free();
  for (let i = 0; i < TRAPS; i++) assert.throws(() => bindings.Engine.__trapForTests(), WebAssembly.RuntimeError);
  assert.throws(load, WebAssembly.RuntimeError, "a bundle that loaded before the traps no longer does");
});

// First of the tests of the test build's entries: the browser entry starts its instance itself.
test(`browser start: ${TRAPS} traps later the engine it returned decides as before, and onError heard of each`, async () => {
  // The browser entry in Node: fetch serves the package's .wasm and the bundle; localStorage is a Map.
  const saved = { fetch: globalThis.fetch, localStorage: globalThis.localStorage };
  const stored = new Map();
  globalThis.localStorage = {
    getItem: (k) => stored.get(k) ?? null, setItem: (k, v) => stored.set(k, String(v)), removeItem: (k) => stored.delete(k),
  };
  globalThis.fetch = async (url) => {
    const href = String(url);
    if (href === "https://bank.example/bundle.opb") return new Response(bundle);
    if (href.startsWith("file:")) return new Response(readFileSync(fileURLToPath(href)), { headers: { "content-type": "application/wasm" } });
    return new Response("", { status: 404 });
  };
  try {
    const { start } = await import(trapPkg("start.js"));
    const heard = [];
    const started = await start({ bundleUrl: "https://bank.example/bundle.opb", trustedKeys, onError: (e) => heard.push(e.code), loadOptions: { now: NOW } });
    assert.ok(started && !started.fromLastGood, `started: ${heard.join(", ")}`);
    const { engine, opmaat } = started;
    const profiles = decisions.map((d) => engine.profile(d.profile));
    const expected = everything(engine, profiles);
    for (let i = 0; i < TRAPS; i++) {
      trapOnce(opmaat.Engine);
      if (i % 100 === 0) assert.equal(everything(engine, profiles), expected, `after trap ${i + 1}`);
    }
    assert.equal(everything(engine, profiles), expected);
    assert.equal(heard.length, TRAPS);
    assert.ok(heard.every((code) => code === "engine_trapped"));
  } finally {
    Object.assign(globalThis, saved);
  }
});

test(`Node entry: ${TRAPS} traps later, the engine and profiles made before decide as before, every trap reported once`, async () => {
  const { Engine, setOnError } = await import(trapPkg("node.js"));
  const reports = [];
  setOnError((e) => reports.push(e));
  const engine = Engine.load(new Uint8Array(bundle), { trustedKeys, now: NOW });
  const profiles = decisions.map((d) => engine.profile(d.profile));
  const expected = everything(engine, profiles);
  // The test build decides exactly as the release package does.
  const releaseEngine = release.Engine.load(bundle, { trustedKeys, now: NOW });
  assert.equal(expected, everything(releaseEngine, decisions.map((d) => releaseEngine.profile(d.profile))));

  const freed = engine.profile(decisions[0].profile);
  freed.free();
  const first = JSON.stringify(engine.decideFor(profiles[0], { placement: decisions[0].placement, now: NOW }));
  for (let i = 1; i <= TRAPS; i++) {
    trapOnce(Engine);
    // The next call runs on a fresh instance: the engine loads its bundle again first.
    const p = i % profiles.length;
    const decided = JSON.stringify(engine.decideFor(profiles[p], { placement: decisions[p].placement, now: NOW }));
    if (p === 0) assert.equal(decided, first, `after trap ${i}`);
    if (i % 200 === 0) assert.equal(everything(engine, profiles), expected, `everything, after trap ${i}`);
  }
  assert.equal(reports.length, TRAPS, "every trap was reported, once");
  assert.ok(reports.every((e) => e.code === "engine_trapped" && e.cause instanceof WebAssembly.RuntimeError));
  assert.equal(everything(engine, profiles), expected);
  // A freed handle stays freed; a profile made after the traps works like the others.
  assert.throws(() => engine.decideFor(freed, { placement: "overview", now: NOW }), { code: "invalid_argument", message: /freed/ });
  assert.throws(() => freed.id, { code: "invalid_argument" });
  assert.equal(JSON.stringify(engine.decideFor(engine.profile(decisions[0].profile), { placement: decisions[0].placement, now: NOW })), first);
  setOnError(null);
});

test("a trap inside a call (a getter of the caller's) fails that call too, and is reported once", async () => {
  const { Engine, setOnError } = await import(trapPkg("node.js"));
  const reports = [];
  setOnError((e) => reports.push(e));
  const engine = Engine.load(new Uint8Array(bundle), { trustedKeys, now: NOW });
  const expected = JSON.stringify(engine.decide({ placement: "homepage", now: NOW }));
  const request = {
    get placement() {
      // The nested call is refused while the outer one still runs on the damaged instance.
      trapOnce(Engine);
      assert.throws(() => engine.bundleId, { code: "engine_trapped" });
      return "homepage";
    },
    now: NOW,
  };
  assert.throws(() => engine.decide(request), { code: "engine_trapped" });
  assert.equal(reports.length, 1);
  assert.equal(JSON.stringify(engine.decide({ placement: "homepage", now: NOW })), expected);
  setOnError(null);
});

test("after a trap, a bundle that no longer loads is reported once and its code thrown by every call", async () => {
  const { Engine, setOnError } = await import(trapPkg("node.js"));
  const reports = [];
  setOnError((e) => reports.push(e));
  const clock = Date.now;
  try {
    // Loaded on the host's clock (no `now`): reloaded on it too, after the bundle expired.
    Date.now = () => Date.parse(NOW);
    const engine = Engine.load(new Uint8Array(bundle), { trustedKeys });
    const maker = Engine.load(new Uint8Array(bundle), { trustedKeys, now: NOW });
    const keeper = Engine.load(new Uint8Array(bundle), { trustedKeys, now: NOW });
    const profile = maker.profile(decisions[0].profile);
    const expected = JSON.stringify(keeper.decideFor(profile, { placement: decisions[0].placement, now: NOW }));
    maker.free();
    Date.now = () => Date.parse("2027-07-01T00:00:00Z");
    trapOnce(Engine);
    assert.throws(() => engine.bundleId, { code: "expired", message: /could not be made again/ });
    assert.throws(() => engine.decide({ placement: "homepage", now: NOW }), { code: "expired" });
    assert.deepEqual(reports.map((e) => e.code), ["engine_trapped", "expired"]);
    // A profile whose engine was freed is checked again by the engine it is used with.
    assert.equal(JSON.stringify(keeper.decideFor(profile, { placement: decisions[0].placement, now: NOW })), expected);
  } finally {
    Date.now = clock;
    setOnError(null);
  }
});

test(`workerd entry, in workerd: ${TRAPS} traps later the isolate's engine decides as before, every trap reported`, async () => {
  const dir = mkdtempSync(join(tmpdir(), "opmaat-recovery-"));
  const port = await freePort();
  const embed = (file) => JSON.stringify(relative(dir, file));
  writeFileSync(join(dir, "worker.js"), `
    import { Engine, setOnError } from "opmaat";
    import bundle from "bundle.opb";
    export default {
      async fetch(request, env) {
        const reports = [];
        setOnError((e) => reports.push(e.code));
        const [now, traps] = [${JSON.stringify(NOW)}, ${TRAPS}];
        const engine = Engine.load(new Uint8Array(bundle), { trustedKeys: JSON.parse(env.TRUSTED_KEYS), now });
        const profile = engine.profile(env.PROFILE);
        const decide = () => JSON.stringify(engine.decideFor(profile, { placement: "overview", now, trace: true }));
        const before = decide();
        let trapped = 0;
        let same = 0;
        for (let i = 0; i < traps; i++) {
          try { Engine.__trapForTests(); } catch (e) { if (e.code === "engine_trapped" && e.cause instanceof WebAssembly.RuntimeError) trapped++; }
          if (decide() === before) same++;
        }
        return Response.json({ trapped, same, reports: reports.length, codes: [...new Set(reports)], slots: JSON.parse(before).slots.length });
      },
    };`);
  writeFileSync(join(dir, "config.capnp"), `using Workerd = import "/workerd/workerd.capnp";
const config :Workerd.Config = (
  services = [ (name = "main", worker = .worker) ],
  sockets = [ (name = "http", address = "127.0.0.1:${port}", http = (), service = "main") ],
);
const worker :Workerd.Worker = (
  modules = [
    (name = "worker.js", esModule = embed "worker.js"),
    (name = "opmaat", esModule = embed ${embed(join(TRAP_PKG, "workerd.js"))}),
    (name = "opmaat.js", esModule = embed ${embed(join(TRAP_PKG, "opmaat.js"))}),
    (name = "recover.js", esModule = embed ${embed(join(TRAP_PKG, "recover.js"))}),
    (name = "opmaat_bg.wasm", wasm = embed ${embed(join(TRAP_PKG, "opmaat_bg.wasm"))}),
    (name = "bundle.opb", data = embed ${embed(bundleFile)}),
  ],
  bindings = [
    (name = "TRUSTED_KEYS", text = ${JSON.stringify(JSON.stringify(trustedKeys))}),
    (name = "PROFILE", text = ${JSON.stringify(JSON.stringify(decisions[0].profile))}),
  ],
  compatibilityDate = "2026-11-01",
);
`);
  const child = spawn(WORKERD, ["serve", "config.capnp"], { cwd: dir, stdio: ["ignore", "pipe", "pipe"] });
  const logs = [];
  child.stdout.setEncoding("utf8").on("data", (c) => logs.push(c));
  child.stderr.setEncoding("utf8").on("data", (c) => logs.push(c));
  try {
    await listening(port, child, logs);
    const response = await fetch(`http://127.0.0.1:${port}/`);
    const text = await response.text();
    assert.equal(response.status, 200, `${text}\n${logs.join("")}`);
    assert.deepEqual(JSON.parse(text), { trapped: TRAPS, same: TRAPS, reports: TRAPS, codes: ["engine_trapped"], slots: 3 });
  } finally {
    await new Promise((ok) => { if (child.exitCode !== null) ok(); else { child.once("exit", ok); child.kill(); } });
  }
});

/** A TCP port nothing listens on now. */
async function freePort() {
  const server = createServer().listen(0, "127.0.0.1");
  await new Promise((ok) => server.once("listening", ok));
  const { port } = server.address();
  await new Promise((ok) => server.close(ok));
  return port;
}

/** Resolves once `port` accepts connections; rejects if the child exits first. */
async function listening(port, child, logs) {
  for (;;) {
    if (child.exitCode !== null) throw new Error(`workerd exited with ${child.exitCode}:\n${logs.join("")}`);
    const up = await new Promise((ok) => {
      const socket = connect(port, "127.0.0.1");
      socket.once("connect", () => { socket.destroy(); ok(true); });
      socket.once("error", () => ok(false));
    });
    if (up) return;
    await new Promise((ok) => setTimeout(ok, 10));
  }
}
