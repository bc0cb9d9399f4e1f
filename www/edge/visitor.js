// The logged-off visitor as the edge worker knows them: a signed first-party cookie plus what the
// request says (path, Accept-Language, the mobile hint, the country header). From these it builds
// the anonymous profile snapshot and the decision's context; nothing else about the visitor exists.
//
// What the cookie holds depends on the consent the bank's cookie banner recorded (CONSENT_COOKIE),
// and nothing is kept that the consent does not cover (`rememberedWith`):
// - personalisation: a random visitor id, the topics of the pages read lately, the ledger
//   (impressions, clicks, dismissals) and the dismissals on their own;
// - analytics, without personalisation: the id (which measurement events carry) and the dismissals;
// - neither (no answer yet, or marketing only): only the dismissals — a "not interested" is the
//   visitor's own request, and the cookie is what honours it. A visitor who has dismissed nothing
//   gets no cookie at all, and one they had is deleted (`pageViewCookie`).
// The dismissals are kept apart from the ledger so that they outlive a consent withdrawn: the
// first page after it drops the id, the topics and the ledger, and keeps only what was asked.
//
// The cookie is `<payload>.<mac>`: the payload is base64url JSON, the MAC an HMAC-SHA-256 of it
// under the worker's secret key. It is signed, not encrypted: it holds nothing personal. Both
// parts must be the one canonical base64url spelling of their bytes (no padding, no `+` or `/`,
// no whitespace, the unused low bits of the last character zero, a MAC of exactly 32 bytes):
// `atob` alone would take several spellings as one cookie. A cookie that is missing, malformed,
// signed with another key, from another cookie format or older than VISITOR_MAX_AGE_DAYS is a
// new visitor, never an error. Its size is bounded (MAX_COOKIE_BYTES): the worker fits the
// ledger to MAX_LEDGER_CHARS and the dismissals to MAX_DISMISSALS_CHARS first (older impressions
// go, what the visitor said stays), and should the cookie still be over, the topics, then the
// ledger, then the dismissals are dropped and the worker logs it (see `encodeVisitor`).
//
// Plain Web APIs only (WebCrypto, TextEncoder), so the same module runs in workerd and in Node.

/** The visitor cookie's name. */
export const VISITOR_COOKIE = "opmaat_v";
/** The consent cookie the bank's cookie banner sets: a dot-separated list, e.g. "marketing.analytics". */
export const CONSENT_COOKIE = "opmaat_consent";
/** Consent of a visitor whose cookie banner has not answered: the bank's own, non-personal offers. */
export const DEFAULT_CONSENT = Object.freeze({ personalisation: false, marketing: true, analytics: false });
/** A visitor unseen for this long starts again (the largest lifetime browsers keep a cookie). */
export const VISITOR_MAX_AGE_DAYS = 400;
/** The largest `name=value` of the visitor cookie, well under the 4,096 bytes browsers keep. */
export const MAX_COOKIE_BYTES = 3072;
/**
 * The longest ledger string the worker writes into the cookie (it fits the ledger to it first,
 * with `engine.fitLedger`): with MAX_DISMISSALS_CHARS, MAX_TOPICS topics and the rest, base64
 * and MAC, the cookie then stays under MAX_COOKIE_BYTES.
 */
export const MAX_LEDGER_CHARS = 1600;
/** The longest dismissals-only ledger the worker writes (a dozen or more dismissals). */
export const MAX_DISMISSALS_CHARS = 400;
/** How many recent topics are kept, newest first. */
export const MAX_TOPICS = 5;
/**
 * The cookie payload's format; another one is a new visitor. Its fields: `f` the format, `t` when
 * it was written (seconds), and as consent allows `id`, `p` (topics), `l` (ledger), `d` (dismissals).
 */
const FORMAT = 1;
const DAY_SECONDS = 86_400;

