// The edge worker: personalises the logged-off homepage before the HTML leaves the CDN, with the
// same engine as the browser. Workers-style ES module for workerd and Cloudflare Workers.
//
// Per request: the visitor from their signed cookie (visitor.js) and the request → the anonymous
// profile and context → the engine decides every configured placement → the origin's page is
// streamed through HTMLRewriter, each `data-opmaat-slot` element filled with its banner (escaped,
// banner.js) → the cookie is set as far as the visitor's consent allows (visitor.js: without it,
// none until they dismiss something). The responses come back to the worker: the impression when
// the browser loads the banner's lazy 1×1 image (SEEN_PATH), "not interested" as a form post
// (DISMISS_PATH), the click through CLICK_PATH; each is kept or measured as consent allows.
//
// Fail open: whatever goes wrong with personalisation (no bundle, a bundle that does not verify,
// an engine error, a bad cookie key) serves the origin's page unchanged, logs why, and is never a
// 5xx. A tampered or expired visitor cookie is a new visitor, not an error. Every fetch the
// worker makes is caught: the origin down is a short 502 page (ORIGIN_DOWN), never no response;
// a failed bundle fetch or collector post is logged and changes no answer.
//
// Bindings (wrangler.toml, or www/edge/config.capnp for workerd):
//   COOKIE_KEY                secret, ≥ 32 characters: the visitor cookie's HMAC key
//   TRUSTED_KEYS              JSON: bundle key id → base64 Ed25519 public key
//   BUNDLE                    the signed bundle embedded at deploy time (data), or else
//   BUNDLE_URL                where the origin serves it (kept per isolate, revalidated every
//                             BUNDLE_REVALIDATE_SECONDS, default 60; a new one is verified first)
//   OVERLAY_URL               optional: where the origin serves the bundle's availability overlay
//                             (live stock and pauses), revalidated the same way every
//                             OVERLAY_REVALIDATE_SECONDS, default 15; a refused one leaves the one
//                             in use, and a new bundle gets the overlay in use applied
//   PLACEMENTS                comma-separated placements to decide (default "homepage")
//   ORIGIN                    service binding to the origin (default: the request's own origin)
//   COLLECT_URL               optional: where measurement events are posted (with analytics consent)
//   COLLECTOR                 optional service binding that receives them (default: ORIGIN)
//   INSECURE_COOKIE           "true" only for plain-http local runs: the cookie without `Secure`
import { Engine } from "opmaat";

import { CLICK_PATH, DISMISS_PATH, SEEN_PATH, bannerHtml, clickTarget, returnPath } from "./banner.js";
import {
  MAX_DISMISSALS_CHARS, MAX_LEDGER_CHARS, VISITOR_COOKIE, consentOf, cookieKey, cookies, encodeVisitor, pageViewCookie, readVisitor,
  rememberedWith, visitorProfile, withTopic,
} from "./visitor.js";

const DEFAULT_PLACEMENTS = "homepage";
const DEFAULT_REVALIDATE_SECONDS = 60;
const DEFAULT_OVERLAY_REVALIDATE_SECONDS = 15;
/** Largest "not interested" form the worker reads. */
const MAX_FORM_BYTES = 4096;
/** What a personalised page varies by, for every cache on the way (User-Agent: the mobile fallback). */
const VARY = ["Cookie", "Accept-Language", "Sec-CH-UA-Mobile", "User-Agent"];
/** After a failed first load, how long requests fail open at once before the bundle is fetched again. */
const NO_BUNDLE_RETRY_MS = 5000;
/** The page a visitor gets when the origin cannot be reached: short, plain, in both languages. */
const ORIGIN_DOWN = "De website is even niet bereikbaar. Probeer het over een paar minuten opnieuw.\n"
  + "The website cannot be reached right now. Please try again in a few minutes.\n";
/** A transparent 1×1 GIF: the impression pixel's answer. */
const PIXEL = Uint8Array.from(atob("R0lGODlhAQABAIAAAAAAAP///yH5BAEAAAAALAAAAAABAAEAAAIBRAA7"), (c) => c.charCodeAt(0));

