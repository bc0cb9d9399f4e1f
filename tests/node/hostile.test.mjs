// The Wasm instance survives hostile JavaScript. Every export of the package (its Node entry)
// and of the wasm-bindgen bindings under it is called, from a seeded PRNG, with the values a
// careless or hostile page can hand over: wrong types, strings of megabytes, deep nesting,
// cycles, BigInts, Symbols, frozen objects, throwing getters, Proxies whose every trap throws,
// revoked Proxies, detached buffers, other typed arrays, invalid Dates, NaN, ±Infinity, -0,
// numbers past 2^53, lone surrogates, malformed times, freed handles, wrong receivers, getters
// that call back into the engine or free it mid-call.
//
// Every call must return or throw an Error whose `code` is one of Error::CODES (src/error.rs):
// never a WebAssembly.RuntimeError, never an uncoded error; no call may need the recovery of the
// host entries (their onError stays silent); and afterwards the very same engines decide every
// persona exactly as before, decision JSON and trace included.
import { test } from "node:test";
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";

import * as pkg from "../../pkg/node.js";
// The bindings the Node entry started (one module instance, one Wasm instance).
import * as bindings from "../../pkg/opmaat.js";
import { bundleFile, personas, trustedKeys } from "../personas.mjs";

const SEED = 0x0b5e55ed;
const PACKAGE_CALLS = 70_000;
const BINDINGS_CALLS = 40_000;
const NOW = "2026-12-05T09:30:00Z";
const MB = 1024 * 1024;

/** The codes of src/error.rs's Error::CODES: the only ones a call may throw here. */
const CODES = (() => {
  const source = readFileSync(new URL("../../src/error.rs", import.meta.url), "utf8");
  const list = source.slice(source.indexOf("pub const CODES")).split("];")[0];
  return new Set([...list.matchAll(/"([a-z_]+)"/g)].map((m) => m[1]));
})();

/** mulberry32: a tiny seeded PRNG, so every run makes the very same calls. */
function prng(seed) {
  let a = seed >>> 0;
  const next = () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
  next.pick = (list) => list[Math.floor(next() * list.length)];
  next.chance = (p) => next() < p;
  return next;
}

const bundle = readFileSync(bundleFile);
const loadOptions = { trustedKeys, now: NOW };
const people = personas();
const snapshots = people.map((p) => p.profile);
const decisions = people.flatMap((p) => p.decisions.map((d) => ({
  name: `${p.file} / ${d.placement}`, placement: d.placement, profile: p.profile, context: d.context ?? {}, now: d.now ?? p.now,
})));

// ---------------------------------------------------------------------------------------------
// Hostile values, each with a name for the failure report. Built once where they are costly.

const HUGE = "x".repeat(2 * MB);
const HUGE_JSON = `{"id":"p-huge","attributes":{"blob":"${"y".repeat(2 * MB)}"}}`;
const DEEP_TEXT = "[".repeat(200_000);
const deep = (depth, wrap) => {
  let value = {};
  for (let i = 0; i < depth; i++) value = wrap(value);
  return value;
};
const DEEP_OBJECT = deep(200_000, (v) => ({ a: v }));
const DEEP_ARRAY = deep(200_000, (v) => [v]);
const cycle = () => {
  const o = { id: "p-cycle", attributes: {} };
  o.attributes.self = o;
  return o;
};
const TRAP_NAMES = ["get", "set", "has", "deleteProperty", "ownKeys", "getOwnPropertyDescriptor", "defineProperty",
  "getPrototypeOf", "setPrototypeOf", "isExtensible", "preventExtensions", "apply", "construct"];
const throwingTraps = Object.fromEntries(TRAP_NAMES.map((t) => [t, () => { throw new Error(`hostile ${t} trap`); }]));
const revoked = (target) => {
  const { proxy, revoke } = Proxy.revocable(target, {});
  revoke();
  return proxy;
};
const detached = (buffer) => {
  structuredClone(buffer, { transfer: [buffer] });
  return buffer;
};
const throwingGetters = (keys) => Object.defineProperties({}, Object.fromEntries(keys.map((k) => [k, {
  enumerable: true, get() { throw new Error(`hostile getter ${k}`); },
}])));
class SubDate extends Date {}
const dateWith = (props) => Object.defineProperties(new Date(NOW), props);

