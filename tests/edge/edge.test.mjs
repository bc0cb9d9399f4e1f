// The edge worker in the real workerd from npm, on 127.0.0.1, in front of the static origin:
// visitors by consent, cookie and path get the banners the native CLI decides for the same
// profile and context; without consent nothing is stored but what the visitor asks, and with it
// the cookie holds only what that consent covers; "not interested" updates the cookie and the
// banner is gone on the next request;
// clicks redirect with the token and never anywhere else; a tampered or expired cookie is a new
// visitor; a missing or tampered bundle, or a bad cookie key, serves the origin's page unchanged
// with status 200 and logs why; the origin down is a 502 page (clicks still redirect); a bundle
// revalidated at the origin is replaced only by one that verifies.
import { test, before, after, describe } from "node:test";
import assert from "node:assert/strict";
import { copyFileSync, existsSync, mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";

import { edgeConfig } from "../../www/edge/config.mjs";
import { VISITOR_MAX_AGE_DAYS, cookieKey, encodeVisitor, visitorProfile } from "../../www/edge/visitor.js";
import { keys, nativeDecision, root } from "../personas.mjs";
import { serveDemo } from "../browser/harness.mjs";
import {
  STEADY_VISITOR, TEST_COOKIE_KEY, cookiePayload, deletesVisitorCookie, edgeBundle, edgeOverlay, freePort, shownIn, signedVisitorCookie, startEdge,
  visitorCookie,
} from "./harness.mjs";

const TRUSTED = JSON.stringify({ [keys.a.keyId]: keys.a.publicKey });
const BUNDLE = "bank-nl-web.opb";
const homepage = readFileSync(join(root, "www/index.html"), "utf8");
/** The cookie banner's answers: personalisation (and marketing), or analytics (and marketing). */
const PERSONALISED = "opmaat_consent=personalisation.marketing";
const ANALYTICS = "opmaat_consent=marketing.analytics";
const withConsent = (cookie, consent = PERSONALISED) => `${cookie}; ${consent}`;
/** A returning visitor outside the holdout group (see STEADY_VISITOR): green savings on the homepage. */
const STEADY = await signedVisitorCookie(STEADY_VISITOR);

/** A folder served as /bundles/ holding `bytes` (or nothing) as the bundle. */
function bundlesDir(bytes) {
  const dir = mkdtempSync(join(tmpdir(), "opmaat-edge-bundles-"));
  if (bytes) writeFileSync(join(dir, BUNDLE), bytes);
  return dir;
}
const GOOD = edgeBundle();
const goodBundle = () => readFileSync(GOOD);
function tamperedBundle() {
  const bytes = goodBundle();
  bytes[bytes.length - 1] ^= 1;
  return bytes;
}

const get = (edge, path, headers = {}) => fetch(`${edge.base}${path}`, { headers: { accept: "text/html", ...headers }, redirect: "manual" });
/** "Not interested" for `token`, as the banner's form posts it. */
const dismiss = (edge, token, headers = {}, back = "/") => fetch(`${edge.base}/opmaat/dismiss`, {
  method: "POST", redirect: "manual", headers: { "content-type": "application/x-www-form-urlencoded", ...headers },
  body: new URLSearchParams({ token, return: back }),
});
/** What a browser sends with a form posted from the site's own page. */
const fromSite = (edge) => ({ origin: edge.base, "sec-fetch-site": "same-origin" });
const tokenIn = (html) => html.match(/name="token" value="([^"]+)"/)[1];