// Kept per isolate: the verified bundle, the cookie key.
let bundle = null; // { engine, etag, lastModified, checkedAt }
let refreshing = null;
let overlay = null; // { bytes, etag, checkedAt }, once an overlay was fetched (bytes: the one in use)
let refreshingOverlay = null;
let noBundleSince = 0;
let embeddedRefused = null;
let keyFor = { secret: null, key: null };

export default {
  async fetch(request, env, ctx) {
    try {
      return await handle(request, env, ctx);
    } catch (error) {
      // Nothing should get here; if something does, the visitor still gets an answer.
      log("worker_failed", error, { path: new URL(request.url).pathname });
      return plainPage(ORIGIN_DOWN, 502);
    }
  },
};

async function handle(request, env, ctx) {
  const url = new URL(request.url);
  if (url.pathname === DISMISS_PATH) return respondTo("dismiss", request, env, ctx);
  if (url.pathname === CLICK_PATH) return respondTo("click", request, env, ctx);
  if (url.pathname === SEEN_PATH) return respondTo("impression", request, env, ctx);
  const personalisable = request.method === "GET" && wantsHtml(request);
  let page;
  try {
    // A personalised page is never answered "not modified" from the origin's validators.
    page = await upstream(env).fetch(personalisable ? withoutValidators(request) : request);
  } catch (error) {
    log("origin_unreachable", error, { path: url.pathname });
    return plainPage(ORIGIN_DOWN, 502);
  }
  if (!personalisable || page.status !== 200 || !isHtml(page)) return page;
  try {
    return await personalise(request, page, env, ctx);
  } catch (error) {
    log("fail_open", error, { path: url.pathname });
    return page;
  }
}

async function personalise(request, page, env, ctx) {
  const now = Date.now();
  const url = new URL(request.url);
  const key = await visitorKey(env);
  const cookieHeader = request.headers.get("cookie");
  const { visitor, problem } = await readVisitor(cookieHeader, key, now);
  if (problem) log("new_visitor", null, { cookie: problem });
  const consent = consentOf(cookieHeader);
  const remembered = rememberedWith(visitor, consent);
  if (consent.personalisation) remembered.topics = withTopic(remembered.topics, url.pathname);
  const timing = [];
  const engine = await currentEngine(env, ctx, url.origin, timing);

  const started = performance.now();
  const { profile: snapshot, context } = visitorProfile(remembered, request);
  const placements = (env.PLACEMENTS ?? DEFAULT_PLACEMENTS).split(",").map((p) => p.trim()).filter(Boolean);
  const allowed = allowedHosts(engine);
  // Without personalisation consent the contact policies see only what the visitor dismissed.
  const ledger = consent.personalisation ? remembered.ledger : remembered.dismissals;
  // The impression pixel only where an impression may be kept or measured.
  const seen = consent.personalisation || consent.analytics;
  const banners = new Map();
  const profile = engine.profile(snapshot);
  try {
    for (const decision of engine.decideAllFor(profile, { placements, context, ledger, now })) {
      for (const warning of decision.warnings) log("decision_warning", null, { warning });
      for (const slot of decision.slots) {
        const { html, problems } = bannerHtml(slot, { origin: url.origin, allowed, returnTo: url.pathname + url.search, seen });
        for (const p of problems) log("creative_left_out", null, { problem: p });
        banners.set(`${decision.placement.id}:${slot.position}`, { html, proposition: slot.proposition });
      }
    }
  } finally {
    profile.free(); // Wasm memory: not left to the garbage collector under load
  }
  timing.push(`opmaat;dur=${milliseconds(started)};desc="decide"`);
  const sent = cookies(cookieHeader).has(VISITOR_COOKIE);
  const cookie = await pageViewCookie({ sent, visitor, remembered }, key, now, { secure: env.INSECURE_COOKIE !== "true" });
  if (cookie?.dropped.length) log("cookie_trimmed", null, { dropped: cookie.dropped });

  const headers = new Headers(page.headers);
  for (const name of ["content-length", "etag", "last-modified", "expires"]) headers.delete(name);
  headers.set("cache-control", "private, no-cache");
  const vary = (headers.get("vary") ?? "").split(",").map((v) => v.trim()).filter(Boolean);
  headers.set("vary", [...new Set([...vary, ...VARY])].join(", "));
  headers.set("accept-ch", "Sec-CH-UA-Mobile");
  headers.append("server-timing", timing.join(", "));
  if (cookie) headers.append("set-cookie", cookie.setCookie);
  const rewriter = new HTMLRewriter().on("[data-opmaat-slot]", {
    element(element) {
      // Decided here, filled or not (unfilled, the origin's default content stays): the page's
      // own script leaves it alone.
      element.setAttribute("data-opmaat-rendered", "edge");
      const banner = banners.get(element.getAttribute("data-opmaat-slot"));
      if (!banner) return;
      element.setInnerContent(banner.html, { html: true });
      element.setAttribute("data-opmaat-proposition", banner.proposition);
    },
  });
  return rewriter.transform(new Response(page.body, { status: page.status, statusText: page.statusText, headers }));
}