const STRINGS = [
  "", " ", "overview", "homepage", "app-home", "agent", "nowhere", "Overview", "\u0000", "🎉", "\uD800", "a\uDC00b",
  "\uDBFF\uDFFF", "\uD83D", "{", "[]", "{}", "null", "true", "1e999", "L1.garbage", "L1.", "L9.x.y",
  "2026-12-05T09:30:0€Z", "2026-12-05T09:30:00", "2026-13-05T09:30:00Z", "2026-02-30T09:30:00Z", "2026-12-05T24:00:00Z",
  "9999-12-31T23:59:60Z", "0000-01-01T00:00:00Z", "2026-12-05T09:30:00.Z", "2026-12-05T09:30:00+24:00",
  "2026-12-05T09:30:00.123456789123456789123Z", "2026-12-05T09:30:00Z\u0000", "２０２６-12-05T09:30:00Z",
  "2026-12-05t09:30:00z", "2026-12-05 09:30:00-00:30", "2026-12-05T09:30:00€", "€€€€-€€-€€T€€:€€:€€Z", NOW,
  "impression", "click", "dismiss", "convert", "like",
];
const NUMBERS = [0, -0, 1, -1, 1.5, NaN, Infinity, -Infinity, 2 ** 31, 2 ** 32, 2 ** 53, 2 ** 53 + 2, -(2 ** 53), 2 ** 64,
  Number.MAX_VALUE, Number.MIN_VALUE, Number.EPSILON, 8.64e15, 8.64e15 + 1, -8.64e15, 1e21, Date.parse(NOW), 1796083200000];

/** A hostile value; `ctx` holds the handles of the run, `used` collects the names for the report. */
function hostile(r, ctx, used) {
  const [name, make] = r.pick(HOSTILE);
  used.push(name);
  return make(r, ctx);
}