describe("a visitor at the edge", () => {
  let edge;
  before(async () => { edge = await startEdge({ bundles: bundlesDir(goodBundle()), trustedKeys: TRUSTED }); });
  after(() => edge?.stop());

  /** The native CLI's decision for `visitor` ({ id?, topics }) and the request the worker saw. */
  function native(visitor, path, headers) {
    const request = new Request(`http://127.0.0.1${path}`, { headers });
    const { profile, context } = visitorProfile({ topics: [], ...visitor }, request);
    return nativeDecision({ placement: "homepage", profile, context, now: new Date().toISOString(), bundle: GOOD });
  }
  const visitorIn = (cookie) => ({ id: cookiePayload(cookie).id, topics: cookiePayload(cookie).p ?? [] });

  test("without consent: the banner for an anonymous visitor, no cookie, no pixel, headers for personalised HTML", async () => {
    for (const [path, headers] of [["/", {}], ["/veilig-bankieren/", {}], ["/sparen/", { cookie: "opmaat_consent=marketing" }]]) {
      const response = await get(edge, path, headers);
      assert.equal(response.status, 200);
      assert.deepEqual(response.headers.getSetCookie(), [], `${path}: nothing stored, neither an id nor the topic`);
      const html = await response.text();
      assert.deepEqual(shownIn(html), [["homepage:1", native({}, path, headers).slots[0].proposition]], path);
      assert.ok(!html.includes("opmaat-seen"), `${path}: no impression pixel, as no impression may be kept`);
      assert.match(html, /class="opmaat-dismiss"/, `${path}: "not interested" is still offered`);
      assert.match(response.headers.get("cache-control"), /\bprivate\b/);
      assert.match(response.headers.get("vary"), /Cookie/);
      assert.match(response.headers.get("vary"), /Accept-Language/);
      assert.match(response.headers.get("server-timing"), /^(opmaat-bundle;dur=\d+;desc="verify", )?opmaat;dur=\d+;desc="decide"$/);
      assert.equal(response.headers.get("etag"), null);
    }
  });

  test("with personalisation consent: a signed cookie with an id, the topics read, the impression pixel", async () => {
    const response = await get(edge, "/", { cookie: PERSONALISED });
    assert.equal(response.status, 200);
    const html = await response.text();
    const cookie = visitorCookie(response);
    assert.match(cookie, /^opmaat_v=[\w-]+\.[\w-]+$/);
    assert.match(cookiePayload(cookie).id, /^v-[a-z]{16}$/);
    assert.deepEqual(Object.keys(cookiePayload(cookie)).sort(), ["f", "id", "t"], "the homepage has no topic; nothing else yet");
    assert.deepEqual(shownIn(html), [["homepage:1", native(visitorIn(cookie), "/", { cookie: PERSONALISED }).slots[0].proposition]]);
    assert.match(html, /<img class="opmaat-seen" src="\/opmaat\/seen\?token=/);
    const setCookie = response.headers.getSetCookie().find((c) => c.startsWith("opmaat_v="));
    assert.match(setCookie, /; Path=\/; Max-Age=34560000; HttpOnly; SameSite=Lax/);
    // The rest of the origin's page is untouched.
    assert.ok(html.startsWith(homepage.slice(0, homepage.indexOf("<section data-opmaat-slot"))));
    assert.ok(html.includes('class="opmaat-banner opmaat-large" lang="nl"'));
    // A returning visitor keeps their id; green savings comes with its image, space reserved.
    const again = await get(edge, "/", { cookie: withConsent(STEADY) });
    assert.equal(cookiePayload(visitorCookie(again)).id, STEADY_VISITOR);
    const steadyHtml = await again.text();
    assert.deepEqual(shownIn(steadyHtml), [["homepage:1", "green-savings"]]);
    assert.ok(steadyHtml.includes('<img src="/img/green-savings.svg" width="320" height="160"'));
  });

  test("paths, consent, topics, language and the mobile hint change the banner", async () => {
    // Reading the security pages, with personalisation consent: the phishing tips lead on the homepage.
    const first = await get(edge, "/veilig-bankieren/", { cookie: withConsent(STEADY) });
    const cookie = visitorCookie(first);
    assert.deepEqual(cookiePayload(cookie).p, ["security"]);
    const home = await get(edge, "/", { cookie: withConsent(cookie) });
    assert.deepEqual(shownIn(await home.text()), [["homepage:1", "phishing-tips"]]);
    assert.equal(native(visitorIn(cookie), "/", { cookie: withConsent(cookie) }).slots[0].proposition, "phishing-tips");
    // The same cookie without personalisation consent: not read, and deleted (it holds no dismissal).
    const withoutConsent = await get(edge, "/", { cookie });
    assert.deepEqual(shownIn(await withoutConsent.text()), [["homepage:1", "green-savings"]]);
    assert.ok(deletesVisitorCookie(withoutConsent));
    // The savings pages lift green savings by its context weight.
    const savings = await get(edge, "/sparen/", { cookie: STEADY });
    assert.deepEqual(shownIn(await savings.text()), [["homepage:1", "green-savings"]]);
    // English, on a phone: the English compact creative.
    const mobile = { "accept-language": "en-GB,en;q=0.9,nl;q=0.5", "sec-ch-ua-mobile": "?1" };
    const phone = await get(edge, "/", mobile);
    const phoneHtml = await phone.text();
    assert.match(phoneHtml, /class="opmaat-banner opmaat-compact" lang="en"/);
    const expected = native({}, "/", mobile);
    assert.deepEqual(shownIn(phoneHtml), [["homepage:1", expected.slots[0].proposition]]);
    assert.equal(expected.slots[0].creative.formFactor, "compact");
    assert.ok(phoneHtml.includes(expected.slots[0].creative.title.replace(/&/g, "&amp;")));
  });

  test("without consent, not interested sets a cookie with only the dismissal, and the banner stays gone", async () => {
    const first = await get(edge, "/");
    const html = await first.text();
    const [[, dismissedProposition]] = shownIn(html);
    const dismissed = await dismiss(edge, tokenIn(html), fromSite(edge));
    assert.equal(dismissed.status, 303);
    assert.equal(dismissed.headers.get("location"), "/");
    const cookie = visitorCookie(dismissed);
    assert.deepEqual(Object.keys(cookiePayload(cookie)).sort(), ["d", "f", "t"], "no id, no topics, no ledger: only what was asked");
    const next = await get(edge, "/", { cookie });
    assert.deepEqual(next.headers.getSetCookie(), [], "a page view leaves it as it is");
    const shown = shownIn(await next.text());
    assert.equal(shown.length, 1);
    assert.notEqual(shown[0][1], dismissedProposition);
    // And it stays gone on the requests after.
    assert.notEqual(shownIn(await (await get(edge, "/sparen/", { cookie })).text())[0][1], dismissedProposition);
    // A return address on another site is not followed.
    const away = await dismiss(edge, tokenIn(html), { cookie, ...fromSite(edge) }, "//evil.example/");
    assert.equal(away.headers.get("location"), "/");
    assert.equal((await fetch(`${edge.base}/opmaat/dismiss`, { redirect: "manual" })).status, 405);
  });

  test("with consent, not interested lands in the ledger and the dismissals; consent withdrawn keeps only the dismissals", async () => {
    const first = await get(edge, "/", { cookie: withConsent(STEADY) });
    const html = await first.text();
    const seen = await fetch(`${edge.base}${html.match(/class="opmaat-seen" src="([^"]+)"/)[1]}`, { headers: { cookie: withConsent(visitorCookie(first)) } });
    const dismissed = await dismiss(edge, tokenIn(html), { cookie: withConsent(visitorCookie(seen)) });
    assert.equal(dismissed.status, 303);
    const cookie = visitorCookie(dismissed);
    assert.deepEqual(Object.keys(cookiePayload(cookie)).sort(), ["d", "f", "id", "l", "t"]);
    assert.equal(cookiePayload(cookie).id, STEADY_VISITOR, "the same visitor");
    assert.notEqual(shownIn(await (await get(edge, "/", { cookie: withConsent(cookie) })).text())[0][1], "green-savings");
    // Consent withdrawn: the next page drops the id, the topics and the ledger, keeps the dismissal.
    const withdrawn = await get(edge, "/sparen/", { cookie });
    const kept = visitorCookie(withdrawn);
    assert.deepEqual(Object.keys(cookiePayload(kept)).sort(), ["d", "f", "t"]);
    assert.equal(cookiePayload(kept).d, cookiePayload(cookie).d);
    assert.notEqual(shownIn(await withdrawn.text())[0][1], "green-savings");
    // Given again: a new id, a ledger begun from the dismissals, and green savings still away.
    const again = await get(edge, "/", { cookie: withConsent(kept) });
    const renewed = cookiePayload(visitorCookie(again));
    assert.notEqual(renewed.id, STEADY_VISITOR);
    assert.equal(renewed.l, cookiePayload(kept).d);
    assert.notEqual(shownIn(await again.text())[0][1], "green-savings");
  });

  test("a dismissal from another site, or without the visitor's cookie from outside the site, changes no cookie", async () => {
    const first = await get(edge, "/", { cookie: withConsent(STEADY) });
    const cookie = withConsent(visitorCookie(first));
    const token = tokenIn(await first.text());
    for (const headers of [
      { cookie, "sec-fetch-site": "cross-site" }, {}, { cookie: "opmaat_v=forged.cookie" }, { origin: "https://evil.example" },
      { "sec-fetch-site": "same-site" }, { cookie: PERSONALISED, origin: "null" },
    ]) {
      const response = await dismiss(edge, token, headers);
      assert.equal(response.status, 303);
      assert.deepEqual(response.headers.getSetCookie(), [], JSON.stringify(headers));
    }
    await edge.waitForEvent((e) => e.opmaat === "dismiss_not_recorded" && e.code === "cross_site");
    await edge.waitForEvent((e) => e.opmaat === "dismiss_not_recorded" && e.code === "no_visitor");
    // The visitor's own banner is still there.
    assert.deepEqual(shownIn(await (await get(edge, "/", { cookie })).text()), [["homepage:1", "green-savings"]]);
  });

  test("the impression counts when the banner's pixel loads, once, and only with personalisation consent", async () => {
    const first = await get(edge, "/", { cookie: withConsent(STEADY) });
    const cookie = visitorCookie(first);
    assert.equal(cookiePayload(cookie).l, undefined, "serving a banner is not yet an impression");
    const pixel = (await first.text()).match(/<img class="opmaat-seen" src="([^"]+)" width="1" height="1" alt="" loading="lazy">/)[1];
    const seen = await fetch(`${edge.base}${pixel}`, { headers: { cookie: withConsent(cookie) } });
    assert.equal(seen.status, 200);
    assert.equal(seen.headers.get("content-type"), "image/gif");
    assert.equal(seen.headers.get("cache-control"), "no-store");
    assert.equal(Buffer.from(await seen.arrayBuffer()).subarray(0, 6).toString(), "GIF89a");
    const ledger = cookiePayload(visitorCookie(seen)).l;
    assert.ok(ledger, "the impression is in the ledger");
    const again = await fetch(`${edge.base}${pixel}`, { headers: { cookie: withConsent(visitorCookie(seen)) } });
    assert.equal(cookiePayload(visitorCookie(again)).l, ledger, "a reload of the pixel counts nothing twice");
    // Without the visitor's cookie, or without consent, the pixel still answers, and sets nothing.
    for (const headers of [{}, { cookie: PERSONALISED }, { cookie }, { cookie: `${cookie}; opmaat_consent=marketing` }]) {
      const stranger = await fetch(`${edge.base}${pixel}`, { headers });
      assert.equal(stranger.status, 200);
      assert.deepEqual(stranger.headers.getSetCookie(), [], JSON.stringify(headers));
    }
  });

  test("a click is redirected with the token, and only to a banner's own link; recorded only with consent", async () => {
    for (const consent of [PERSONALISED, undefined]) {
      const first = await get(edge, "/", consent ? { cookie: consent } : {});
      const html = await first.text();
      const href = html.match(/class="opmaat-cta" href="([^"]+)"/)[1].replace(/&amp;/g, "&");
      const cookie = visitorCookie(first);
      const click = await fetch(`${edge.base}${href}`, { redirect: "manual", headers: consent ? { cookie: withConsent(cookie, consent) } : {} });
      assert.equal(click.status, 303);
      const target = new URL(click.headers.get("location"));
      assert.equal(target.host, "www.example-bank.nl");
      const token = new URL(href, edge.base).searchParams.get("token");
      assert.equal(target.searchParams.get("opmaat"), token);
      if (consent) assert.ok(cookiePayload(visitorCookie(click)).l, "the click is in the ledger");
      else assert.deepEqual(click.headers.getSetCookie(), [], "without consent the click is not kept");
      const evil = await fetch(`${edge.base}/opmaat/click?token=${token}&to=${encodeURIComponent("https://evil.example/")}`, { redirect: "manual" });
      assert.equal(evil.status, 303);
      assert.equal(evil.headers.get("location"), "/");
    }
    await edge.waitForEvent((e) => e.opmaat === "click_not_recorded" && e.code === "invalid_argument");
  });

  test("a tampered or expired cookie is a new visitor, never an error", async () => {
    const cookie = visitorCookie(await get(edge, "/", { cookie: PERSONALISED }));
    const [payload, mac] = cookie.slice("opmaat_v=".length).split(".");
    // Characters that carry data (the first of each part: never only unused bits), changed.
    const other = (c) => (c === "A" ? "B" : "A");
    for (const tampered of [`${payload}.${other(mac[0])}${mac.slice(1)}`, `${other(payload[0])}${payload.slice(1)}.${mac}`]) {
      const response = await get(edge, "/", { cookie: withConsent(`opmaat_v=${tampered}`) });
      assert.equal(response.status, 200);
      assert.notEqual(cookiePayload(visitorCookie(response)).id, cookiePayload(cookie).id, tampered);
      // Without consent nothing of it may stay: it is deleted.
      assert.ok(deletesVisitorCookie(await get(edge, "/", { cookie: `opmaat_v=${tampered}` })));
    }
    for (const garbage of ["%%%", "a.b.c", "x".repeat(5000), "."]) {
      const response = await get(edge, "/", { cookie: withConsent(`opmaat_v=${garbage}`) });
      assert.equal(response.status, 200);
      assert.equal(shownIn(await response.text()).length, 1);
    }
    // Signed with the right key, but last seen longer ago than a cookie lives.
    const key = await cookieKey(TEST_COOKIE_KEY);
    const longAgo = Date.now() - (VISITOR_MAX_AGE_DAYS + 1) * 86_400_000;
    const old = (await encodeVisitor({ id: "v-aaaaaaaaaaaaaaaa", topics: [] }, key, longAgo)).setCookie.split(";")[0];
    const expired = await get(edge, "/", { cookie: withConsent(old) });
    assert.equal(expired.status, 200);
    assert.notEqual(cookiePayload(visitorCookie(expired)).id, "v-aaaaaaaaaaaaaaaa");
    const fresh = (await encodeVisitor({ id: "v-aaaaaaaaaaaaaaaa", topics: [] }, key, Date.now())).setCookie.split(";")[0];
    assert.equal(cookiePayload(visitorCookie(await get(edge, "/", { cookie: withConsent(fresh) }))).id, "v-aaaaaaaaaaaaaaaa");
    for (const reason of ["tampered", "expired", "malformed"]) await edge.waitForEvent((e) => e.opmaat === "new_visitor" && e.cookie === reason, reason);
  });

  test("what is not a page passes through untouched", async () => {
    const css = await fetch(`${edge.base}/demo.css`, { headers: { accept: "text/css", cookie: withConsent(STEADY) } });
    assert.deepEqual(css.headers.getSetCookie(), []);
    assert.equal(await css.text(), readFileSync(join(root, "www/demo.css"), "utf8"));
    const missing = await get(edge, "/no-such-page", { cookie: withConsent(STEADY) });
    assert.equal(missing.status, 404);
    assert.deepEqual(missing.headers.getSetCookie(), []);
  });
});