/**
 * A response to a banner: the impression (the banner's pixel was loaded), "not interested" (a
 * form POST that returns to the page) or a click (redirected to the banner's link with the
 * token). The visitor always gets their answer; what is kept of the response is `record`'s.
 */
async function respondTo(event, request, env, ctx) {
  const url = new URL(request.url);
  if (event === "dismiss" && request.method !== "POST") {
    return new Response("POST the dismissal form here\n", { status: 405, headers: { allow: "POST" } });
  }
  const answer = { location: "/", setCookie: null };
  try {
    await record(event, request, env, ctx, answer);
  } catch (error) {
    // The visitor still gets where they were going; only the response is not remembered.
    log(`${event}_not_recorded`, error, { path: url.pathname });
  }
  const headers = new Headers({ "cache-control": "no-store" });
  if (answer.setCookie) headers.append("set-cookie", answer.setCookie);
  if (event === "impression") {
    headers.set("content-type", "image/gif");
    return new Response(PIXEL, { status: 200, headers });
  }
  headers.set("location", answer.location);
  return new Response(null, { status: 303, headers });
}

/**
 * Records a response as far as the visitor's consent allows, setting `answer.location` (where
 * the visitor goes next) and `answer.setCookie`:
 * - a dismissal always, as the visitor's own request, in the cookie's dismissals (and, with
 *   personalisation consent, in its ledger too);
 * - an impression or a click in the ledger with personalisation consent; with analytics consent
 *   only, as a measurement event and nothing in the cookie; without either, not at all.
 * Only from the site's own pages: never from another site (`Sec-Fetch-Site: cross-site`), and
 * without a valid visitor cookie only a dismissal that provably comes from the site (`fromSite`):
 * a forged post could otherwise replace the visitor's cookie, and what they asked with it.
 */
