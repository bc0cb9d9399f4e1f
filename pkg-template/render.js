// Puts a decision on the page, safely, and records what the customer does with it.
//
// Slots are the elements marked data-opmaat-slot="<placement>:<position>" (position 1, 2, …).
// A slot the decision fills gets a banner; every other element keeps its default content, so a
// page without WebAssembly, or a decision with fewer propositions, never shows a blank slot.
//
// Safety: text only through textContent (a creative can never inject markup); links only https:
// to a host the bundle allows, or same-origin; images with width and height, so the page
// reserves their space and nothing shifts. The decision chose the compact creative when the
// context said formFactor "small": use formFactorFor(window) to say so from the viewport.
//
// Responses: an impression when at least half the banner is visible (IntersectionObserver), once
// per decision; a click before the browser follows the link, whose URL carries the slot's token
// (`opmaat` parameter: decision, proposition, treatment, nothing personal) so the form behind it
// can pre-fill; "not interested" records a dismissal and gives the slot its default content back.
// Each response updates the ledger in `store` and hands measurement events to `beacon`; so does
// rendering a held-out customer's decision (its `withheld` events, `decision.measurement`).

/** Viewports narrower than this many CSS pixels get compact creatives. */
export const COMPACT_BREAKPOINT = 640;
/** The CTA URL parameter that carries the slot's token. */
export const TOKEN_PARAMETER = "opmaat";
const VISIBLE_SHARE = 0.5;
/** Each slot element's own default content, taken the first time a banner replaces it. */
const defaultsOf = new WeakMap();
/** Per root, the impression observer of each placement rendered there: replaced with the placement. */
const observersOf = new WeakMap();

/** "small" or "large" for the decision's context, from the viewport's width. */
export function formFactorFor(win = globalThis.window) {
  return win && win.innerWidth < COMPACT_BREAKPOINT ? "small" : "large";
}

/** A ledger kept in localStorage under `key`. */
export function localStorageLedger(key = "opmaat.ledger") {
  return {
    get: () => localStorage.getItem(key) ?? undefined,
    set: (value) => localStorage.setItem(key, value),
  };
}

/**
 * Fills the slots of `decision` under `root` and wires the customer's responses. It may be called
 * again with a new decision for the same placement (another customer, another viewport): every
 * slot of the placement first gets its default content back.
 * @returns {{ shown: string[], problems: string[] }} the propositions rendered, and anything left out.
 */
export function renderSlots(decision, root, { engine, profile, store = localStorageLedger(), beacon, labels = {}, onResponse } = {}) {
  if (!engine) throw new TypeError("renderSlots: options.engine is required (it records the responses)");
  const allowed = new Set(engine.allowedLinkHosts.map((h) => h.toLowerCase()));
  const shown = [];
  const problems = [];
  const respond = (event, token, proposition) => {
    try {
      const options = { event, token };
      const result = profile ? engine.recordFor(profile, store.get(), options) : engine.record(store.get(), options);
      store.set(result.ledger);
      beacon?.send(result.measurement);
      onResponse?.({ event, token, proposition, recorded: result.recorded, ledger: result.ledger, measurement: result.measurement });
    } catch (e) {
      problems.push(`recording ${event}: ${e.code ?? ""} ${e.message}`);
    }
  };
  const observer = typeof IntersectionObserver === "function"
    ? new IntersectionObserver((entries) => {
        for (const entry of entries) {
          if (entry.intersectionRatio >= VISIBLE_SHARE) {
            observer.unobserve(entry.target);
            respond("impression", entry.target.dataset.opmaatToken, entry.target.parentElement?.getAttribute("data-opmaat-proposition") ?? undefined);
          }
        }
      }, { threshold: VISIBLE_SHARE })
    : null;

  // Rendering a placement again: the banners it had go, and so does what watched them.
  if (!observersOf.has(root)) observersOf.set(root, new Map());
  observersOf.get(root).get(decision.placement.id)?.disconnect();
  if (observer) observersOf.get(root).set(decision.placement.id, observer);
  for (const element of root.querySelectorAll(`[data-opmaat-slot^="${CSS.escape(`${decision.placement.id}:`)}"]`)) {
    restoreDefault(element);
  }
  for (const slot of decision.slots) {
    const element = root.querySelector(`[data-opmaat-slot="${CSS.escape(`${decision.placement.id}:${slot.position}`)}"]`);
    if (!element) {
      problems.push(`no element for slot ${decision.placement.id}:${slot.position}`);
      continue;
    }
    defaultsOf.set(element, [...element.childNodes].map((n) => n.cloneNode(true)));
    const banner = bannerFor(slot, allowed, problems, labels);
    banner.querySelector(".opmaat-cta")?.addEventListener("click", () => respond("click", slot.token, slot.proposition));
    banner.querySelector(".opmaat-dismiss").addEventListener("click", () => {
      respond("dismiss", slot.token, slot.proposition);
      observer?.unobserve(banner);
      restoreDefault(element);
    });
    element.replaceChildren(banner);
    element.setAttribute("data-opmaat-proposition", slot.proposition);
    observer?.observe(banner);
    shown.push(slot.proposition);
  }
  // A held-out customer's decision: what it withheld, for the control group's exposures.
  if (decision.measurement?.length) beacon?.send(decision.measurement);
  return { shown, problems };
}

/** Gives a slot element its default content back, if a banner had replaced it. */
function restoreDefault(element) {
  const defaults = defaultsOf.get(element);
  if (!defaults) return;
  defaultsOf.delete(element);
  element.replaceChildren(...defaults);
  element.removeAttribute("data-opmaat-proposition");
}

function bannerFor(slot, allowed, problems, labels) {
  const c = slot.creative;
  const article = document.createElement("article");
  article.className = `opmaat-banner opmaat-${c.formFactor}`;
  article.dataset.opmaatToken = slot.token;
  article.lang = c.locale;
  if (c.image) {
    const img = document.createElement("img");
    const src = safeUrl(c.image.src, allowed);
    if (src) {
      img.src = src;
      img.width = c.image.width;
      img.height = c.image.height;
      img.alt = c.image.alt;
      img.loading = "lazy";
      article.append(img);
    } else {
      problems.push(`${slot.proposition}: image ${c.image.src} is not on an allowed host`);
    }
  }
  const title = document.createElement("h3");
  title.className = "opmaat-title";
  title.textContent = c.title;
  const body = document.createElement("p");
  body.className = "opmaat-body";
  body.textContent = c.body;
  article.append(title, body);
  const href = safeUrl(c.href, allowed);
  if (href) {
    const url = new URL(href);
    url.searchParams.set(TOKEN_PARAMETER, slot.token);
    const a = document.createElement("a");
    a.className = "opmaat-cta";
    a.href = url.href;
    a.textContent = c.cta;
    article.append(a);
  } else {
    problems.push(`${slot.proposition}: link ${c.href} is neither https: on an allowed host nor same-origin`);
  }
  const dismiss = document.createElement("button");
  dismiss.type = "button";
  dismiss.className = "opmaat-dismiss";
  dismiss.textContent = labels.notInterested ?? (c.locale.startsWith("nl") ? "Niet interessant" : "Not interested");
  article.append(dismiss);
  return article;
}

/** The absolute URL when it is same-origin or https: on an allowed host; otherwise null. */
function safeUrl(href, allowed) {
  let url;
  try {
    url = new URL(href, location.href);
  } catch {
    return null;
  }
  if (url.origin === location.origin) return url.href;
  return url.protocol === "https:" && allowed.has(url.hostname.toLowerCase()) ? url.href : null;
}
