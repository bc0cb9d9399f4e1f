// The workerd configuration of the edge: the worker (worker.js with the npm package's workerd
// entry and its .wasm) in front of a small static origin (origin.js over read-only disk services
// for www/, pkg/ and the bundles). One function writes it, so the committed config.capnp, the
// tests and the benchmark all run the very same set-up:
//
//   node www/edge/config.mjs > www/edge/config.capnp     (the committed one; a test checks it)
//
// Paths are relative to the folder the config file is written to. Secrets never go in the file:
// COOKIE_KEY and TRUSTED_KEYS come from the environment (OPMAAT_COOKIE_KEY, OPMAAT_TRUSTED_KEYS)
// unless `cookieKey` / `trustedKeys` are given (tests).
import { relative, resolve } from "node:path";
import { fileURLToPath } from "node:url";

const HERE = fileURLToPath(new URL(".", import.meta.url));
const ROOT = resolve(HERE, "../..");
/** workerd's compatibility date for both workers. */
export const COMPATIBILITY_DATE = "2026-11-01";
export const DEFAULT_PORT = 8787;
/** The demo server (`./build.sh demo`), whose /collect takes the measurement events. */
export const DEMO_COLLECTOR = "127.0.0.1:8080";

/**
 * The config text. `dir` is where the file will live; `bundles` the folder served as /bundles/;
 * `embed` a bundle file to embed (else the worker fetches BUNDLE_URL from the origin);
 * `overlayUrl` where the origin serves the availability overlay (null: none);
 * `collectAddress` the host:port whose `collectUrl` takes measurement events (null: none);
 * `originAddress` a host:port to use as the origin instead of the static one (tests: a closed port).
 */
export function edgeConfig({
  dir = HERE, port = DEFAULT_PORT, bundles = resolve(ROOT, "target/demo"), embed = null,
  bundleUrl = "/bundles/bank-nl-web.opb", revalidateSeconds = 60, cookieKey = null, trustedKeys = null,
  overlayUrl = "/bundles/bank-nl-web.opa", overlayRevalidateSeconds = 15,
  placements = "homepage", insecureCookie = true, collectAddress = DEMO_COLLECTOR, collectUrl = "/collect",
  originAddress = null,
} = {}) {
  const path = (p) => JSON.stringify(relative(dir, p) || ".");
  const text = (name, value, variable) => value === null
    ? `(name = "${name}", fromEnvironment = "${variable}")`
    : `(name = "${name}", text = ${JSON.stringify(value)})`;
  const bundle = embed
    ? `(name = "BUNDLE", data = embed ${path(embed)})`
    : `(name = "BUNDLE_URL", text = ${JSON.stringify(bundleUrl)}),
    (name = "BUNDLE_REVALIDATE_SECONDS", text = "${revalidateSeconds}")`;
  const overlay = overlayUrl ? `
    (name = "OVERLAY_URL", text = ${JSON.stringify(overlayUrl)}),
    (name = "OVERLAY_REVALIDATE_SECONDS", text = "${overlayRevalidateSeconds}"),` : "";
  return `# The edge worker in front of a static origin, on 127.0.0.1:${port}. Written by config.mjs.
using Workerd = import "/workerd/workerd.capnp";

const config :Workerd.Config = (
  services = [
    (name = "edge", worker = .edge),
    (name = "origin", ${originAddress ? `external = (address = ${JSON.stringify(originAddress)}, http = ())` : "worker = .origin"}),
    (name = "www", disk = (path = ${path(resolve(ROOT, "www"))}, writable = false)),
    (name = "pkg", disk = (path = ${path(resolve(ROOT, "pkg"))}, writable = false)),
    (name = "bundles", disk = (path = ${path(bundles)}, writable = false)),${collectAddress ? `
    (name = "collector", external = (address = ${JSON.stringify(collectAddress)}, http = ())),` : ""}
  ],
  sockets = [ (name = "http", address = "127.0.0.1:${port}", http = (), service = "edge") ],
);

const edge :Workerd.Worker = (
  modules = [
    (name = "worker.js", esModule = embed ${path(resolve(HERE, "worker.js"))}),
    (name = "banner.js", esModule = embed ${path(resolve(HERE, "banner.js"))}),
    (name = "visitor.js", esModule = embed ${path(resolve(HERE, "visitor.js"))}),
    (name = "opmaat", esModule = embed ${path(resolve(ROOT, "pkg/workerd.js"))}),
    (name = "opmaat.js", esModule = embed ${path(resolve(ROOT, "pkg/opmaat.js"))}),
    (name = "recover.js", esModule = embed ${path(resolve(ROOT, "pkg/recover.js"))}),
    (name = "opmaat_bg.wasm", wasm = embed ${path(resolve(ROOT, "pkg/opmaat_bg.wasm"))}),
  ],
  bindings = [
    ${text("COOKIE_KEY", cookieKey, "OPMAAT_COOKIE_KEY")},
    ${text("TRUSTED_KEYS", trustedKeys, "OPMAAT_TRUSTED_KEYS")},
    ${bundle},${overlay}
    (name = "PLACEMENTS", text = ${JSON.stringify(placements)}),
    (name = "INSECURE_COOKIE", text = "${insecureCookie}"),
    (name = "ORIGIN", service = "origin"),${collectAddress ? `
    (name = "COLLECT_URL", text = ${JSON.stringify(collectUrl)}),
    (name = "COLLECTOR", service = "collector"),` : ""}
  ],
  compatibilityDate = "${COMPATIBILITY_DATE}",
);

const origin :Workerd.Worker = (
  modules = [ (name = "origin.js", esModule = embed ${path(resolve(HERE, "origin.js"))}) ],
  bindings = [
    (name = "WWW", service = "www"),
    (name = "PKG", service = "pkg"),
    (name = "BUNDLES", service = "bundles"),
  ],
  compatibilityDate = "${COMPATIBILITY_DATE}",
);
`;
}

if (process.argv[1] === fileURLToPath(import.meta.url)) process.stdout.write(edgeConfig());
