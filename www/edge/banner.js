// The HTML of an Op Maat banner rendered at the edge: the same markup and classes as the
// package's renderSlots, so the site's CSS styles both, made safe as text:
// - every creative text and attribute is HTML-escaped (a creative can never inject markup);
// - links only https: to a host the bundle allows, or same-origin paths; anything else is left
//   out and reported;
// - images carry width and height, so the page reserves their space;
// - the call to action goes through CLICK_PATH, which records the click in the visitor's cookie
//   and redirects to the creative's link with the slot's token (`opmaat` parameter) for the form
//   behind it to pre-fill;
// - "not interested" is a plain form POST to DISMISS_PATH: it works without any script;
// - the impression is a lazily loaded 1×1 image from SEEN_PATH: counted when a browser actually
//   renders the banner near the viewport, not when the edge merely served it (and left out for a
//   visitor whose consent lets no impression be kept or measured).

/** Where the worker records a click and redirects to the call to action's link. */
export const CLICK_PATH = "/opmaat/click";
/** Where "not interested" is posted. */
export const DISMISS_PATH = "/opmaat/dismiss";
/** The impression pixel. */
export const SEEN_PATH = "/opmaat/seen";
/** The link parameter that carries the slot's token. */
export const TOKEN_PARAMETER = "opmaat";

const ESCAPES = { "&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;", "'": "&#39;" };

/** Text made safe for HTML content and for a double-quoted attribute. */
export function escapeHtml(text) {
  return String(text).replace(/[&<>"']/g, (c) => ESCAPES[c]);
}

/**
 * The absolute URL of `href` when it is a same-origin path or https: on an allowed host, or null.
 * `origin` is the page's origin; `allowed` a Set of lower-case host names.
 */
export function safeLink(href, origin, allowed) {
  let url;
  try {
    url = new URL(href, origin);
  } catch {
    return null;
  }
  if (url.origin === origin) return url;
  return url.protocol === "https:" && allowed.has(url.hostname.toLowerCase()) ? url : null;
}

/**
 * A decision slot as banner HTML, and the problems of what had to be left out:
 * `{ html, problems }`. `returnTo` is the page path "not interested" comes back to; `seen`
 * false leaves the impression pixel out.
 */
export function bannerHtml(slot, { origin, allowed, returnTo, seen = true }) {
  const c = slot.creative;
  const problems = [];
  const parts = [];
  if (c.image) {
    const src = safeLink(c.image.src, origin, allowed);
    if (src) {
      const href = src.origin === origin ? src.pathname + src.search : src.href;
      parts.push(`<img src="${escapeHtml(href)}" width="${Number(c.image.width)}" height="${Number(c.image.height)}" alt="${escapeHtml(c.image.alt)}" loading="lazy">`);
    } else {
      problems.push(`${slot.proposition}: image ${c.image.src} is not on an allowed host`);
    }
  }
  parts.push(`<h3 class="opmaat-title">${escapeHtml(c.title)}</h3>`, `<p class="opmaat-body">${escapeHtml(c.body)}</p>`);
  const target = safeLink(c.href, origin, allowed);
  if (target) {
    const click = new URL(CLICK_PATH, origin);
    click.searchParams.set("token", slot.token);
    click.searchParams.set("to", target.href);
    parts.push(`<a class="opmaat-cta" href="${escapeHtml(click.pathname + click.search)}">${escapeHtml(c.cta)}</a>`);
  } else {
    problems.push(`${slot.proposition}: link ${c.href} is neither https: on an allowed host nor same-origin`);
  }
  const label = c.locale.startsWith("nl") ? "Niet interessant" : "Not interested";
  parts.push(`<form class="opmaat-dismiss-form" method="post" action="${DISMISS_PATH}">`
    + `<input type="hidden" name="token" value="${escapeHtml(slot.token)}">`
    + `<input type="hidden" name="return" value="${escapeHtml(returnTo)}">`
    + `<button type="submit" class="opmaat-dismiss">${label}</button></form>`);
  if (seen) parts.push(`<img class="opmaat-seen" src="${SEEN_PATH}?token=${encodeURIComponent(slot.token)}" width="1" height="1" alt="" loading="lazy">`);
  const html = `<article class="opmaat-banner opmaat-${escapeHtml(c.formFactor)}" lang="${escapeHtml(c.locale)}" data-opmaat-token="${escapeHtml(slot.token)}">${parts.join("")}</article>`;
  return { html, problems };
}

/**
 * The CTA link a click redirects to, with the token, when `to` passes the same checks as the
 * banner's link (no open redirect); otherwise null.
 */
export function clickTarget(to, token, origin, allowed) {
  const url = to ? safeLink(to, origin, allowed) : null;
  if (!url) return null;
  url.searchParams.set(TOKEN_PARAMETER, token);
  return url;
}

/**
 * The same-origin path (with its query) to come back to after "not interested", or "/": the
 * value is resolved as the browser would resolve it (tabs and newlines dropped, backslashes as
 * slashes), so nothing that leads to another site, and nothing a header cannot carry, gets out.
 */
export function returnPath(value, origin) {
  if (typeof value !== "string" || !value.startsWith("/")) return "/";
  let url;
  try {
    url = new URL(value, origin);
  } catch {
    return "/";
  }
  return url.origin === origin ? url.pathname + url.search : "/";
}