const HOSTILE = [
  ["undefined", () => undefined], ["null", () => null], ["true", () => true], ["false", () => false],
  ["number", (r) => r.pick(NUMBERS)], ["string", (r) => r.pick(STRINGS)],
  ["huge string", (r) => r.pick([HUGE, HUGE_JSON])], ["deep JSON text", () => DEEP_TEXT],
  ["BigInt", (r) => r.pick([0n, 1n, -1n, 2n ** 64n])], ["Symbol", (r) => r.pick([Symbol("hostile"), Symbol.iterator, Symbol.for("opmaat.Profile")])],
  ["empty object", () => ({})], ["null-prototype object", () => Object.create(null)], ["empty array", () => []],
  ["array", (r) => r.pick([[1, 2, 3], ["overview"], ["overview", 1], [HUGE], [null], [[]]])],
  ["sparse array of 2^32-1", () => { const a = []; a.length = 2 ** 32 - 1; return a; }],
  ["array with a throwing element", () => Object.defineProperty(["overview"], 0, { get() { throw new Error("hostile element"); } })],
  ["deep object", () => DEEP_OBJECT], ["deep array", () => DEEP_ARRAY], ["cycle", cycle],
  ["frozen object", () => Object.freeze({ placement: "overview", nested: Object.freeze({}) })],
  ["throwing getters", () => throwingGetters(["placement", "placements", "profile", "context", "ledger", "now", "trace",
    "event", "token", "trustedKeys", "minVersion", "profileKeys", "requireSignedProfiles", "id", "attributes"])],
  ["throwing toJSON", () => ({ toJSON() { throw new Error("hostile toJSON"); } })],
  ["undefined toJSON", () => ({ toJSON: () => undefined })],
  ["throwing conversions", () => ({ [Symbol.toPrimitive]() { throw new Error("hostile toPrimitive"); }, valueOf() { throw new Error("hostile valueOf"); } })],
  ["Proxy whose every trap throws", (r) => new Proxy(r.pick([{}, [], new Uint8Array(4), new Date(NOW)]), throwingTraps)],
  ["function Proxy whose every trap throws", () => new Proxy(function hostile() {}, throwingTraps)],
  ["revoked Proxy", (r) => revoked(r.pick([{}, [], new Uint8Array(4)]))],
  ["forwarding Proxy", (r) => new Proxy(r.pick([{ placement: "overview" }, ["overview"], new Uint8Array(bundle), new Date(NOW)]), {})],
  ["Proxy posing as a Uint8Array", () => new Proxy({}, { getPrototypeOf: () => Uint8Array.prototype })],
  ["Proxy posing as a huge Uint8Array", () => new Proxy({}, { getPrototypeOf: () => Uint8Array.prototype, get: (_, k) => (k === "length" ? 1e15 : 0) })],
  ["Proxy posing as a Date", () => new Proxy({}, { getPrototypeOf: () => Date.prototype })],
  ["Proxy posing as a huge array", () => new Proxy([], { get: (_, k) => (k === "length" ? 1e9 : "overview") })],
  ["detached ArrayBuffer", () => detached(new ArrayBuffer(64))],
  ["Uint8Array of a detached buffer", () => { const a = new Uint8Array(bundle); detached(a.buffer); return a; }],
  ["other typed array", (r) => {
    const b = new Uint8Array(bundle).buffer.slice(0, bundle.length - (bundle.length % 8)); // whole elements
    return r.pick([new Uint16Array(b), new Int8Array(b), new Float64Array(b), new Uint8ClampedArray(b),
      new BigInt64Array(b), new DataView(b), new Int32Array(3)]);
  }],
  ["SharedArrayBuffer", (r) => r.pick([new SharedArrayBuffer(64), new Uint8Array(new SharedArrayBuffer(64))])],
  ["the bundle, bit-flipped", (r) => { const a = new Uint8Array(bundle); a[Math.floor(r() * a.length)] ^= 1 << Math.floor(r() * 8); return a; }],
  ["the bundle, cut short", (r) => new Uint8Array(bundle).subarray(0, Math.floor(r() * bundle.length))],
  ["invalid Date", () => new Date(NaN)], ["Date at the edge", (r) => new Date(r.pick([8.64e15, -8.64e15, 0]))],
  ["Date subclass", () => new SubDate(NOW)],
  ["Date with a throwing getTime", () => dateWith({ getTime: { value() { throw new Error("hostile getTime"); } } })],
  ["Date with throwing conversions", () => dateWith({ [Symbol.toPrimitive]: { value() { throw new Error("hostile"); } } })],
  ["frozen Date", () => Object.freeze(new Date(NOW))],
  ["built-in object", (r) => r.pick([new Map([["placement", "overview"]]), new Set([1]), new WeakMap(), Promise.resolve(1),
    new Error("hostile"), /overview/, new String("overview"), new Number(1), new Boolean(true), Math, JSON])],
  ["function", (r) => r.pick([function hostile() {}, () => "overview", class Hostile {}, Object])],
  ["the engine", (_, ctx) => ctx.engine], ["a profile", (_, ctx) => ctx.profile()],
  ["a freed profile", (_, ctx) => ctx.freedProfile()], ["a freed engine", (_, ctx) => ctx.freedEngine()],
  ["a handle of the other layer", (_, ctx) => ctx.foreignHandle()],
  ["getter calling back in", (_, ctx) => ({
    get placement() { try { ctx.engine.decide({ placement: "homepage", now: NOW }); } catch { /* counted on its own */ } return "overview"; },
    get now() { try { ctx.engine.profile(snapshots[0]).free(); } catch { /* as above */ } return NOW; },
  })],
  ["getter freeing mid-call", (_, ctx) => ctx.freeingGetter()],
];

// ---------------------------------------------------------------------------------------------
// Arguments: mostly well-formed with a hostile part, so that conversion reaches every field.

/** A value for one field: usually a good one, else hostile. */
const field = (r, ctx, used, good) => (r.chance(0.65) ? good() : hostile(r, ctx, used));

const TYPOS = ["placment", "Placement", "profiles", "ctx", "traces", "minversion", "trustedkeys", "when", "__proto__x", ""];

/** An option object with `fields`, in one of the shapes a page can make. */
function shaped(r, ctx, used, fields) {
  const plain = {};
  for (const [key, good] of Object.entries(fields)) {
    if (r.chance(0.85)) plain[key] = field(r, ctx, used, good);
  }
  if (r.chance(0.05)) {
    plain[r.pick(TYPOS)] = 1;
    used.push("unknown key");
  }
  const shape = r();
  if (shape < 0.8) return plain;
  if (shape < 0.86) { used.push("frozen"); return Object.freeze(plain); }
  if (shape < 0.9) { used.push("forwarding Proxy"); return new Proxy(plain, {}); }
  if (shape < 0.93) { used.push("inherited keys"); return Object.create(plain); }
  if (shape < 0.96) {
    used.push("one throwing getter");
    const keys = Object.keys(plain);
    const key = keys.length ? r.pick(keys) : "now";
    return Object.defineProperty({ ...plain }, key, { enumerable: true, get() { throw new Error("hostile"); } });
  }
  return hostile(r, ctx, used);
}

