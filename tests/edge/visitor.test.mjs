// The edge's visitor cookie and request reading (www/edge/visitor.js) and its banner markup
// (www/edge/banner.js), in Node with the same WebCrypto the worker has: signing and verifying,
// every way a cookie is refused (with fast-check properties of the decoder, from fixed seeds: a
// mutated cookie or another spelling of it is never the original, nothing thrown), the size
// bound against the fullest ledger the sample catalogue can give a logged-off visitor, and
// escaping and link checks of the banner.
import { test } from "node:test";
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import fc from "fast-check";

import { Engine } from "../../pkg/node.js";
import { bannerHtml, clickTarget, escapeHtml, returnPath } from "../../www/edge/banner.js";
import {
  MAX_COOKIE_BYTES, MAX_DISMISSALS_CHARS, MAX_LEDGER_CHARS, MAX_TOPICS, VISITOR_ID, consentOf, cookieKey, encodeVisitor, forgetVisitor,
  fromBase64url, isMobile, pageViewCookie, preferredLocale, readVisitor, readVisitorCookie, randomVisitorId, rememberedWith, toBase64url,
  topicOf, visitorProfile, withTopic,
} from "../../www/edge/visitor.js";
import { bundleFile, trustedKeys } from "../personas.mjs";
import { TEST_COOKIE_KEY } from "./harness.mjs";

const NOW = Date.parse("2026-12-05T09:30:00Z");
const key = await cookieKey(TEST_COOKIE_KEY);
const pair = async (visitor, at = NOW) => (await encodeVisitor(visitor, key, at)).setCookie.split(";")[0];

test("a cookie round-trips; another key, another format or age makes a new visitor", async () => {
  const visitor = { id: "v-abcdefghijklmnop", topics: ["security"], ledger: "L1.x", dismissals: "L1.y" };
  const cookie = await pair(visitor);
  const back = await readVisitor(`other=1; ${cookie}`, key, NOW + 1000);
  assert.deepEqual(back, { visitor: { ...visitor, issued: NOW / 1000, isNew: false } });
  // A visitor without consent: no id, only what they dismissed.
  const minimal = await pair({ topics: [], dismissals: "L1.y" });
  assert.deepEqual(Object.keys(JSON.parse(Buffer.from(minimal.split("=")[1].split(".")[0], "base64url"))), ["f", "t", "d"]);
  assert.deepEqual((await readVisitor(minimal, key, NOW)).visitor, { id: undefined, topics: [], ledger: undefined, dismissals: "L1.y", issued: NOW / 1000, isNew: false });
  const otherKey = await cookieKey("another-key-of-at-least-thirty-two-characters");
  assert.equal((await readVisitor(cookie, otherKey, NOW)).problem, "tampered");
  assert.equal((await readVisitor(cookie, key, NOW + 401 * 86_400_000)).problem, "expired");
  assert.equal((await readVisitor(cookie, key, NOW - 2 * 86_400_000)).problem, "expired", "issued in the future");
  assert.equal((await readVisitor("opmaat_v=bm90IGpzb24.AAAA", key, NOW)).problem, "tampered");
  const { visitor: fresh, problem } = await readVisitor(undefined, key, NOW);
  assert.equal(problem, undefined);
  assert.ok(fresh.isNew);
  assert.equal(fresh.id, undefined, "no id until consent allows one");
  assert.notEqual(randomVisitorId(), randomVisitorId(), "ids are random");
  await assert.rejects(cookieKey("short"), /at least 32 characters/);
});

// ---------------------------------------------------------------------------------------------
// The cookie decoder's properties. Fixed seeds: the same cases on every run, so CI never flakes.

const ALPHABET = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
const DAY_MS = 86_400_000;
const TOPICS = ["savings", "mortgage", "loans", "payments", "investments", "security"];
const valueOf = (pair) => pair.slice("opmaat_v=".length);

/**
 * Every other spelling of the bytes `canonical` spells that `atob` would take: the unused low
 * bits of the last character set, `=` padding, `+` and `/` for `-` and `_`, whitespace inside.
 */