async function record(event, request, env, ctx, answer) {
  const url = new URL(request.url);
  const form = event === "dismiss" ? await readForm(request) : url.searchParams;
  const token = form.get("token");
  if (event === "dismiss") answer.location = returnPath(form.get("return"), url.origin);
  const now = Date.now();
  const cookieHeader = request.headers.get("cookie");
  const key = await visitorKey(env);
  const { visitor, problem } = await readVisitor(cookieHeader, key, now);
  // The engine is used only between here and the next await: a refresh may free it after that.
  let engine = null;
  let noEngine = null;
  try {
    engine = await currentEngine(env, ctx, url.origin, []);
  } catch (error) {
    noEngine = error;
  }
  if (event === "click") {
    // Without a bundle only same-origin links can be checked; those still go through.
    const target = token && clickTarget(form.get("to"), token, url.origin, allowedHosts(engine));
    if (!target) throw Object.assign(new Error("the click's link is not one a banner may carry"), { code: "invalid_argument" });
    answer.location = target.href;
  }
  const consent = consentOf(cookieHeader);
  if (event !== "dismiss" && !consent.personalisation && !consent.analytics) return; // nothing may be kept
  if (!engine) throw noEngine;
  if (!token) throw Object.assign(new Error("no token"), { code: "invalid_argument" });
  if (request.headers.get("sec-fetch-site") === "cross-site") throw Object.assign(new Error("sent from another site"), { code: "cross_site" });
  if (visitor.isNew && !(event === "dismiss" && fromSite(request, url.origin))) {
    throw Object.assign(new Error(`no valid visitor cookie (${problem ?? "none"})`), { code: "no_visitor" });
  }
  const remembered = rememberedWith(visitor, consent);
  const next = { ...remembered };
  const profile = engine.profile(visitorProfile(remembered, request).profile);
  let measurement;
  try {
    if (consent.personalisation) {
      const recorded = engine.recordFor(profile, remembered.ledger, { event, token, now });
      next.ledger = fitted(engine, recorded.ledger, MAX_LEDGER_CHARS);
      measurement = recorded.measurement;
    }
    if (event === "dismiss") {
      const recorded = engine.recordFor(profile, remembered.dismissals, { event, token, now });
      next.dismissals = fitted(engine, recorded.ledger, MAX_DISMISSALS_CHARS);
      measurement ??= recorded.measurement;
    }
    // Analytics only: measured from a ledger of its own, kept nowhere (a reloaded pixel counts again).
    measurement ??= engine.recordFor(profile, undefined, { event, token, now }).measurement;
  } finally {
    profile.free();
  }
  send(measurement, env, ctx, url.origin);
  if (consent.personalisation || event === "dismiss") {
    answer.setCookie = (await encodeVisitor(next, key, now, { secure: env.INSECURE_COOKIE !== "true" })).setCookie;
  }
}

/**
 * Whether a request provably comes from the site's own pages: `Sec-Fetch-Site: same-origin`, or
 * the site's own `Origin` (browsers send one with every form POST).
 */
function fromSite(request, origin) {
  return request.headers.get("sec-fetch-site") === "same-origin" || request.headers.get("origin") === origin;
}

/** `ledger` fitted to `max` characters (older impressions go first), logged when it had to be. */
function fitted(engine, ledger, max) {
  if (ledger.length <= max) return ledger;
  const fit = engine.fitLedger(ledger, max);
  log("ledger_fitted", null, { from: ledger.length, to: fit.length });
  return fit;
}

/** The urlencoded form in the body, read up to MAX_FORM_BYTES (more is refused, not buffered). */
async function readForm(request) {
  const tooLarge = () => Object.assign(new Error(`form over ${MAX_FORM_BYTES} bytes`), { code: "too_large" });
  if (Number(request.headers.get("content-length") ?? "0") > MAX_FORM_BYTES) throw tooLarge();
  const chunks = [];
  let size = 0;
  for await (const chunk of request.body ?? []) {
    size += chunk.byteLength;
    if (size > MAX_FORM_BYTES) throw tooLarge();
    chunks.push(chunk);
  }
  const bytes = new Uint8Array(size);
  let at = 0;
  for (const chunk of chunks) {
    bytes.set(chunk, at);
    at += chunk.byteLength;
  }
  return new URLSearchParams(new TextDecoder().decode(bytes));
}

/**
 * The engine of the bundle in use: the embedded one, verified once per isolate; or the origin's,
 * fetched on first use and revalidated every BUNDLE_REVALIDATE_SECONDS in the background. A new
 * bundle replaces the one in use only once it verified (and is not older); until then, and
 * whenever a fetch fails, the one in use stays. With none at all this throws: the page fails open.
 */
