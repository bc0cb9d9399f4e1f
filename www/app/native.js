// The demo app's native side, simulated in the page around the webview: what the Swift or Kotlin
// code of the package's README does, in JavaScript. It ships the bundle (and updates it when
// online), knows the logged-in customer (a profile snapshot signed by the bank's development
// key), keeps the customer's ledger in its own storage, where clearing the webview's cache cannot
// lose it, and forwards measurement events to the collector when online (the snapshot carries the
// customer's analytics consent, so the page sends none without it).
//
// Its bridge to the webview is the generic one (window.postMessage between this page and the
// iframe); in an app it is WKWebView's message handler or Android's WebViewCompat.
const NATIVE_LEDGER = "opmaat.app.native.ledger"; // the app's own storage, not the webview's
const state = (window.opmaatApp = { online: true, log: [], forwarded: 0, queued: [], ledger: localStorage.getItem(NATIVE_LEDGER) ?? undefined });

const $ = (s) => document.querySelector(s);
const webview = $("#webview");

async function getJson(url) {
  const response = await fetch(url, { cache: "no-cache" });
  if (!response.ok) throw new Error(`${url}: HTTP ${response.status}`);
  return response.json();
}

function log(direction, message) {
  state.log.push({ direction, message });
  const li = document.createElement("li");
  const { v, ...rest } = message;
  void v;
  const text = JSON.stringify(rest, (k, value) => (typeof value === "string" && value.length > 60 ? `${value.slice(0, 57)}…` : value));
  li.textContent = `${direction === "in" ? "webview →" : "→ webview"} ${text}`;
  $("#bridge-log").prepend(li);
}

function send(message) {
  log("out", message);
  webview.contentWindow.postMessage(JSON.stringify({ v: 1, ...message }), location.origin);
}

function showLedger() {
  $("#native-ledger").textContent = state.ledger ?? "—";
}

async function forward(events = []) {
  state.queued.push(...events);
  if (!state.online || state.queued.length === 0) return;
  const batch = state.queued.splice(0);
  const response = await fetch("/collect", { method: "POST", headers: { "content-type": "application/json" }, body: JSON.stringify(batch) }).catch(() => null);
  if (response?.ok) state.forwarded += batch.length;
  else state.queued.unshift(...batch); // sent again when next online
}

let setup = null; // { snapshot, bundle (base64), keys }

async function main() {
  const [trustedKeys, profileKeys, snapshot] = await Promise.all([
    getJson("/bundles/trusted-keys.json"), getJson("/bundles/profile-keys.json"), getJson("/bundles/app-profile.signed.json"),
  ]);
  const bytes = new Uint8Array(await (await fetch("/bundles/bank-nl-web.opb", { cache: "no-cache" })).arrayBuffer());
  let binary = "";
  for (let i = 0; i < bytes.length; i += 0x8000) binary += String.fromCharCode(...bytes.subarray(i, i + 0x8000));
  setup = { snapshot, bundle: btoa(binary), keys: { trustedKeys, profileKeys } };
  window.addEventListener("message", (event) => {
    if (event.source !== webview.contentWindow) return;
    // Checked as the app checks it: JSON text, protocol version 1, a known type.
    let message;
    try {
      message = JSON.parse(event.data);
    } catch {
      return;
    }
    if (message?.v !== 1 || !["ready", "decided", "response", "ledger", "error"].includes(message.type)) return;
    log("in", message);
    if (message.type === "ready") {
      send({ type: "init", id: "init", snapshot: setup.snapshot, bundle: setup.bundle, ledger: state.ledger,
        context: { screen: "home", locale: "nl-NL", formFactor: "small", appVersion: "8.12.0" } });
    } else if (message.type === "response" || message.type === "ledger") {
      state.ledger = message.ledger;
      localStorage.setItem(NATIVE_LEDGER, message.ledger);
      showLedger();
      forward(message.measurement);
    } else if (message.type === "decided") {
      for (const placement of message.placements) forward(placement.measurement);
      $("#native-status").textContent = `Het scherm toont ${message.placements[0].slots.map((s) => s.proposition).join(", ") || "zijn standaardinhoud"}.`;
    } else if (message.type === "error") {
      $("#native-status").textContent = `De webview meldt ${message.code}: ${message.message}`;
    }
  });
  webview.src = `/app/screen.html#${encodeURIComponent(JSON.stringify(setup.keys))}`;
  showLedger();
}

$("#toggle-network").addEventListener("click", () => {
  state.online = !state.online;
  $("#network").textContent = state.online ? "online" : "offline";
  $("#toggle-network").textContent = state.online ? "Ga offline" : "Ga online";
  if (state.online) forward();
});
$("#clear-cache").addEventListener("click", () => {
  // The webview's own storage goes (as when the OS clears it); the app's copy stays.
  for (const key of Object.keys(localStorage)) if (key.startsWith("opmaat.webview.")) localStorage.removeItem(key);
  webview.contentWindow.location.reload();
});
$("#reload").addEventListener("click", () => webview.contentWindow.location.reload());

main().catch((e) => {
  $("#native-status").textContent = `De demo-app kon niet starten: ${e.message}`;
});