const goodPlacement = (r) => () => r.pick(["overview", "homepage", "app-home", "agent"]);
const goodSnapshot = (r) => () => r.pick(snapshots);
const goodContext = (r) => () => r.pick(decisions).context;
const goodTime = (r) => () => r.pick([NOW, new Date(NOW), Date.parse(NOW), undefined]);
const goodLedger = (r, ctx) => () => r.pick([undefined, ctx.ledger, "L1.garbage"]);

function decideRequest(r, ctx, used, many) {
  return shaped(r, ctx, used, {
    ...(many ? { placements: () => r.pick([["overview"], ["overview", "app-home"], ["homepage", "agent", "overview"]]) }
      : { placement: goodPlacement(r) }),
    profile: goodSnapshot(r), context: goodContext(r), ledger: goodLedger(r, ctx), now: goodTime(r), trace: () => r.chance(0.5),
  });
}

function forOptions(r, ctx, used, many) {
  return shaped(r, ctx, used, {
    ...(many ? { placements: () => r.pick([["overview"], ["overview", "app-home"]]) } : { placement: goodPlacement(r) }),
    context: goodContext(r), ledger: goodLedger(r, ctx), now: goodTime(r), trace: () => r.chance(0.5),
  });
}

const event = (r, ctx, used) => shaped(r, ctx, used, {
  event: () => r.pick(["impression", "click", "dismiss", "convert"]), token: () => r.pick(ctx.tokens), now: goodTime(r),
});

const options = (r, ctx, used) => shaped(r, ctx, used, {
  trustedKeys: () => trustedKeys, now: () => r.pick([NOW, new Date(NOW)]), minVersion: () => r.pick([0, 1, 2]),
  profileKeys: () => trustedKeys, requireSignedProfiles: () => false,
});

const bytes = (r, ctx, used) => field(r, ctx, used, () => r.pick([new Uint8Array(bundle), new Uint8Array(bundle).buffer, bundle]));

/** The Profile argument of decideFor and friends. */
const profileArg = (r, ctx, used) => (r.chance(0.8) || !ctx.hostileProfiles ? ctx.profile() : hostile(r, ctx, used));

/** The engine a call runs on: the main one mostly, a scratch one (freed now and then) else. */
const on = (r, ctx) => (r.chance(0.8) ? ctx.engine : ctx.scratchEngine());

// ---------------------------------------------------------------------------------------------
// Every export, with its share of the calls.

const GETTERS = ["bundleId", "version", "keyId", "issuedAt", "notBefore", "expiresAt", "propositionCount", "placements", "allowedLinkHosts"];

function exportsOf(layer) {
  const { Engine } = layer.module;
  const calls = [
    ["Engine.load", 3, (r, ctx, used) => Engine.load(bytes(r, ctx, used), options(r, ctx, used))],
    ...GETTERS.map((g) => [`engine.${g}`, 1, (r, ctx) => on(r, ctx)[g]]),
    ["engine.profile", 8, (r, ctx, used) => on(r, ctx).profile(field(r, ctx, used, goodSnapshot(r)))],
    ["engine.decide", 12, (r, ctx, used) => on(r, ctx).decide(decideRequest(r, ctx, used, false))],
    ["engine.decideAll", 8, (r, ctx, used) => on(r, ctx).decideAll(decideRequest(r, ctx, used, true))],
    ["engine.decideFor", 12, (r, ctx, used) => on(r, ctx).decideFor(profileArg(r, ctx, used), forOptions(r, ctx, used, false))],
    ["engine.decideAllFor", 8, (r, ctx, used) => on(r, ctx).decideAllFor(profileArg(r, ctx, used), forOptions(r, ctx, used, true))],
    ["engine.record", 10, (r, ctx, used) => on(r, ctx).record(field(r, ctx, used, goodLedger(r, ctx)), event(r, ctx, used))],
    ["engine.recordFor", 8, (r, ctx, used) => on(r, ctx).recordFor(profileArg(r, ctx, used), field(r, ctx, used, goodLedger(r, ctx)), event(r, ctx, used))],
    ["engine.fitLedger", 6, (r, ctx, used) => on(r, ctx).fitLedger(field(r, ctx, used, goodLedger(r, ctx)),
      field(r, ctx, used, () => r.pick([0, 10, 300, 4096, 2 ** 32 - 1])))],
    ["profile.id", 2, (r, ctx) => ctx.someProfile().id],
    ["profile.loggedIn", 2, (r, ctx) => ctx.someProfile().loggedIn],
    ["engine.free", 1, (r, ctx) => ctx.freeScratchEngine()],
    ["profile.free", 1, (r, ctx) => ctx.freeScratchProfile()],
  ];
  if (layer.guarded) {
    // What only the package's classes can answer with a code: wasm-bindgen's own glue throws
    // uncoded errors for these (and a freed handle's call leaks its shadow stack: see README).
    const methods = ["decide", "decideAll", "decideFor", "decideAllFor", "record", "recordFor", "fitLedger", "profile", "free"];
    calls.push(
      ["a method called on something else", 2, (r, ctx, used) => {
        const [method, value] = [r.pick(methods), hostile(r, ctx, used)];
        if (method === "free" && value === ctx.engine) return undefined; // the main engine lives on
        return Engine.prototype[method].call(value, {});
      }],
      ["a getter read from something else", 1, (r, ctx, used) => Reflect.get(Engine.prototype, r.pick(GETTERS), hostile(r, ctx, used))],
      ["Profile getters of something else", 1, (r, ctx, used) => Reflect.get(layer.module.Profile.prototype, r.pick(["id", "loggedIn"]), hostile(r, ctx, used))],
      ["new Engine()", 1, (r, ctx, used) => new Engine(hostile(r, ctx, used))],
      ["setOnError", 1, (r, ctx, used) => {
        const value = hostile(r, ctx, used);
        // A function or null is a valid callback; every other value must be refused.
        if (typeof value === "function" || value === null) return undefined;
        return layer.module.setOnError(value);
      }],
    );
  }
  const total = calls.reduce((n, [, w]) => n + w, 0);
  return (r) => {
    let x = r() * total;
    for (const call of calls) if ((x -= call[1]) < 0) return call;
    return calls.at(-1);
  };
}