describe("fail open: the origin's page, unchanged, with status 200", () => {
  async function unchanged(options, reason) {
    const edge = await startEdge({ trustedKeys: TRUSTED, ...options });
    try {
      const response = await get(edge, "/");
      assert.equal(response.status, 200);
      assert.equal(await response.text(), homepage);
      assert.equal(response.headers.get("set-cookie"), null);
      await edge.waitForEvent((e) => e.opmaat === reason.event && (!reason.code || e.code === reason.code), JSON.stringify(reason));
    } finally {
      await edge.stop();
    }
  }

  test("no bundle at the origin", () => unchanged({ bundles: bundlesDir(null) }, { event: "no_bundle", code: "fetch_failed" }));
  test("a tampered bundle", () => unchanged({ bundles: bundlesDir(tamperedBundle()) }, { event: "no_bundle", code: "bad_signature" }));
  test("a tampered embedded bundle", () => {
    const dir = bundlesDir(tamperedBundle());
    return unchanged({ embed: join(dir, BUNDLE), bundles: bundlesDir(null) }, { event: "fail_open", code: "bad_signature" });
  });
  test("a bundle signed by a key the worker does not trust", () => unchanged({ bundles: bundlesDir(goodBundle()), trustedKeys: JSON.stringify({ [keys.b.keyId]: keys.b.publicKey }) }, { event: "no_bundle", code: "unknown_key" }));
  test("a cookie key too short to be a secret", () => unchanged({ bundles: bundlesDir(goodBundle()), cookieKey: "short" }, { event: "fail_open" }));
});