function otherSpellings(canonical) {
  const spellings = [];
  const unusedBits = [0, 0, 4, 2][canonical.length % 4];
  const last = ALPHABET.indexOf(canonical.at(-1));
  for (let low = 1; low < 1 << unusedBits; low++) spellings.push(canonical.slice(0, -1) + ALPHABET[last | low]);
  const padding = (4 - (canonical.length % 4)) % 4;
  if (padding) spellings.push(canonical + "=".repeat(padding));
  [...canonical].forEach((c, i) => {
    if (c === "-" || c === "_") spellings.push(canonical.slice(0, i) + (c === "-" ? "+" : "/") + canonical.slice(i + 1));
  });
  for (const space of [" ", "\t", "\n"]) spellings.push(canonical.slice(0, 1) + space + canonical.slice(1));
  return spellings;
}

/** A visitor as the edge writes them, and when. */
const aLedger = fc.option(fc.stringMatching(/^L1\.[A-Za-z0-9_-]{0,200}$/), { nil: undefined });
const aVisitor = fc.record({
  id: fc.option(fc.stringMatching(/^v-[a-z]{16}$/), { nil: undefined }),
  topics: fc.subarray(TOPICS, { maxLength: MAX_TOPICS }),
  ledger: aLedger,
  dismissals: aLedger,
  at: fc.integer({ min: NOW - 300 * DAY_MS, max: NOW }),
});
/** One edit of a cookie value, with characters near the alphabet and the cookie syntax. */
const NEAR = [...ALPHABET, "=", "+", "/", ".", " ", "\t", ";", "%", '"', "\u00e9"];
const anEdit = fc.oneof(
  fc.record({ kind: fc.constant("replace"), at: fc.nat(), by: fc.constantFrom(...NEAR) }),
  // The last characters, where unused bits hide.
  fc.record({ kind: fc.constant("replace"), at: fc.integer({ min: -2, max: -1 }), by: fc.constantFrom(...NEAR) }),
  fc.record({ kind: fc.constant("insert"), at: fc.nat(), by: fc.constantFrom(...NEAR) }),
  fc.record({ kind: fc.constant("delete"), at: fc.nat() }),
  fc.record({ kind: fc.constant("truncate"), at: fc.nat() }),
  fc.record({ kind: fc.constant("swap"), at: fc.nat(), by: fc.nat() }),
  fc.record({ kind: fc.constant("case"), at: fc.nat() }),
);
function edited(value, edit) {
  if (value === "") return edit.kind === "insert" ? edit.by : value;
  const at = edit.at < 0 ? Math.max(0, value.length + edit.at) : edit.at % (value.length + 1);
  const i = Math.min(at, value.length - 1);
  switch (edit.kind) {
    case "replace": return value.slice(0, i) + edit.by + value.slice(i + 1);
    case "insert": return value.slice(0, at) + edit.by + value.slice(at);
    case "delete": return value.slice(0, i) + value.slice(i + 1);
    case "truncate": return value.slice(0, at);
    case "swap": {
      const j = edit.by % value.length;
      const chars = [...value];
      [chars[i], chars[j]] = [chars[j], chars[i]];
      return chars.join("");
    }
    default: {
      const c = value[i];
      return value.slice(0, i) + (c === c.toLowerCase() ? c.toUpperCase() : c.toLowerCase()) + value.slice(i + 1);
    }
  }
}

test("base64url: bytes round-trip, and every other spelling of them is refused", () => {
  fc.assert(fc.property(fc.uint8Array({ maxLength: 80 }), (bytes) => {
    const text = toBase64url(bytes);
    assert.deepEqual(fromBase64url(text), bytes);
    for (const other of otherSpellings(text)) assert.equal(fromBase64url(other), null, JSON.stringify(other));
  }), { seed: 20261202, numRuns: 2000 });
  for (const wrong of ["A", "AAAAA", "A===", "AA=", "QQ==", "QR", "-_+/", " QQ", undefined, 42]) assert.equal(fromBase64url(wrong), null, String(wrong));
});

test("the cookie round-trips: what was encoded is what is read", async () => {
  await fc.assert(fc.asyncProperty(aVisitor, async ({ at, ...visitor }) => {
    const { visitor: back, problem } = await readVisitorCookie(valueOf(await pair(visitor, at)), key, NOW);
    assert.equal(problem, undefined);
    assert.deepEqual(back, { ...visitor, issued: Math.floor(at / 1000), isNew: false });
  }), { seed: 1, numRuns: 500 });
});

