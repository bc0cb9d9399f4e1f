// The demo's page logic, shared by the logged-off homepage and the logged-in overview. It does
// what a bank's page does with the package — `opmaat/start`, one profile per page, `decideAllFor`
// for the page's placements, `renderSlots`, a `Beacon` to the collector — and what only a demo
// needs: a persona switcher (the personas the tests decide for), a "why this offer?" panel
// made from the decision's trace, and campaign operations' buttons that publish a new
// availability overlay (the museum deal sold out, Green Savings paused: the edge homepage's banner
// too, once the worker revalidates) while the page is open.
//
// What happened is kept in `window.opmaatDemo` for the curious reader's console and for the
// end-to-end tests: the errors reported, the context and profile decided with, the decisions.
import { start } from "/pkg/start.js";
import { VISITOR_ID, randomVisitorId } from "/edge/visitor.js";

const BUNDLE_URL = "/bundles/bank-nl-web.opb";
const OVERLAY_URL = "/bundles/bank-nl-web.opa";
const OPS_URL = "/ops/overlay";
/** The overlays the operations buttons publish (the demo server signs them with the development key). */
const OPERATIONS = [
  { label: "Rijksmuseum-deal uitverkocht", propositions: { rijksmuseum: { soldOut: true } } },
  { label: "Nog 3 museumkaarten", propositions: { rijksmuseum: { remaining: 3 } } },
  { label: "Groen Sparen pauzeren", propositions: { rijksmuseum: { remaining: 500 }, "green-savings": { paused: "Verkeerde rente in de tekst" } } },
  { label: "Alles weer beschikbaar", propositions: { rijksmuseum: { remaining: 500 } } },
];
const TRUSTED_KEYS_URL = "/bundles/trusted-keys.json";
const PERSONAS_URL = "/personas/index.json";
const CUSTOMERS_URL = "/demo-customers.json";
const PERSONA_PARAMETER = "persona";
const VISITOR_KEY = "opmaat.demo.visitor";

const state = (window.opmaatDemo = { ready: false, errors: [], fromLastGood: false, persona: null, profile: null, context: null, decisions: [], overlay: null });

const $ = (selector) => document.querySelector(selector);
const element = (tag, text, className) => {
  const e = document.createElement(tag);
  if (text !== undefined) e.textContent = String(text);
  if (className) e.className = className;
  return e;
};

/**
 * Runs a demo page: `placements` are the page's Op Maat placements, `audience` "logged_in" or
 * "logged_off" picks the personas the switcher offers.
 */