// ---------------------------------------------------------------------------------------------

/** The handles one layer's calls run on, with its scratch engine and profiles. */
function context(layer, r) {
  const { Engine } = layer.module;
  const engine = Engine.load(new Uint8Array(bundle), loadOptions);
  const first = engine.decide({ placement: "overview", profile: snapshots[0], now: NOW });
  const tokens = [...first.slots.map((s) => s.token), "", "not.a.token", HUGE.slice(0, 5000)];
  const ledger = engine.record(undefined, { event: "click", token: tokens[0], now: NOW }).ledger;
  const profiles = snapshots.map((s) => engine.profile(s));
  let scratch = null;
  let scratchProfiles = [];
  const freshScratch = () => {
    // The bindings' free of a freed handle is uncoded; the package's is a no-op.
    if (scratch && (layer.guarded || !ctx.scratchFreed)) {
      scratch.free();
      scratchProfiles.forEach((p) => p.free());
    }
    ctx.scratchFreed = false;
    scratch = Engine.load(new Uint8Array(bundle), loadOptions);
    scratchProfiles = snapshots.slice(0, 3).map((s) => scratch.profile(s));
  };
  const ctx = {};
  freshScratch();
  const freedEngine = Engine.load(new Uint8Array(bundle), loadOptions);
  const freedProfile = engine.profile(snapshots[1]);
  freedEngine.free();
  freedProfile.free();
  Object.assign(ctx, {
    engine, tokens, ledger,
    hostileProfiles: layer.guarded,
    profile: () => r.pick(layer.guarded && r.chance(0.1) ? scratchProfiles : profiles),
    someProfile: () => (layer.guarded && r.chance(0.2) ? r.pick([freedProfile, ...scratchProfiles]) : r.pick(profiles)),
    freedProfile: () => (layer.guarded ? freedProfile : null),
    freedEngine: () => (layer.guarded ? freedEngine : null),
    foreignHandle: () => layer.foreignHandle(r),
    scratchEngine: () => {
      if (r.chance(0.005)) freshScratch();
      return layer.guarded || !ctx.scratchFreed ? scratch : engine;
    },
    freeScratchEngine: () => {
      if (!layer.guarded && ctx.scratchFreed) return undefined; // the bindings' double free is uncoded
      scratch.free();
      ctx.scratchFreed = true;
      return undefined;
    },
    freeScratchProfile: () => {
      const p = r.pick(scratchProfiles);
      if (!layer.guarded) return undefined; // the bindings throw an uncoded error for a second free
      p.free();
      return undefined;
    },
    // Frees the scratch engine and its profiles from inside a call on them: the package waits
    // until the call is over. (The bindings throw wasm-bindgen's uncoded error for it.)
    freeingGetter: () => (layer.guarded ? {
      placement: "overview",
      get now() { scratch.free(); scratchProfiles.forEach((p) => p.free()); return NOW; },
    } : {}),
  });
  return { ctx, reset: freshScratch };
}

