// The webview's script: the package's runWebview does the rest (bridge, checks, decisions,
// banners, responses). The keys are the app's build settings: the bundle's and the bank's
// profile keys, here the demo's development keys (the native side passes them in the URL).
const keys = JSON.parse(decodeURIComponent(location.hash.slice(1) || "{}"));
window.opmaatRun = opmaat.runWebview({
  wasm: window.opmaatWasm,
  trustedKeys: keys.trustedKeys ?? {},
  profileKeys: keys.profileKeys ?? {},
  placements: ["app-home"],
  onError: (e) => console.warn("opmaat:", e.code, e.message),
});