export async function runPage({ placements, audience }) {
  if (document.querySelector('[data-opmaat-rendered="edge"]')) {
    // The edge worker (www/edge/) decided before the page left the CDN: nothing to do here.
    $("#persona").hidden = true;
    $('label[for="persona"]').hidden = true;
    $(".why").hidden = true;
    status("Op Maat: gekozen aan de edge, voordat de pagina dit apparaat bereikte.");
    $("#story").textContent = "Met toestemming voor personalisatie komt het bezoekersprofiel uit een ondertekende first-party cookie, zonder toestemming wordt niets bewaard; de beslissingstijd staat in de Server-Timing-header.";
    Object.assign(state, { edge: true, ready: true });
    return;
  }
  let personas, customers, trustedKeys;
  try {
    [personas, customers, trustedKeys] = await Promise.all([
      getJson(PERSONAS_URL), audience === "logged_in" ? getJson(CUSTOMERS_URL) : {}, getJson(TRUSTED_KEYS_URL),
    ]);
  } catch (e) {
    // Not the demo server (the edge's static origin has no personas): the defaults stay.
    status(`Op Maat demo: ${e.message}; de pagina toont haar standaardinhoud.`, true);
    state.ready = true;
    return;
  }
  // As the engine reads a snapshot: `loggedIn` defaults to whether there is an id.
  const offered = personas.filter((p) => (p.profile.loggedIn ?? Boolean(p.profile.id)) === (audience === "logged_in"));
  const chooser = personaChooser(offered);
  const show = () => {
    const persona = chooser.current();
    state.persona = persona.file;
    $("#story").textContent = persona.story;
    if (audience === "logged_in") showCustomer(customers[persona.file]);
  };
  show();

  let decideAndRender = () => {}; // until the engine is there
  const started = await start({
    bundleUrl: BUNDLE_URL, trustedKeys, onError: report, overlayUrl: OVERLAY_URL, overlayRevalidateSeconds: 10,
    onOverlay: (overlay) => {
      state.overlay = overlay;
      decideAndRender();
    },
  });
  if (!started) {
    status("Op Maat is niet beschikbaar: de pagina toont haar standaardinhoud.", true);
    state.ready = true;
    return;
  }
  const { opmaat, engine, fromLastGood } = started;
  state.fromLastGood = fromLastGood;
  if (!fromLastGood) status(`Bundel ${engine.bundleId} v${engine.version} geverifieerd (sleutel ${engine.keyId}).`);
  const beacon = new opmaat.Beacon({ url: "/collect" });

  let profile = null;
  decideAndRender = () => {
    const persona = chooser.current();
    const snapshot = audience === "logged_in" ? persona.profile : { ...persona.profile, id: visitorId() };
    // The banners of the previous profile go now, and with them the last use of its handle.
    const previous = profile;
    profile = engine.profile(snapshot);
    const store = opmaat.localStorageLedger(`opmaat.ledger.${persona.file}`);
    // Logged in: what this device's logged-off visitor told the homepage is the customer's
    // too (a banner dismissed there stays dismissed here). One memory, no event counted twice.
    if (audience === "logged_in") {
      const visitor = personas.filter((p) => !offered.includes(p)).map((p) => localStorage.getItem(`opmaat.ledger.${p.file}`) ?? undefined);
      const merged = visitor.reduce((ledger, theirs) => (theirs ? engine.mergeLedgers(ledger, theirs) : ledger), store.get());
      if (merged !== undefined && merged !== store.get()) store.set(merged);
    }
    const visit = persona.decisions.find((d) => placements.includes(d.placement))?.context ?? {};
    const context = {
      page: location.pathname.replace(/(.)\/$/, "$1"),
      locale: visit.locale ?? document.documentElement.lang,
      formFactor: opmaat.formFactorFor(window),
      ...(visit.topic ? { topic: visit.topic } : {}),
    };
    const decisions = engine.decideAllFor(profile, { placements, ledger: store.get(), context, trace: true });
    for (const decision of decisions) {
      const { problems } = opmaat.renderSlots(decision, document, { engine, profile, store, beacon });
      for (const problem of problems) report(Object.assign(new Error(problem), { code: "render" }));
    }
    previous?.free();
    Object.assign(state, { profile: snapshot, context, decisions });
    showWhy(decisions);
  };

  decideAndRender();
  operationsButtons(started.refreshOverlay);
  chooser.onChange(() => {
    show();
    decideAndRender();
  });
  // Crossing the breakpoint changes the creative: decide again for the new form factor.
  matchMedia(`(max-width: ${opmaat.COMPACT_BREAKPOINT - 0.02}px)`).addEventListener("change", decideAndRender);
  state.ready = true;
}

/** Campaign operations: each button publishes an overlay, and the page fetches it at once. */
function operationsButtons(refreshOverlay) {
  const bar = element("span", undefined, "ops");
  bar.append(element("span", "Operaties:"));
  for (const { label, propositions } of OPERATIONS) {
    const button = element("button", label);
    button.type = "button";
    button.addEventListener("click", async () => {
      const response = await fetch(OPS_URL, { method: "POST", headers: { "content-type": "application/json" }, body: JSON.stringify({ propositions }) });
      if (!response.ok) return report(Object.assign(new Error(`${OPS_URL}: HTTP ${response.status}`), { code: "ops" }));
      await refreshOverlay();
    });
    bar.append(button);
  }
  $("#story").before(bar);
}

async function getJson(url) {
  const response = await fetch(url, { cache: "no-cache" });
  if (!response.ok) throw new Error(`${url}: HTTP ${response.status}`);
  return response.json();
}

function report(error) {
  state.errors.push({ code: error.code ?? "error", message: error.message });
  const fallback = state.errors.some((e) => e.code !== "render") ? " De laatst geverifieerde bundel wordt gebruikt waar die er is." : "";
  status(`Op Maat meldt: ${error.code ?? "error"}: ${error.message}.${fallback}`, true);
}

function status(text, isError = false) {
  const line = $("#opmaat-status");
  line.textContent = text;
  line.classList.toggle("error", isError);
}