test("a cookie spelt another way than the worker wrote it is refused", async () => {
  // The flake this replaces: `atob` ignored the MAC's unused low bits, so every cookie had 3
  // more spellings that passed as itself (4,800 of 4,800 in 1,600 cookies).
  await fc.assert(fc.asyncProperty(aVisitor, async ({ at, ...visitor }) => {
    const [payload, mac] = valueOf(await pair(visitor, at)).split(".");
    const others = [...otherSpellings(mac).map((m) => `${payload}.${m}`), ...otherSpellings(payload).map((p) => `${p}.${mac}`)];
    for (const other of others) {
      const { visitor: read, problem } = await readVisitorCookie(other, key, NOW);
      assert.ok(problem && read.isNew, JSON.stringify(other));
    }
  }), { seed: 2, numRuns: 500 });
});

test("a cookie edited in any way is never the original, and nothing throws", async () => {
  await fc.assert(fc.asyncProperty(aVisitor, fc.array(anEdit, { minLength: 1, maxLength: 3 }), async ({ at, ...visitor }, edits) => {
    const value = valueOf(await pair(visitor, at));
    const changed = edits.reduce(edited, value);
    fc.pre(changed !== value);
    const { visitor: read, problem } = await readVisitorCookie(changed, key, NOW);
    assert.ok(problem, `accepted: ${JSON.stringify(changed)}`);
    assert.deepEqual({ ...read, issued: 0 }, { id: undefined, topics: [], ledger: undefined, dismissals: undefined, issued: 0, isNew: true });
  }), { seed: 3, numRuns: 3000 });
});

test("any cookie header, and any payload even when signed, is read without throwing", async () => {
  await fc.assert(fc.asyncProperty(fc.string({ unit: "binary", maxLength: 300 }), async (text) => {
    for (const header of [text, `opmaat_v=${text}`, `a=1; opmaat_v=${text}; opmaat_v=x`]) {
      const { visitor } = await readVisitor(header, key, NOW);
      assert.ok(visitor.isNew && visitor.id === undefined);
    }
  }), { seed: 4, numRuns: 1000 });
  // Signed with the right key, so the JSON is read: only a well-formed visitor is taken.
  await fc.assert(fc.asyncProperty(fc.jsonValue({ maxDepth: 3 }), async (data) => {
    const payload = toBase64url(new TextEncoder().encode(JSON.stringify(data) ?? "null"));
    const mac = toBase64url(new Uint8Array(await crypto.subtle.sign("HMAC", key, new TextEncoder().encode(payload))));
    const { visitor, problem } = await readVisitorCookie(`${payload}.${mac}`, key, NOW);
    if (!problem) {
      assert.ok(visitor.id === undefined || VISITOR_ID.test(visitor.id));
      assert.ok([visitor.ledger, visitor.dismissals].every((l) => l === undefined || typeof l === "string"));
      assert.ok(visitor.topics.every((t) => typeof t === "string") && visitor.topics.length <= MAX_TOPICS);
    }
  }), { seed: 5, numRuns: 1000 });
});

test("the cookie stays under its bound: topics go first, then the ledger, then the dismissals, and it says so", async () => {
  const big = { id: "v-abcdefghijklmnop", topics: ["savings", "security"], ledger: `L1.${"A".repeat(MAX_COOKIE_BYTES)}` };
  const encoded = await encodeVisitor(big, key, NOW);
  assert.deepEqual(encoded.dropped, ["topics", "ledger"]);
  assert.ok(encoded.bytes <= MAX_COOKIE_BYTES);
  const justTopics = await encodeVisitor({ ...big, topics: Array(MAX_TOPICS).fill("x".repeat(600)), ledger: undefined }, key, NOW);
  assert.deepEqual(justTopics.dropped, ["topics"]);
  const everything = await encodeVisitor({ ...big, dismissals: `L1.${"B".repeat(MAX_COOKIE_BYTES)}` }, key, NOW);
  assert.deepEqual(everything.dropped, ["topics", "ledger", "dismissals"]);
  assert.ok(everything.bytes <= MAX_COOKIE_BYTES);
});