/** Topics of the bank's public pages, by path prefix (Dutch and English sites). */
export const TOPIC_BY_PATH = Object.freeze([
  ["/sparen", "savings"], ["/en/savings", "savings"],
  ["/hypotheek", "mortgage"], ["/en/mortgages", "mortgage"],
  ["/lenen", "loans"], ["/en/loans", "loans"],
  ["/betalen", "payments"], ["/en/payments", "payments"],
  ["/beleggen", "investments"], ["/en/investing", "investments"],
  ["/veilig-bankieren", "security"], ["/en/security", "security"],
]);

/** The topic of a path, or undefined. */
export function topicOf(path) {
  const hit = TOPIC_BY_PATH.find(([prefix]) => path === prefix || path.startsWith(`${prefix}/`));
  return hit?.[1];
}

const encoder = new TextEncoder();

/** The HMAC key from the worker's secret (at least 32 characters of randomness). */
export async function cookieKey(secret) {
  if (typeof secret !== "string" || secret.length < 32) {
    throw new Error("the cookie key (COOKIE_KEY) must be a secret of at least 32 characters");
  }
  return crypto.subtle.importKey("raw", encoder.encode(secret), { name: "HMAC", hash: "SHA-256" }, false, ["sign", "verify"]);
}

/** Bytes of the cookie's MAC, an HMAC-SHA-256. */
const MAC_BYTES = 32;

/** Letters of a visitor id, and how many: 26^16, about 2^75 ids. */
const ID_LETTERS = "abcdefghijklmnopqrstuvwxyz";
const ID_LENGTH = 16;
/** A visitor id: "v-" and ID_LENGTH lower-case letters. */
export const VISITOR_ID = /^v-[a-z]{16}$/;

/**
 * A random pseudonymous visitor id. Letters only: the engine refuses ids that look like personal
 * data, and random digits can look like an IBAN (its check digits hold for 1 in 97) or a phone
 * number; letters never do.
 */
export function randomVisitorId() {
  let id = "v-";
  while (id.length < 2 + ID_LENGTH) {
    for (const byte of crypto.getRandomValues(new Uint8Array(ID_LENGTH))) {
      // Unbiased: bytes from 234 up would favour the first letters, so they are skipped.
      if (byte < 256 - (256 % ID_LETTERS.length) && id.length < 2 + ID_LENGTH) id += ID_LETTERS[byte % ID_LETTERS.length];
    }
  }
  return id;
}

/** A new visitor: nothing known, no id yet (`rememberedWith` draws one when consent allows). */
export function newVisitor(now) {
  return { id: undefined, topics: [], ledger: undefined, dismissals: undefined, issued: Math.floor(now / 1000), isNew: true };
}

/**
 * The visitor in the request's cookie header, or a new one; `problem` says why a cookie that was
 * there was not used ("tampered", "expired", "malformed"), for the log.
 */
export async function readVisitor(cookieHeader, key, now) {
  const value = cookies(cookieHeader).get(VISITOR_COOKIE);
  if (value === undefined) return { visitor: newVisitor(now) };
  return readVisitorCookie(value, key, now);
}

/** The visitor in the cookie's exact value (`<payload>.<mac>`), or a new one and the `problem`. */
export async function readVisitorCookie(value, key, now) {
  const fresh = (problem) => ({ visitor: newVisitor(now), problem });
  const parts = value.split(".");
  if (parts.length !== 2 || parts[0] === "" || value.length > MAX_COOKIE_BYTES) return fresh("malformed");
  const [payload, signature] = parts;
  const mac = fromBase64url(signature);
  if (mac?.length !== MAC_BYTES || !(await crypto.subtle.verify("HMAC", key, mac, encoder.encode(payload)))) return fresh("tampered");
  const bytes = fromBase64url(payload);
  if (!bytes) return fresh("malformed");
  let data;
  try {
    data = JSON.parse(new TextDecoder().decode(bytes));
  } catch {
    return fresh("malformed");
  }
  if (data?.f !== FORMAT || !Number.isSafeInteger(data.t)) return fresh("malformed");
  if (data.id !== undefined && !(typeof data.id === "string" && VISITOR_ID.test(data.id))) return fresh("malformed");
  if (now / 1000 - data.t > VISITOR_MAX_AGE_DAYS * DAY_SECONDS || data.t > now / 1000 + DAY_SECONDS) return fresh("expired");
  const topics = Array.isArray(data.p) ? data.p.filter((t) => typeof t === "string").slice(0, MAX_TOPICS) : [];
  const text = (value) => (typeof value === "string" && value !== "" ? value : undefined);
  return { visitor: { id: data.id, topics, ledger: text(data.l), dismissals: text(data.d), issued: data.t, isNew: false } };
}