describe("the origin is down: a 502 page and a log line, never no response", () => {
  /** workerd with `options` in front of a loopback port nothing listens on, for `run`. */
  async function withOriginDown(options, run) {
    const edge = await startEdge({ trustedKeys: TRUSTED, originAddress: `127.0.0.1:${await freePort()}`, ...options });
    try {
      await run(edge);
    } finally {
      await edge.stop();
    }
  }
  /** The native CLI's banner for STEADY on the homepage: a token and a link the worker would have served. */
  function steadyBanner() {
    const request = new Request("http://127.0.0.1/");
    const { profile, context } = visitorProfile({ id: STEADY_VISITOR, topics: [] }, request);
    return nativeDecision({ placement: "homepage", profile, context, now: new Date().toISOString(), bundle: GOOD }).slots[0];
  }

  test("pages and files: 502, a short plain page, one JSON log line each", () => withOriginDown({ embed: GOOD, bundles: bundlesDir(null) }, async (edge) => {
    for (const [path, headers] of [["/", {}], ["/sparen/", { cookie: STEADY }], ["/demo.css", { accept: "text/css" }]]) {
      const response = await get(edge, path, headers);
      assert.equal(response.status, 502, path);
      assert.equal(response.headers.get("content-type"), "text/plain; charset=utf-8");
      assert.equal(response.headers.get("cache-control"), "no-store");
      assert.equal(response.headers.get("set-cookie"), null);
      assert.match(await response.text(), /^De website is even niet bereikbaar\..*\nThe website cannot be reached right now\./s);
      await edge.waitForEvent((e) => e.opmaat === "origin_unreachable" && e.path === path && e.message, `origin_unreachable for ${path}`);
    }
  }));

  test("a click still redirects to the banner's link, a dismissal returns, the pixel answers", () => withOriginDown({ embed: GOOD, bundles: bundlesDir(null) }, async (edge) => {
    const slot = steadyBanner();
    const click = await fetch(`${edge.base}/opmaat/click?${new URLSearchParams({ token: slot.token, to: slot.creative.href })}`, { redirect: "manual", headers: { cookie: STEADY } });
    assert.equal(click.status, 303);
    const target = new URL(click.headers.get("location"));
    assert.equal(target.origin + target.pathname, new URL(slot.creative.href).origin + new URL(slot.creative.href).pathname);
    assert.equal(target.searchParams.get("opmaat"), slot.token);
    const dismissed = await fetch(`${edge.base}/opmaat/dismiss`, {
      method: "POST", redirect: "manual", headers: { cookie: STEADY, "content-type": "application/x-www-form-urlencoded" },
      body: new URLSearchParams({ token: slot.token, return: "/sparen/" }),
    });
    assert.equal(dismissed.status, 303);
    assert.equal(dismissed.headers.get("location"), "/sparen/");
    const pixel = await fetch(`${edge.base}/opmaat/seen?token=${encodeURIComponent(slot.token)}`, { headers: { cookie: STEADY } });
    assert.equal(pixel.status, 200);
    assert.equal(pixel.headers.get("content-type"), "image/gif");
  }));

  test("with the bundle at the origin too: 502 pages, and clicks to same-origin links still go through", () => withOriginDown({ bundles: bundlesDir(null) }, async (edge) => {
    assert.equal((await get(edge, "/", { cookie: STEADY })).status, 502);
    await edge.waitForEvent((e) => e.opmaat === "origin_unreachable" && e.path === "/");
    const token = steadyBanner().token;
    const click = (to) => fetch(`${edge.base}/opmaat/click?${new URLSearchParams({ token, to })}`, { redirect: "manual", headers: { cookie: withConsent(STEADY) } });
    const home = await click(`${edge.base}/sparen/groen`);
    assert.equal(home.status, 303);
    assert.equal(home.headers.get("location"), `${edge.base}/sparen/groen?opmaat=${encodeURIComponent(token)}`);
    // A link to the bank's other hosts cannot be checked without the bundle: home instead.
    const away = await click("https://www.example-bank.nl/sparen/groen");
    assert.equal(away.status, 303);
    assert.equal(away.headers.get("location"), "/");
    await edge.waitForEvent((e) => e.opmaat === "no_bundle" && e.message, "no_bundle (the bundle fetch failed)");
    // Not recorded (no bundle to check the token with), and said so.
    await edge.waitForEvent((e) => e.opmaat === "click_not_recorded" && e.code !== "invalid_argument", "the click not recorded for want of a bundle");
  }));
});