test("a ledger and dismissals fitted to their bounds, with every topic kept, fit the cookie", async () => {
  const ledger = `L1.${"A".repeat(MAX_LEDGER_CHARS - 3)}`;
  const dismissals = `L1.${"B".repeat(MAX_DISMISSALS_CHARS - 3)}`;
  const topics = Array(MAX_TOPICS).fill("investments");
  const encoded = await encodeVisitor({ id: "v-abcdefghijklmnop", topics, ledger, dismissals }, key, NOW);
  assert.deepEqual(encoded.dropped, []);
  assert.ok(encoded.bytes <= MAX_COOKIE_BYTES, `${encoded.bytes}`);
});

test("what the edge keeps, per consent: everything, the id, or only the dismissals", () => {
  const visitor = { id: "v-abcdefghijklmnop", topics: ["savings"], ledger: "L1.l", dismissals: "L1.d", issued: 1, isNew: false };
  const none = { personalisation: false, marketing: false, analytics: false };
  assert.deepEqual(rememberedWith(visitor, { ...none, personalisation: true }), visitor);
  assert.deepEqual(rememberedWith(visitor, { ...none, analytics: true }), { ...visitor, topics: [], ledger: undefined });
  for (const consent of [none, { ...none, marketing: true }]) {
    assert.deepEqual(rememberedWith(visitor, consent), { ...visitor, id: undefined, topics: [], ledger: undefined });
  }
  // A new visitor gets an id only with a consent that covers one; a first ledger begins as the dismissals.
  const fresh = { id: undefined, topics: [], ledger: undefined, dismissals: "L1.d", issued: 1, isNew: true };
  assert.match(rememberedWith(fresh, { ...none, analytics: true }).id, VISITOR_ID);
  assert.equal(rememberedWith(fresh, none).id, undefined);
  assert.equal(rememberedWith(fresh, { ...none, personalisation: true }).ledger, "L1.d");
});

test("the cookie a page answers with: signed with an id, left alone, stripped, or deleted", async () => {
  const full = { id: "v-abcdefghijklmnop", topics: ["savings"], ledger: "L1.l", dismissals: "L1.d", issued: 1, isNew: false };
  const none = { personalisation: false, marketing: true, analytics: false };
  const answer = (visitor, consent, sent = true) => pageViewCookie({ sent, visitor, remembered: rememberedWith(visitor, consent) }, key, NOW, { secure: true });
  const payloadOf = (result) => JSON.parse(Buffer.from(result.setCookie.split(";")[0].split("=")[1].split(".")[0], "base64url"));
  assert.deepEqual(Object.keys(payloadOf(await answer(full, { ...none, personalisation: true }))), ["f", "t", "id", "p", "l", "d"]);
  assert.deepEqual(Object.keys(payloadOf(await answer(full, { ...none, analytics: true }))), ["f", "t", "id", "d"]);
  assert.deepEqual(payloadOf(await answer(full, none)), { f: 1, t: NOW / 1000, d: "L1.d" }, "consent withdrawn: only the dismissals");
  const minimal = { id: undefined, topics: [], ledger: undefined, dismissals: "L1.d", issued: 1, isNew: false };
  assert.equal(await answer(minimal, none), null, "nothing changes: nothing is written");
  const deleted = await answer({ ...full, dismissals: undefined }, none);
  assert.equal(deleted.setCookie, "opmaat_v=; Path=/; Max-Age=0; HttpOnly; SameSite=Lax; Secure");
  const nobody = { id: undefined, topics: [], ledger: undefined, dismissals: undefined, issued: 1, isNew: true };
  assert.equal(await answer(nobody, none, false), null, "no consent, no cookie sent: none set");
  assert.equal((await answer(nobody, none, true)).setCookie, deleted.setCookie, "a bad cookie without consent is deleted");
  assert.equal(forgetVisitor({ secure: false }), "opmaat_v=; Path=/; Max-Age=0; HttpOnly; SameSite=Lax");
});

