// The app webview (`opmaat/webview`) in real headless Chromium, the way a bank's app runs it: the
// page and the package are app assets, loaded from file:// (classic scripts: module scripts are
// refused there) and from an app-assets origin (https://appassets.androidplatform.net, as
// Android's WebViewAssetLoader serves them; the module entry), with every other request
// aborted. The native side cannot run here, so each platform's JavaScript face is an object of
// that shape: it hands in the bank-signed snapshot, the context, the bundle and the stored ledger,
// and keeps what the page hands back (responses with the ledger after them, in order).
import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import { copyFileSync, mkdtempSync, readFileSync, statSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { gzipSync } from "node:zlib";

import { fixtures, keys, root } from "../personas.mjs";
import { launchChromium } from "./harness.mjs";

const NOW = "2026-12-05T09:30:00Z";
const MOBILE = { width: 390, height: 844 };
const APP_ORIGIN = "https://appassets.androidplatform.net";
const TRUSTED = { [keys.a.keyId]: keys.a.publicKey };
/** The bank's profile key: the fixtures' key b (a development key). */
const PROFILE_KEYS = { [keys.b.keyId]: keys.b.publicKey };
const pensioner = JSON.parse(readFileSync(join(root, "tests/personas/pensioner.json"), "utf8")).profile;
const BUNDLE = readFileSync(join(fixtures, "sample-a.opb")).toString("base64");

let assets, browser, signed, tampered;
before(async () => {
  assets = mkdtempSync(join(tmpdir(), "opmaat-webview-"));
  for (const file of ["webview.global.js", "opmaat_bg.wasm.js", "webview.js", "bridge.js", "lastgood.js", "render.js", "recover.js", "opmaat.js", "opmaat_bg.wasm"]) {
    copyFileSync(join(root, "pkg", file), join(assets, file));
  }
  const slots = `<section data-opmaat-slot="app-home:1"><p class="default">Welkom terug</p></section>
    <section data-opmaat-slot="app-home:2"><p class="default">Bekijk uw rekeningen</p></section>`;
  const run = (wasm) => `window.opmaatRun = opmaat.runWebview({ wasm: ${wasm}, trustedKeys: ${JSON.stringify(TRUSTED)},
      profileKeys: ${JSON.stringify(PROFILE_KEYS)}, placements: ["app-home"], onError: (e) => (window.opmaatErrors ??= []).push(e.code) });`;
  // file://: classic scripts only.
  writeFileSync(join(assets, "classic.html"), `<!doctype html><meta charset="utf-8"><meta name="viewport" content="width=device-width">
    <link rel="icon" href="data:,">${slots}
    <script src="opmaat_bg.wasm.js"></script><script src="webview.global.js"></script><script>${run("window.opmaatWasm")}</script>`);
  // An app-assets origin: the module entry, the .wasm fetched from the app's own assets.
  writeFileSync(join(assets, "module.html"), `<!doctype html><meta charset="utf-8"><meta name="viewport" content="width=device-width">
    <link rel="icon" href="data:,">${slots}
    <script type="module">import * as opmaat from "./webview.js";
      const wasm = await (await fetch("opmaat_bg.wasm")).arrayBuffer();
      ${run("wasm")}</script>`);
  const dir = mkdtempSync(join(tmpdir(), "opmaat-webview-profile-"));
  writeFileSync(join(dir, "profile.json"), JSON.stringify(pensioner));
  signed = JSON.parse(execFileSync(join(root, "target/debug/opmaat"), ["sign-profile", join(dir, "profile.json"), "--key", join(fixtures, "b.key")], { encoding: "utf8" }));
  const altered = Buffer.from(signed.snapshot, "base64").toString("utf8").replace('"age":68', '"age":28');
  tampered = { ...signed, snapshot: Buffer.from(altered).toString("base64") };
  browser = await launchChromium();
});
after(() => browser?.close());

/** Each platform's JavaScript face, installed before the page runs: what the page sends lands in `window.toNative`. */
const FACES = {
  "ios": `window.webkit = { messageHandlers: { opmaat: { postMessage: (s) => window.toNative.push(s) } } };`,
  "android-web-message": `window.opmaatNative = { postMessage: (s) => window.toNative.push(s), onmessage: null };`,
  "android-interface": `window.OpmaatAndroid = { postMessage: (s) => window.toNative.push(s) };`,
  "react-native": `window.ReactNativeWebView = { postMessage: (s) => window.toNative.push(s) };`,
};
/** How each platform's native side delivers a message to the page. */
const DELIVER = {
  "ios": (text) => window.opmaatBridge.receive(text), // evaluateJavaScript
  "android-web-message": (text) => window.opmaatNative.onmessage({ data: text }), // replyProxy.postMessage
  "android-interface": (text) => window.opmaatBridge.receive(text), // evaluateJavascript
  "react-native": (text) => document.dispatchEvent(new MessageEvent("message", { data: text })), // Android's RN WebView
};

/** A webview with `face`, the page at `url`; every request that is not an app asset is aborted and counted. */
async function webview(face, { url = `file://${join(assets, "classic.html")}`, context: existing } = {}) {
  const context = existing ?? await browser.newContext({ viewport: MOBILE });
  const outside = [];
  if (!existing) {
    await context.clock.setFixedTime(new Date(NOW));
    await context.addInitScript(`window.toNative = []; ${FACES[face]}`);
    await context.route("**/*", async (route) => {
      const request = route.request().url();
      if (request.startsWith(`file://${assets}/`)) return route.continue(); // the app's own assets
      if (request.startsWith(`${APP_ORIGIN}/`)) {
        const file = join(assets, new URL(request).pathname.slice(1));
        const type = file.endsWith(".wasm") ? "application/wasm" : file.endsWith(".html") ? "text/html" : "text/javascript";
        return route.fulfill({ status: 200, contentType: type, body: readFileSync(file) });
      }
      outside.push(request);
      return route.abort();
    });
  }
  const page = await context.newPage();
  const errors = [];
  const requests = [];
  page.on("request", (r) => requests.push(r.url()));
  page.on("pageerror", (e) => errors.push(e.message));
  page.on("console", (m) => m.type() === "error" && errors.push(m.text()));
  const started = Date.now();
  await page.goto(url);
  await page.waitForFunction(() => window.toNative.some((s) => JSON.parse(s).type === "ready"));
  const send = (message) => page.evaluate(({ deliver, text }) => new Function("text", `(${deliver})(text)`)(text),
    { deliver: DELIVER[face].toString(), text: typeof message === "string" ? message : JSON.stringify(message) });
  const received = () => page.evaluate(() => window.toNative.map((s) => JSON.parse(s)));
  const settled = () => page.evaluate(async () => { await (await window.opmaatRun).settled(); });
  const shown = () => page.$$eval("[data-opmaat-slot]", (els) => els.map((e) => e.getAttribute("data-opmaat-proposition")));
  /** Sends `message` and waits until the page has handled it (and all before it). */
  const deliver = async (message) => {
    await send(message);
    await settled();
  };
  return { context, page, errors, requests, outside, send, deliver, received, settled, shown, started };
}

const init = (fields = {}) => ({ v: 1, type: "init", id: "init-1", snapshot: signed, bundle: BUNDLE,
  context: { screen: "home", locale: "nl-NL", formFactor: "small", appVersion: "8.12.0" }, ...fields });

for (const [face, url] of [["ios", null], ["android-web-message", `${APP_ORIGIN}/module.html`], ["android-interface", null], ["react-native", `${APP_ORIGIN}/module.html`]]) {
  test(`${face}, from ${url ? "an app-assets origin" : "file://"}, no network: snapshot in, banners rendered, responses and ledger out in order`, async () => {
    const w = await webview(face, url ? { url } : {});
    await w.deliver(init());
    assert.deepEqual(await w.shown(), ["afloswijzer", "spaar-spektakel"]);
    const messages = await w.received();
    assert.equal(messages[0].type, "ready");
    const decided = messages.find((m) => m.type === "decided");
    assert.deepEqual(decided.placements[0].slots.map((s) => s.proposition), ["afloswijzer", "spaar-spektakel"]);
    assert.deepEqual(messages.map((m) => m.seq), messages.map((_, i) => i + 1), "numbered in order");
    // 1,000 responses: the first of each is added, the repeats change nothing; every one answered, in order.
    const tokens = decided.placements[0].slots.map((s) => s.token);
    const before = messages.length;
    for (let i = 0; i < 1000; i++) {
      const token = tokens[i % 2];
      await w.send({ v: 1, type: "convert", id: i, token });
    }
    await w.settled();
    // (The banners' impressions are responses too, whenever they come into view.)
    const responses = (await w.received()).slice(before).filter((m) => m.type === "response" && m.event === "convert");
    assert.equal(responses.length, 1000, "nothing lost");
    const seqs = responses.map((r) => r.seq);
    assert.deepEqual(seqs, [...seqs].sort((a, b) => a - b), "in order");
    assert.equal(new Set(seqs).size, 1000, "nothing duplicated");
    assert.deepEqual(responses.slice(0, 2).map((r) => r.recorded), ["added", "added"]);
    assert.ok(responses.slice(2).every((r) => r.recorded === "duplicate"), "a conversion counts once");
    assert.equal(responses[0].measurement.length, 1, "with analytics consent, for the app to forward");
    // The page's own responses: each banner's impression, once.
    await w.page.waitForFunction(() => window.toNative.filter((s) => JSON.parse(s).event === "impression").length >= 2);
    const impressions = (await w.received()).filter((m) => m.type === "response" && m.event === "impression");
    assert.deepEqual(impressions.map((m) => m.proposition).sort(), ["afloswijzer", "spaar-spektakel"]);
    const ledger = responses.at(-1).ledger;
    assert.ok(ledger.length > 10);
    if (!url) assert.deepEqual(w.requests.filter((r) => !r.startsWith("file://")), [], "no request leaves the device");
    assert.deepEqual(w.outside, [], "no request leaves the app");
    assert.deepEqual(w.errors, []);
    await w.context.close();
  });
}

test("a dismissal survives a reload, and a cleared webview cache, when the app gives the ledger back", async () => {
  const w = await webview("ios");
  await w.deliver(init());
  assert.deepEqual(await w.shown(), ["afloswijzer", "spaar-spektakel"]);
  await w.page.click('[data-opmaat-slot="app-home:2"] .opmaat-dismiss');
  const dismissed = (await w.received()).filter((m) => m.type === "response" && m.event === "dismiss");
  assert.equal(dismissed.length, 1);
  assert.equal(dismissed[0].proposition, "spaar-spektakel");
  // Reloaded with the webview's storage cleared (a cleared cache); the app gives back the ledger
  // it kept. (The old page is closed first: it writes nothing more; the new one none before init.)
  await w.page.close();
  const again = await webview("ios", { context: w.context });
  await again.page.evaluate(() => localStorage.clear());
  await again.deliver(init({ ledger: dismissed[0].ledger }));
  const shown = await again.shown();
  assert.ok(!shown.includes("spaar-spektakel"), shown.join());
  // Without the app's ledger (and with the cache cleared) the page could not have known.
  await again.page.close();
  const forgetful = await webview("ios", { context: w.context });
  await forgetful.page.evaluate(() => localStorage.clear());
  await forgetful.deliver(init());
  assert.ok((await forgetful.shown()).includes("spaar-spektakel"));
  await w.context.close();
});

test("an unsigned or tampered snapshot is refused with its code; a bad message gets an error reply; the defaults stay", async () => {
  const w = await webview("android-interface");
  const defaults = () => w.page.$$eval("[data-opmaat-slot] .default", (els) => els.map((e) => e.textContent));
  for (const [snapshot, code] of [[pensioner, "unsigned_profile"], [tampered, "bad_profile_signature"]]) {
    await w.deliver(init({ id: code, snapshot }));
    const reply = (await w.received()).find((m) => m.type === "error" && m.inReplyTo === code);
    assert.equal(reply?.code, code, JSON.stringify(await w.received()));
    assert.deepEqual(await defaults(), ["Welkom terug", "Bekijk uw rekeningen"]);
  }
  for (const [bad, problem] of [
    ["not json", /not a bridge message/], [JSON.stringify({ v: 2, type: "init" }), /protocol version 1/],
    [JSON.stringify({ v: 1, type: "launch" }), /type: expected one of/], [JSON.stringify({ v: 1, type: "init", id: 7 }), /snapshot: missing/],
    [JSON.stringify({ v: 1, type: "init", snapshot: {}, ledgr: "x" }), /ledgr: unknown field/], [JSON.stringify({ v: 1, type: "ledger", ledger: 5 }), /ledger: expected a string/],
    [JSON.stringify({ v: 1, type: "convert", token: "t" }), /before a successful init/],
  ]) {
    const count = (await w.received()).length;
    await w.deliver(bad);
    const reply = (await w.received()).slice(count).find((m) => m.type === "error");
    assert.match(reply?.message ?? "", problem, bad);
  }
  assert.deepEqual(await defaults(), ["Welkom terug", "Bekijk uw rekeningen"]);
  // And a good init after all that still works.
  await w.deliver(init());
  assert.deepEqual(await w.shown(), ["afloswijzer", "spaar-spektakel"]);
  assert.deepEqual(w.errors, []);
  await w.context.close();
});

test("a refused new bundle falls back to the last good one kept on the device", async () => {
  const w = await webview("ios");
  await w.deliver(init());
  const bytes = Buffer.from(BUNDLE, "base64");
  bytes[bytes.length - 1] ^= 1;
  await w.page.close();
  const again = await webview("ios", { context: w.context });
  await again.deliver(init({ id: "tampered-bundle", bundle: bytes.toString("base64") }));
  const reply = (await again.received()).find((m) => m.type === "error" && m.inReplyTo === "tampered-bundle");
  assert.equal(reply?.code, "bad_signature");
  assert.deepEqual(await again.shown(), ["afloswijzer", "spaar-spektakel"], "decided from the last good bundle");
  await w.context.close();
});

test("the webview's time from page start to banners rendered, and its bytes (reported)", async () => {
  const times = [];
  for (let i = 0; i < 5; i++) {
    const w = await webview("ios");
    const t0 = Date.now();
    await w.send(init());
    await w.page.waitForSelector('[data-opmaat-proposition="spaar-spektakel"]');
    times.push({ total: Date.now() - w.started, afterInit: Date.now() - t0 });
    await w.context.close();
  }
  const median = (xs) => xs.sort((a, b) => a - b)[Math.floor(xs.length / 2)];
  const size = (file) => statSync(join(assets, file)).size;
  const gz = (file) => gzipSync(readFileSync(join(assets, file)), { level: 9 }).length;
  console.log(JSON.stringify({
    pageStartToBannersMs: median(times.map((t) => t.total)), initToBannersMs: median(times.map((t) => t.afterInit)),
    bytes: Object.fromEntries(["webview.global.js", "opmaat_bg.wasm.js", "opmaat_bg.wasm"].map((f) => [f, { raw: size(f), gzip: gz(f) }])),
  }));
});