/** A random visitor id kept on this device: the logged-off visitor's pseudonym. */
function visitorId() {
  let id = localStorage.getItem(VISITOR_KEY);
  if (!VISITOR_ID.test(id ?? "")) {
    id = randomVisitorId();
    localStorage.setItem(VISITOR_KEY, id);
  }
  return id;
}

/** The persona switcher: the persona in the URL (`?persona=<file>`), else the first one. */
function personaChooser(personas) {
  const select = $("#persona");
  for (const p of personas) {
    const option = element("option", p.persona);
    option.value = p.file;
    select.append(option);
  }
  const wanted = new URLSearchParams(location.search).get(PERSONA_PARAMETER);
  select.value = personas.some((p) => p.file === wanted) ? wanted : personas[0].file;
  return {
    current: () => personas.find((p) => p.file === select.value),
    onChange(listener) {
      select.addEventListener("change", () => {
        const url = new URL(location.href);
        url.searchParams.set(PERSONA_PARAMETER, select.value);
        history.replaceState(null, "", url);
        listener();
      });
    },
  };
}

const euro = new Intl.NumberFormat("nl-NL", { style: "currency", currency: "EUR" });

/** The made-up accounts and messages the overview shows around the slots. */
function showCustomer(customer = { accounts: [], messages: [] }) {
  $("#accounts").replaceChildren(...customer.accounts.map((a) => {
    const li = element("li");
    const name = element("span", a.name);
    name.append(element("span", a.number, "number"));
    li.append(name, element("span", euro.format(a.balance), a.balance < 0 ? "balance negative" : "balance"));
    return li;
  }));
  $("#messages").replaceChildren(...customer.messages.map((m) => {
    const li = element("li");
    li.append(element("time", m.date), element("span", m.subject, m.urgent ? "urgent" : undefined));
    return li;
  }));
}

const fixed = (n, digits = 2) => Number(n).toFixed(digits);

/** "Why this offer?": every shown proposition's score in its parts, and why the others are not shown. */
function showWhy(decisions) {
  const why = $("#why-content");
  why.replaceChildren();
  for (const d of decisions) {
    const facts = [`beslissing ${d.decisionId}`, `bundel ${d.bundleId} v${d.bundleVersion}`, `taal ${d.locale}`, `scherm ${d.formFactor}`];
    if (d.holdout) facts.push("in de controlegroep (holdout)");
    if (d.overlaySequence !== undefined) facts.push(`beschikbaarheid ${d.overlaySequence}`);
    const cost = d.withoutKnob.knobCost;
    facts.push(cost > 0 ? `de strategische knop kost ${cost.toPrecision(2)} van ${d.withoutKnob.expectedValue.toPrecision(3)} verwachte waarde` : "de strategische knop kost hier niets");
    for (const w of d.warnings) facts.push(`waarschuwing: ${w}`);
    why.append(element("p", facts.join(" · "), "facts"));

    const shown = element("table");
    shown.className = "shown";
    shown.append(row("th", ["#", "Propositie", "Prioriteit = P × C × V × L", "Variant"]));
    for (const s of d.slots) {
      const p = s.parts;
      shown.append(row("td", [
        s.position, `${s.creative.title} (${s.proposition})${s.fallback ? " — terugvaloptie" : ""}`,
        `${fixed(s.priority, 3)} = ${fixed(p.p, 3)} × ${fixed(p.c)} × ${fixed(p.v)} × ${fixed(p.l)}`,
        `${s.treatment} (${s.assignment}, ${fixed(s.selectionProbability * 100, 0)}%)`,
      ], [0, 2]));
    }
    if (d.slots.length === 0) shown.append(row("td", ["", "Niets getoond: de standaardinhoud blijft staan.", "", ""]));
    const hidden = element("table");
    hidden.className = "not-shown";
    hidden.append(row("th", ["Propositie", "Fase", "Regel", "Waarom niet"]));
    for (const t of d.trace) hidden.append(row("td", [t.proposition, t.stage, t.rule, t.detail], [], 2));
    why.append(scroll(shown), element("h3", "Niet getoond"), scroll(hidden));
  }
}

function row(cell, values, numeric = [], monospace = -1) {
  const tr = element("tr");
  values.forEach((v, i) => {
    const className = [numeric.includes(i) ? "num" : "", i === monospace ? "rule" : ""].join(" ").trim() || undefined;
    tr.append(element(cell, v, className));
  });
  return tr;
}

function scroll(table) {
  const div = element("div", undefined, "table-scroll");
  div.append(table);
  return div;
}