/**
 * The `Set-Cookie` value for `visitor`, signed, with what it holds (id, topics, ledger,
 * dismissals: the absent ones are left out), at most MAX_COOKIE_BYTES: over that, the topics go
 * first, then the ledger, then the dismissals (the visitor is only remembered less). `dropped`
 * names what had to go.
 */
export async function encodeVisitor(visitor, key, now, { secure = true } = {}) {
  const attempt = async ({ topics = [], ledger, dismissals }) => {
    const data = { f: FORMAT, t: Math.floor(now / 1000) };
    if (visitor.id) data.id = visitor.id;
    if (topics.length > 0) data.p = topics;
    if (ledger) data.l = ledger;
    if (dismissals) data.d = dismissals;
    const payload = toBase64url(encoder.encode(JSON.stringify(data)));
    const mac = new Uint8Array(await crypto.subtle.sign("HMAC", key, encoder.encode(payload)));
    return `${VISITOR_COOKIE}=${payload}.${toBase64url(mac)}`;
  };
  const kept = { topics: visitor.topics, ledger: visitor.ledger, dismissals: visitor.dismissals };
  const dropped = [];
  let pair = await attempt(kept);
  for (const field of ["topics", "ledger", "dismissals"]) {
    if (pair.length <= MAX_COOKIE_BYTES) break;
    kept[field] = undefined;
    dropped.push(field);
    pair = await attempt(kept);
  }
  return { setCookie: pair + cookieAttributes(VISITOR_MAX_AGE_DAYS * DAY_SECONDS, secure), bytes: pair.length, dropped };
}

/** The `Set-Cookie` value that deletes the visitor cookie. */
export function forgetVisitor({ secure = true } = {}) {
  return `${VISITOR_COOKIE}=${cookieAttributes(0, secure)}`;
}

const cookieAttributes = (maxAge, secure) => `; Path=/; Max-Age=${maxAge}; HttpOnly; SameSite=Lax${secure ? "; Secure" : ""}`;

/**
 * What the edge may keep of `visitor` under `consent` (see the module comment): personalisation
 * keeps everything, and a ledger not yet there begins as the dismissals; analytics keeps the id;
 * without either only the dismissals stay. An id is drawn when consent allows one and there is none.
 */
export function rememberedWith(visitor, consent) {
  const identified = consent.personalisation || consent.analytics;
  return {
    ...visitor,
    id: identified ? visitor.id ?? randomVisitorId() : undefined,
    topics: consent.personalisation ? visitor.topics : [],
    ledger: consent.personalisation ? visitor.ledger ?? visitor.dismissals : undefined,
  };
}

/**
 * The `Set-Cookie` a page answers with, or null: the remembered visitor, signed, when they have an
 * id (renewed on every page); only when it changes for a visitor without one (a cookie that held
 * more than their consent now allows keeps its dismissals and loses the rest); and a deletion of a
 * cookie that was sent but of which nothing may be kept. `sent` says whether the request had one.
 */
export async function pageViewCookie({ sent, visitor, remembered }, key, now, { secure = true } = {}) {
  if (remembered.id) return encodeVisitor(remembered, key, now, { secure });
  const heldMore = visitor.id !== undefined || visitor.topics.length > 0 || visitor.ledger !== undefined;
  if (remembered.dismissals) return heldMore ? encodeVisitor(remembered, key, now, { secure }) : null;
  return sent ? { setCookie: forgetVisitor({ secure }), bytes: 0, dropped: [] } : null;
}