test("engine.fitLedger: older impressions go first, the dismissals stay", () => {
  const engine = Engine.load(readFileSync(bundleFile), { trustedKeys, now: "2026-12-05T09:30:00Z" });
  const snapshot = JSON.parse(readFileSync(new URL("../personas/student.json", import.meta.url), "utf8")).profile;
  const profile = engine.profile(snapshot);
  let ledger;
  let dismissed;
  for (let day = 0; day < 60; day++) {
    const now = Date.parse("2026-12-01T08:00:00Z") + day * 3_600_000;
    const decision = engine.decideFor(profile, { placement: "overview", context: { page: "/overzicht" }, ledger, now });
    for (const slot of decision.slots) ledger = engine.recordFor(profile, ledger, { event: "impression", token: slot.token, now }).ledger;
    if (day === 0) {
      dismissed = decision.slots[0];
      ledger = engine.recordFor(profile, ledger, { event: "dismiss", token: dismissed.token, now }).ledger;
    }
  }
  const fitted = engine.fitLedger(ledger, 300);
  assert.ok(ledger.length > 300 && fitted.length <= 300, `${ledger.length} → ${fitted.length}`);
  assert.equal(engine.fitLedger(fitted, 300), fitted, "what fits is left alone");
  const now = Date.parse("2026-12-04T08:00:00Z");
  const next = engine.decideFor(profile, { placement: "overview", context: { page: "/overzicht" }, ledger: fitted, now, trace: true });
  assert.equal(next.trace.find((t) => t.proposition === dismissed.proposition)?.rule, "dismiss_cooldown");
  assert.deepEqual(next.warnings, []);
  profile.free();
});

test("the fullest ledger a logged-off visitor gets from the sample catalogue fits the cookie", async (t) => {
  // Every day of the bundle's validity, five homepage views, each banner seen (its impression
  // pixel loaded) and dismissed on every seventh day: more than the edge ever writes.
  const engine = Engine.load(readFileSync(bundleFile), { trustedKeys, now: "2026-11-02T00:00:00Z" });
  let ledger;
  const snapshot = { id: "v-abcdefghijklmnop", loggedIn: false, consent: { personalisation: false, marketing: true, analytics: false } };
  const profile = engine.profile(snapshot);
  const start = Date.parse("2026-11-02T08:00:00Z");
  let impressions = 0;
  for (let day = 0; day < 200; day++) {
    for (let view = 0; view < 5; view++) {
      const now = start + day * 86_400_000 + view * 3_600_000;
      const [decision] = engine.decideAllFor(profile, { placements: ["homepage"], context: { page: "/" }, ledger, now });
      for (const slot of decision.slots) {
        ledger = engine.recordFor(profile, ledger, { event: "impression", token: slot.token, now }).ledger;
        impressions++;
        if (day % 7 === 6 && view === 0) ledger = engine.recordFor(profile, ledger, { event: "dismiss", token: slot.token, now }).ledger;
      }
    }
  }
  assert.ok(ledger.length <= MAX_LEDGER_CHARS, `${ledger.length} characters: more than the worker keeps unfitted`);
  const encoded = await encodeVisitor({ id: snapshot.id, topics: Array(MAX_TOPICS).fill("investments"), ledger, dismissals: `L1.${"B".repeat(MAX_DISMISSALS_CHARS - 3)}` }, key, NOW);
  t.diagnostic(`${impressions} impressions: ledger ${ledger.length} characters, cookie ${encoded.bytes} of ${MAX_COOKIE_BYTES} bytes`);
  assert.deepEqual(encoded.dropped, []);
});

test("random visitor ids never look like personal data to the engine", () => {
  // Hex ids did: 1 in about 1,800 passed an IBAN's check digits and was refused.
  const engine = Engine.load(readFileSync(bundleFile), { trustedKeys, now: "2026-12-05T09:30:00Z" });
  const seen = new Set();
  for (let i = 0; i < 20_000; i++) {
    const id = randomVisitorId();
    assert.match(id, VISITOR_ID);
    seen.add(id);
    engine.profile({ id, loggedIn: false }).free();
  }
  assert.equal(seen.size, 20_000);
});