test("an embedded bundle decides without the origin serving one", async () => {
  const edge = await startEdge({ embed: GOOD, bundles: bundlesDir(null), trustedKeys: TRUSTED });
  try {
    const response = await get(edge, "/", { cookie: STEADY });
    assert.deepEqual(shownIn(await response.text()), [["homepage:1", "green-savings"]]);
    assert.match(response.headers.get("server-timing"), /opmaat-bundle;dur=\d+;desc="verify"/, "verified on the isolate's first request");
  } finally {
    await edge.stop();
  }
});

test("revalidated at the origin: a tampered bundle keeps the one in use, a newer good one replaces it", async () => {
  const bundles = bundlesDir(goodBundle());
  const edge = await startEdge({ bundles, trustedKeys: TRUSTED, revalidateSeconds: 0 });
  try {
    const home = () => get(edge, "/", { cookie: STEADY });
    for (let i = 0; i < 5; i++) assert.equal(shownIn(await (await home()).text()).length, 1);
    // Revalidated on every request (interval 0), answered 304: loaded and verified once.
    await new Promise((ok) => setTimeout(ok, 100));
    assert.equal(edge.events().filter((e) => e.opmaat === "bundle_loaded").length, 1, edge.logs.join("\n"));
    writeFileSync(join(bundles, BUNDLE), tamperedBundle());
    for (let i = 0; i < 3; i++) {
      const response = await home();
      assert.equal(response.status, 200);
      assert.deepEqual(shownIn(await response.text()), [["homepage:1", "green-savings"]]);
    }
    await edge.waitForEvent((e) => e.opmaat === "bundle_kept" && e.code === "bad_signature");
    // Version 2, in which green savings is gone from the homepage's web channel.
    const v2 = edgeBundle((c) => ({ ...c, version: 2, propositions: c.propositions.filter((p) => p.id !== "green-savings") }));
    copyFileSync(v2, join(bundles, BUNDLE));
    let shown;
    for (let i = 0; i < 50 && (!shown || shown[0][1] === "green-savings"); i++) {
      shown = shownIn(await (await home()).text()); // the refresh runs beside the request
    }
    assert.equal(shown.length, 1);
    assert.notEqual(shown[0][1], "green-savings");
    // An older bundle after a newer one is refused (rollback) and the newer one stays.
    writeFileSync(join(bundles, BUNDLE), goodBundle());
    for (let i = 0; i < 3; i++) assert.notEqual(shownIn(await (await home()).text())[0][1], "green-savings");
    await edge.waitForEvent((e) => e.opmaat === "bundle_kept" && e.code === "rollback");
  } finally {
    await edge.stop();
  }
});