async function currentEngine(env, ctx, origin, timing) {
  const engine = await bundleEngine(env, ctx, origin, timing);
  if (env.OVERLAY_URL) {
    const overlayAge = 1000 * Number(env.OVERLAY_REVALIDATE_SECONDS ?? DEFAULT_OVERLAY_REVALIDATE_SECONDS);
    if (!overlay || Date.now() - overlay.checkedAt >= overlayAge) {
      const first = !overlay;
      refreshingOverlay ??= refreshOverlay(env, origin).finally(() => { refreshingOverlay = null; });
      ctx.waitUntil(refreshingOverlay.catch(() => {}));
      // The isolate's first page waits for it: a sold-out deal is never shown for want of asking.
      if (first) await refreshingOverlay;
    }
  }
  return bundle?.engine ?? engine;
}

async function bundleEngine(env, ctx, origin, timing) {
  const trustedKeys = () => JSON.parse(env.TRUSTED_KEYS ?? "null");
  if (env.BUNDLE) {
    if (embeddedRefused) throw embeddedRefused; // it cannot change within the isolate
    if (!bundle) {
      const started = performance.now();
      try {
        bundle = { engine: Engine.load(new Uint8Array(env.BUNDLE), { trustedKeys: trustedKeys() }) };
      } catch (error) {
        embeddedRefused = error;
        throw error;
      }
      timing.push(`opmaat-bundle;dur=${milliseconds(started)};desc="verify"`);
    }
    return bundle.engine;
  }
  if (!env.BUNDLE_URL) throw Object.assign(new Error("neither BUNDLE nor BUNDLE_URL is bound"), { code: "no_bundle" });
  if (!bundle && !refreshing && Date.now() - noBundleSince < NO_BUNDLE_RETRY_MS) {
    throw Object.assign(new Error(`no bundle could be loaded; trying again ${NO_BUNDLE_RETRY_MS} ms after the last try`), { code: "no_bundle" });
  }
  const maxAge = 1000 * Number(env.BUNDLE_REVALIDATE_SECONDS ?? DEFAULT_REVALIDATE_SECONDS);
  if (!bundle || Date.now() - bundle.checkedAt >= maxAge) {
    refreshing ??= refresh(env, origin, trustedKeys, timing).finally(() => { refreshing = null; });
    // Kept alive even if the request that started it goes away: others may be waiting on it.
    ctx.waitUntil(refreshing.catch(() => {}));
    if (!bundle) await refreshing;
  }
  if (!bundle) throw Object.assign(new Error("no bundle could be loaded"), { code: "no_bundle" });
  return bundle.engine;
}

/** Fetches the availability overlay (revalidated with its ETag) and applies a new one. */
async function refreshOverlay(env, origin) {
  const headers = overlay?.etag ? { "if-none-match": overlay.etag } : {};
  const url = new URL(env.OVERLAY_URL, origin);
  const checked = (fields) => { overlay = { bytes: null, etag: null, ...overlay, ...fields, checkedAt: Date.now() }; };
  try {
    const response = await upstream(env).fetch(new Request(url, { headers }));
    if (response.status === 304 && overlay) return checked({});
    if (response.status === 404) return checked({ etag: null }); // none published: the catalogue's stock
    if (!response.ok) throw Object.assign(new Error(`fetching ${url.pathname}: HTTP ${response.status}`), { code: "fetch_failed" });
    const bytes = new Uint8Array(await response.arrayBuffer());
    const applied = bundle.engine.applyOverlay(bytes);
    checked({ bytes, etag: response.headers.get("etag") });
    log("overlay_applied", null, { url: env.OVERLAY_URL, sequence: applied.sequence, expiresAt: applied.expiresAt });
  } catch (error) {
    checked({}); // the one in use stays; try again after the next interval
    log("overlay_kept", error, { url: env.OVERLAY_URL });
  }
}