test("the request: locale by preference, the mobile hint, topics by path, consent by the banner's cookie", () => {
  assert.equal(preferredLocale("en-GB,en;q=0.9,nl;q=0.8"), "en-GB");
  assert.equal(preferredLocale("de;q=0.2, nl-BE;q=0.9, fr;q=0.5"), "nl-BE");
  assert.equal(preferredLocale(null), "nl-NL");
  assert.equal(preferredLocale("*, <script>"), "nl-NL");
  assert.equal(isMobile(new Headers({ "sec-ch-ua-mobile": "?1" })), true);
  assert.equal(isMobile(new Headers({ "sec-ch-ua-mobile": "?0", "user-agent": "Mobile" })), false, "the hint wins");
  assert.equal(isMobile(new Headers({ "user-agent": "Mozilla/5.0 (iPhone) Mobile/15E148" })), true);
  assert.equal(topicOf("/sparen/groen"), "savings");
  assert.equal(topicOf("/sparenrekening"), undefined);
  assert.deepEqual(withTopic(["a", "b", "c", "d", "savings"], "/sparen/"), ["savings", "a", "b", "c", "d"]);
  assert.equal(withTopic(["a", "b", "c", "d", "e"], "/lenen").length, MAX_TOPICS);
  assert.deepEqual(consentOf("opmaat_consent=marketing.analytics"), { personalisation: false, marketing: true, analytics: true });
  assert.deepEqual(consentOf(""), { personalisation: false, marketing: true, analytics: false });
  const request = new Request("https://bank.example/sparen/?x=1", { headers: { "cf-ipcountry": "NL", "accept-language": "nl-NL" } });
  assert.deepEqual(visitorProfile({ id: "v-abcdefghijklmnop", topics: ["savings"] }, request), {
    profile: { id: "v-abcdefghijklmnop", loggedIn: false, attributes: { recent_topics: ["savings"], country: "NL" }, consent: { personalisation: false, marketing: true, analytics: false } },
    context: { page: "/sparen/", locale: "nl-NL", formFactor: "large", topic: "savings" },
  });
  assert.equal("id" in visitorProfile({ topics: [] }, request).profile, false, "no id: an anonymous visitor");
});

test("banners: every text escaped, links checked, no open redirect", () => {
  const slot = {
    proposition: "p", token: "T0k-en_", creative: {
      locale: "nl", formFactor: "large", title: '<img src=x onerror="alert(1)">', body: "a & b", cta: "Ga \"nu\"",
      href: "https://www.example-bank.nl/x?a=1", image: { src: "javascript:alert(1)", width: 10, height: 10, alt: "x" },
    },
  };
  const allowed = new Set(["www.example-bank.nl"]);
  const { html, problems } = bannerHtml(slot, { origin: "https://bank.example", allowed, returnTo: "/" });
  assert.ok(html.includes("&lt;img src=x onerror=&quot;alert(1)&quot;&gt;"));
  assert.ok(!html.includes("javascript:"), "the unsafe image is left out");
  assert.equal(html.match(/<img /g).length, 1, "only the impression pixel");
  assert.deepEqual(problems, ["p: image javascript:alert(1) is not on an allowed host"]);
  assert.ok(html.includes('href="/opmaat/click?token=T0k-en_&amp;to=https%3A%2F%2Fwww.example-bank.nl%2Fx%3Fa%3D1"'));
  const bad = bannerHtml({ ...slot, creative: { ...slot.creative, href: "http://www.example-bank.nl/x", image: undefined } }, { origin: "https://bank.example", allowed, returnTo: "/" });
  assert.ok(!bad.html.includes("opmaat-cta"));
  assert.equal(bad.problems.length, 1);
  assert.equal(clickTarget("https://www.example-bank.nl/x", "T", "https://bank.example", allowed).href, "https://www.example-bank.nl/x?opmaat=T");
  assert.equal(clickTarget("/sparen", "T", "https://bank.example", allowed).href, "https://bank.example/sparen?opmaat=T");
  for (const evil of ["https://evil.example/", "javascript:alert(1)", "//evil.example", "http://www.example-bank.nl/"]) {
    assert.equal(clickTarget(evil, "T", "https://bank.example", allowed), null, evil);
  }
  const origin = "https://bank.example";
  assert.equal(returnPath("/sparen/?x=1", origin), "/sparen/?x=1");
  // What a browser would make of them leads elsewhere, or cannot go in a header: home instead.
  for (const evil of ["//evil.example", "https://evil.example", "/\\evil.example", "/\t/evil.example", "/\n/evil.example", "/%0A/x", undefined]) {
    const back = returnPath(evil, origin);
    assert.ok(back === "/" || new URL(back, origin).origin === origin, JSON.stringify(evil));
    assert.doesNotThrow(() => new Headers({ location: back }), JSON.stringify(evil));
  }
  assert.equal(returnPath("/\t/evil.example", origin), "/");
  assert.equal(escapeHtml(`'"<>&`), "&#39;&quot;&lt;&gt;&amp;");
});