test("an availability overlay at the origin: the homepage stops showing a paused deal after the revalidation interval", async () => {
  const bundles = bundlesDir(goodBundle());
  const OVERLAY = join(bundles, "bank-nl-web.opa");
  const INTERVAL_S = 1;
  const edge = await startEdge({ bundles, trustedKeys: TRUSTED, overlayRevalidateSeconds: INTERVAL_S });
  try {
    const home = async () => shownIn(await (await get(edge, "/", { cookie: STEADY })).text());
    // None published yet (404): the catalogue's own settings.
    assert.deepEqual(await home(), [["homepage:1", "green-savings"]]);
    edgeOverlay(OVERLAY, { "green-savings": { paused: "wrong interest rate in the text" } }, 1);
    const published = Date.now();
    let shown = await home();
    while (shown[0]?.[1] === "green-savings" && Date.now() - published < 10_000) {
      await new Promise((ok) => setTimeout(ok, 100));
      shown = await home(); // the revalidation runs beside the request that finds it due
    }
    const took = Date.now() - published;
    assert.notEqual(shown[0]?.[1], "green-savings", edge.logs.join("\n"));
    assert.ok(took < 1000 * INTERVAL_S + 5000, `gone after ${took} ms`);
    const applied = await edge.waitForEvent((e) => e.opmaat === "overlay_applied");
    assert.equal(applied.sequence, 1);
    // Unchanged at the origin: revalidated (304), not applied again.
    await new Promise((ok) => setTimeout(ok, 1500 * INTERVAL_S));
    for (let i = 0; i < 3; i++) assert.notEqual((await home())[0]?.[1], "green-savings");
    assert.equal(edge.events().filter((e) => e.opmaat === "overlay_applied").length, 1);
    // An older overlay is refused (rollback) and the one in use stays; a tampered one likewise.
    edgeOverlay(OVERLAY, { "green-savings": { available: true } }, 0);
    const rollback = (e) => e.opmaat === "overlay_kept" && e.code === "rollback";
    for (let i = 0; i < 100 && !edge.events().some(rollback); i++) {
      await new Promise((ok) => setTimeout(ok, 100));
      await home(); // a request finds the revalidation due
    }
    assert.ok(edge.events().some(rollback), edge.logs.join("\n"));
    assert.notEqual((await home())[0]?.[1], "green-savings");
    // Lifted by the next overlay: back after the interval.
    edgeOverlay(OVERLAY, { "green-savings": { available: true } }, 2);
    let back = await home();
    for (let i = 0; i < 100 && back[0]?.[1] !== "green-savings"; i++) {
      await new Promise((ok) => setTimeout(ok, 100));
      back = await home();
    }
    assert.deepEqual(back, [["homepage:1", "green-savings"]]);
  } finally {
    await edge.stop();
  }
});