/** Every persona decided, and recorded, by `engine`: the JSON text of all of it. */
function everything(engine) {
  return JSON.stringify(decisions.map((d) => {
    const profile = engine.profile(d.profile);
    const decided = engine.decide({ placement: d.placement, profile: d.profile, context: d.context, now: d.now, trace: true });
    const decidedFor = engine.decideFor(profile, { placement: d.placement, context: d.context, now: d.now, trace: true });
    const all = engine.decideAllFor(profile, { placements: [d.placement, "homepage"], context: d.context, now: d.now });
    const token = decided.slots[0]?.token;
    const recorded = token && engine.recordFor(profile, undefined, { event: "click", token, now: d.now });
    const fitted = recorded && engine.fitLedger(recorded.ledger, 200);
    profile.free();
    return { decided, decidedFor, all, recorded, fitted, getters: GETTERS.map((g) => engine[g]) };
  }));
}

/** Runs `count` calls on one layer; returns the failures, grouped, and how many calls threw. */
function onslaught(layer, seed, count) {
  const r = prng(seed);
  const { ctx, reset } = context(layer, r);
  const before = everything(ctx.engine);
  const nextCall = exportsOf(layer);
  const failures = new Map();
  let threw = 0;
  for (let i = 0; i < count; i++) {
    if (i % 500 === 0 && ctx.scratchFreed) reset();
    const [name, , call] = nextCall(r);
    const used = [];
    try {
      call(r, ctx, used);
    } catch (e) {
      threw += 1;
      const coded = e instanceof Error && !(e instanceof WebAssembly.RuntimeError) && typeof e.code === "string" && CODES.has(e.code);
      if (!coded) {
        const key = `${layer.name} ${name}: ${e?.constructor?.name} ${e?.code ?? "(no code)"} ${String(e?.message ?? e).slice(0, 160)}`;
        const seen = failures.get(key) ?? { count: 0, example: `call ${i}, values: ${used.join(", ") || "well-formed"}` };
        seen.count += 1;
        failures.set(key, seen);
      }
    }
  }
  let after;
  try {
    after = everything(ctx.engine);
  } catch (e) {
    after = `the personas could not be decided again: ${e?.constructor?.name}: ${e?.message}`;
  }
  return { failures, threw, before, after };
}

test("every export, 100,000+ seeded hostile calls: each returns or throws a coded Error, and the engine decides as before", (t) => {
  assert.ok(CODES.size >= 20 && CODES.has("invalid_argument"), "read Error::CODES from src/error.rs");
  const reports = [];
  // Handles of the bindings themselves, where the package's classes belong.
  const rawEngine = bindings.Engine.load(new Uint8Array(bundle), loadOptions);
  const foreign = [rawEngine, rawEngine.profile(snapshots[0])];
  pkg.setOnError((e) => reports.push(e));
  const started = performance.now();
  const layers = [
    { name: "package", module: pkg, guarded: true, calls: PACKAGE_CALLS, foreignHandle: (r) => r.pick(foreign) },
    { name: "bindings", module: bindings, guarded: false, calls: BINDINGS_CALLS, foreignHandle: () => null },
  ];
  const results = layers.map((layer, i) => ({ layer, ...onslaught(layer, SEED + i, layer.calls) }));
  const seconds = (performance.now() - started) / 1000;
  pkg.setOnError(null);

  const failures = results.flatMap(({ failures: f }) => [...f].map(([key, { count, example }]) => `${key}  ×${count} (first: ${example})`));
  assert.deepEqual(failures, [], `calls that did not end in a coded Error:\n${failures.join("\n")}`);
  assert.deepEqual(reports.map((e) => e.message), [], "no call needed the recovery");
  for (const { layer, before, after } of results) {
    assert.equal(after, before, `${layer.name}: every persona is decided exactly as before the onslaught`);
  }
  const calls = results.reduce((n, { layer }) => n + layer.calls, 0);
  const threw = results.reduce((n, r) => n + r.threw, 0);
  assert.ok(calls >= 100_000);
  // Not a test that passes by refusing everything: well-formed calls got through.
  assert.ok(threw < calls * 0.9 && threw > calls * 0.2, `${threw} of ${calls} calls threw`);
  t.diagnostic(`${calls} hostile calls (${threw} threw a coded Error) in ${seconds.toFixed(1)} s`);
});