async function refresh(env, origin, trustedKeys, timing) {
  const headers = {};
  if (bundle?.etag) headers["if-none-match"] = bundle.etag;
  else if (bundle?.lastModified) headers["if-modified-since"] = bundle.lastModified;
  try {
    const url = new URL(env.BUNDLE_URL, origin);
    const response = await upstream(env).fetch(new Request(url, { headers }));
    if (response.status === 304 && bundle) {
      bundle.checkedAt = Date.now();
      return;
    }
    if (!response.ok) throw Object.assign(new Error(`fetching ${url.pathname}: HTTP ${response.status}`), { code: "fetch_failed" });
    const bytes = new Uint8Array(await response.arrayBuffer());
    const started = performance.now();
    const engine = Engine.load(bytes, { trustedKeys: trustedKeys(), ...(bundle ? { minVersion: bundle.engine.version } : {}) });
    if (overlay?.bytes) {
      try {
        engine.applyOverlay(overlay.bytes);
      } catch (error) {
        log("overlay_dropped", error, { version: engine.version }); // expired, or not for the new bundle's id
      }
    }
    timing.push(`opmaat-bundle;dur=${milliseconds(started)};desc="verify"`);
    const replaced = bundle?.engine;
    bundle = { engine, etag: response.headers.get("etag"), lastModified: response.headers.get("last-modified"), checkedAt: Date.now() };
    // Every request uses the engine only synchronously after getting it, so none holds the old one now.
    replaced?.free();
    log("bundle_loaded", null, { url: env.BUNDLE_URL, version: engine.version });
  } catch (error) {
    log(bundle ? "bundle_kept" : "no_bundle", error, { url: env.BUNDLE_URL });
    if (bundle) {
      bundle.checkedAt = Date.now(); // try again after the next interval, not on every request
    } else {
      noBundleSince = Date.now();
      throw error;
    }
  }
}

async function visitorKey(env) {
  if (keyFor.secret !== env.COOKIE_KEY) keyFor = { secret: env.COOKIE_KEY, key: await cookieKey(env.COOKIE_KEY) };
  return keyFor.key;
}

/** Posts measurement events to COLLECT_URL beside the answer; a failure is logged, never thrown. */
function send(events, env, ctx, origin) {
  if (!env.COLLECT_URL || events.length === 0) return;
  const post = async () => {
    const response = await (env.COLLECTOR ?? upstream(env)).fetch(new Request(new URL(env.COLLECT_URL, origin), {
      method: "POST", headers: { "content-type": "application/json" }, body: JSON.stringify(events),
    }));
    if (!response.ok) log("collect_failed", null, { status: response.status });
  };
  ctx.waitUntil(post().catch((error) => log("collect_failed", error)));
}

/** The hosts the bundle's links may go to, lower-case (none without a bundle: same-origin only). */
const allowedHosts = (engine) => new Set((engine?.allowedLinkHosts ?? []).map((h) => h.toLowerCase()));

/** A short plain-text answer that no cache keeps. */
function plainPage(text, status) {
  return new Response(text, { status, headers: { "content-type": "text/plain; charset=utf-8", "cache-control": "no-store" } });
}

/**
 * Milliseconds since `started`, as the platform's clock tells them: workerd and Cloudflare give
 * whole milliseconds (and Cloudflare advances the clock only at I/O), so a fast decision reads 0.
 */
const milliseconds = (started) => Math.round(performance.now() - started);

const upstream = (env) => env.ORIGIN ?? { fetch: (request) => fetch(request) };

function wantsHtml(request) {
  const accept = request.headers.get("accept") ?? "";
  return accept.includes("text/html") || accept === "" || accept === "*/*";
}

function isHtml(response) {
  return (response.headers.get("content-type") ?? "").startsWith("text/html");
}

function withoutValidators(request) {
  const headers = new Headers(request.headers);
  headers.delete("if-none-match");
  headers.delete("if-modified-since");
  return new Request(request, { headers });
}

/** One JSON line per event, for the platform's log (workerd: stderr; Cloudflare: Workers Logs). */
function log(event, error, fields = {}) {
  const line = { opmaat: event, ...fields };
  if (error) Object.assign(line, { code: error.code ?? error.name, message: error.message });
  console.warn(JSON.stringify(line));
}