/** The visitor's topics after reading `path`: its topic first, no repeats, at most MAX_TOPICS. */
export function withTopic(topics, path) {
  const topic = topicOf(path);
  return topic ? [topic, ...topics.filter((t) => t !== topic)].slice(0, MAX_TOPICS) : topics;
}

/** The consent the bank's cookie banner recorded, or DEFAULT_CONSENT. */
export function consentOf(cookieHeader) {
  const value = cookies(cookieHeader).get(CONSENT_COOKIE);
  if (value === undefined) return { ...DEFAULT_CONSENT };
  const given = new Set(value.split("."));
  return { personalisation: given.has("personalisation"), marketing: given.has("marketing"), analytics: given.has("analytics") };
}

/**
 * The anonymous profile snapshot and the decision context for this visitor and request:
 * `{ profile, context }`, exactly what the worker hands the engine.
 */
export function visitorProfile(visitor, request) {
  const headers = request.headers;
  const path = new URL(request.url).pathname;
  const attributes = { recent_topics: visitor.topics };
  const country = headers.get("cf-ipcountry");
  if (country && /^[A-Z]{2}$/.test(country)) attributes.country = country;
  // Without an id the engine decides for an anonymous visitor: no holdout, the first treatment.
  const profile = { ...(visitor.id ? { id: visitor.id } : {}), loggedIn: false, attributes, consent: consentOf(headers.get("cookie")) };
  const context = { page: path, locale: preferredLocale(headers.get("accept-language")), formFactor: isMobile(headers) ? "small" : "large" };
  const topic = topicOf(path);
  if (topic) context.topic = topic;
  return { profile, context };
}

/** The language tag the visitor prefers most (Accept-Language, by q), or "nl-NL". */
export function preferredLocale(header) {
  let best = { tag: "nl-NL", q: 0 };
  for (const part of (header ?? "").split(",")) {
    const [tag, ...params] = part.trim().split(";");
    const q = params.map((p) => p.trim()).find((p) => p.startsWith("q="));
    const weight = q ? Number(q.slice(2)) : 1;
    if (/^[A-Za-z]{2,3}(-[A-Za-z0-9]{2,8})*$/.test(tag) && weight > best.q) best = { tag, q: weight };
  }
  return best.tag;
}

/** The mobile hint: `Sec-CH-UA-Mobile: ?1`, else "Mobi" in the User-Agent (as MDN advises). */
export function isMobile(headers) {
  const hint = headers.get("sec-ch-ua-mobile");
  if (hint !== null) return hint.trim() === "?1";
  return /Mobi/.test(headers.get("user-agent") ?? "");
}

/** The request's cookies by name (the first of a repeated name wins). */
export function cookies(header) {
  const map = new Map();
  for (const part of (header ?? "").split(";")) {
    const eq = part.indexOf("=");
    if (eq < 1) continue;
    const name = part.slice(0, eq).trim();
    if (!map.has(name)) map.set(name, part.slice(eq + 1).trim());
  }
  return map;
}

/** `bytes` in base64url without padding: the one spelling `fromBase64url` accepts. */
export function toBase64url(bytes) {
  let binary = "";
  for (const b of bytes) binary += String.fromCharCode(b);
  return btoa(binary).replace(/\+/g, "-").replace(/\//g, "_").replace(/=+$/, "");
}

/**
 * The bytes `text` spells, or null unless it is their canonical base64url spelling: the URL-safe
 * alphabet only (no `=` padding, `+`, `/` or whitespace, all of which `atob` takes), a length
 * that whole bytes give, and the unused low bits of the last character zero (which `atob`
 * ignores). Re-encoding the bytes must give `text` back, character for character.
 */
export function fromBase64url(text) {
  if (typeof text !== "string" || !/^[A-Za-z0-9_-]*$/.test(text) || text.length % 4 === 1) return null;
  let bytes;
  try {
    bytes = Uint8Array.from(atob(text.replace(/-/g, "+").replace(/_/g, "/")), (c) => c.charCodeAt(0));
  } catch {
    return null;
  }
  return toBase64url(bytes) === text ? bytes : null;
}
