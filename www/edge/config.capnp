# The edge worker in front of a static origin, on 127.0.0.1:8787. Written by config.mjs.
using Workerd = import "/workerd/workerd.capnp";

const config :Workerd.Config = (
  services = [
    (name = "edge", worker = .edge),
    (name = "origin", worker = .origin),
    (name = "www", disk = (path = "..", writable = false)),
    (name = "pkg", disk = (path = "../../pkg", writable = false)),
    (name = "bundles", disk = (path = "../../target/demo", writable = false)),
    (name = "collector", external = (address = "127.0.0.1:8080", http = ())),
  ],
  sockets = [ (name = "http", address = "127.0.0.1:8787", http = (), service = "edge") ],
);

const edge :Workerd.Worker = (
  modules = [
    (name = "worker.js", esModule = embed "worker.js"),
    (name = "banner.js", esModule = embed "banner.js"),
    (name = "visitor.js", esModule = embed "visitor.js"),
    (name = "opmaat", esModule = embed "../../pkg/workerd.js"),
    (name = "opmaat.js", esModule = embed "../../pkg/opmaat.js"),
    (name = "recover.js", esModule = embed "../../pkg/recover.js"),
    (name = "opmaat_bg.wasm", wasm = embed "../../pkg/opmaat_bg.wasm"),
  ],
  bindings = [
    (name = "COOKIE_KEY", fromEnvironment = "OPMAAT_COOKIE_KEY"),
    (name = "TRUSTED_KEYS", fromEnvironment = "OPMAAT_TRUSTED_KEYS"),
    (name = "BUNDLE_URL", text = "/bundles/bank-nl-web.opb"),
    (name = "BUNDLE_REVALIDATE_SECONDS", text = "60"),
    (name = "OVERLAY_URL", text = "/bundles/bank-nl-web.opa"),
    (name = "OVERLAY_REVALIDATE_SECONDS", text = "15"),
    (name = "PLACEMENTS", text = "homepage"),
    (name = "INSECURE_COOKIE", text = "true"),
    (name = "ORIGIN", service = "origin"),
    (name = "COLLECT_URL", text = "/collect"),
    (name = "COLLECTOR", service = "collector"),
  ],
  compatibilityDate = "2026-11-01",
);

const origin :Workerd.Worker = (
  modules = [ (name = "origin.js", esModule = embed "origin.js") ],
  bindings = [
    (name = "WWW", service = "www"),
    (name = "PKG", service = "pkg"),
    (name = "BUNDLES", service = "bundles"),
  ],
  compatibilityDate = "2026-11-01",
);