test("with analytics consent, measurement events reach the bank's collector, which accepts every field", async () => {
  const dir = mkdtempSync(join(tmpdir(), "opmaat-edge-collect-"));
  const eventsFile = join(dir, "events.jsonl");
  const { server, base } = await serveDemo({ bundles: dir, eventsFile });
  const edge = await startEdge({ bundles: bundlesDir(goodBundle()), trustedKeys: TRUSTED, collectAddress: new URL(base).host });
  try {
    const first = await get(edge, "/", { cookie: withConsent(STEADY, ANALYTICS) });
    const cookie = visitorCookie(first);
    assert.deepEqual(Object.keys(cookiePayload(cookie)).sort(), ["f", "id", "t"], "analytics keeps the id, nothing of the browsing");
    const html = await first.text();
    const pixel = `${edge.base}${html.match(/class="opmaat-seen" src="([^"]+)"/)[1]}`;
    const seen = await fetch(pixel, { headers: { cookie: withConsent(cookie, ANALYTICS) } });
    assert.deepEqual(seen.headers.getSetCookie(), [], "measured, not kept in the cookie");
    await fetch(pixel, { headers: { cookie } }); // without analytics consent: nothing is sent
    const dismissed = await dismiss(edge, tokenIn(html), { cookie: withConsent(cookie, ANALYTICS) });
    assert.deepEqual(Object.keys(cookiePayload(visitorCookie(dismissed))).sort(), ["d", "f", "id", "t"]);
    let events = [];
    for (let i = 0; i < 100 && events.length < 2; i++) {
      await new Promise((ok) => setTimeout(ok, 20));
      events = existsSync(eventsFile) ? readFileSync(eventsFile, "utf8").trim().split("\n").map((l) => JSON.parse(l)) : [];
    }
    assert.deepEqual(events.map((e) => [e.event, e.proposition, e.subject]), [
      ["impression", "green-savings", STEADY_VISITOR], ["dismiss", "green-savings", STEADY_VISITOR],
    ]);
    assert.ok(!edge.events().some((e) => e.opmaat === "collect_failed"), edge.logs.join("\n"));
  } finally {
    await edge.stop();
    server.close();
  }
});

test("a collector that is down, or a COLLECT_URL that is no URL, never costs the visitor their dismissal", async () => {
  const closed = `127.0.0.1:${await freePort()}`;
  for (const options of [{ collectAddress: closed }, { collectAddress: closed, collectUrl: "http://[::1" }]) {
    const edge = await startEdge({ bundles: bundlesDir(goodBundle()), trustedKeys: TRUSTED, ...options });
    try {
      const cookie = withConsent(STEADY, ANALYTICS);
      const token = (await (await get(edge, "/", { cookie })).text()).match(/name="token" value="([^"]+)"/)[1];
      const dismissed = await fetch(`${edge.base}/opmaat/dismiss`, {
        method: "POST", redirect: "manual", headers: { cookie, "content-type": "application/x-www-form-urlencoded" },
        body: new URLSearchParams({ token, return: "/" }),
      });
      assert.equal(dismissed.status, 303);
      assert.ok(visitorCookie(dismissed), `the dismissal is in the cookie (${JSON.stringify(options)})`);
      await edge.waitForEvent((e) => e.opmaat === "collect_failed" && e.message, `collect_failed (${JSON.stringify(options)})`);
    } finally {
      await edge.stop();
    }
  }
});

test("the committed workerd config is the one config.mjs writes", () => {
  assert.equal(readFileSync(join(root, "www/edge/config.capnp"), "utf8"), edgeConfig());
});
