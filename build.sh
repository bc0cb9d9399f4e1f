#!/usr/bin/env bash
# opmaat's one entry point. Read top to bottom: set-up, build, test fixtures, the commands.
#
#   ./build.sh setup   install what is missing (Rust target, wasm-bindgen CLI, npm tools, Chromium)
#   ./build.sh build   build the Wasm package into pkg/ and the native CLI; print the .wasm size
#   ./build.sh test    setup + build + every test suite
#   ./build.sh demo    setup + build + sign the sample catalogue + serve www/ on 127.0.0.1, and
#                      the edge worker in workerd in front of it
#   ./build.sh bench   setup + the benchmarks (reported, never asserted)
#   ./build.sh fuzz [SECONDS]   every fuzz target for SECONDS each (default 600), corpora kept
set -euo pipefail
cd "$(dirname "$0")"

# Must equal the exact `wasm-bindgen` pin in Cargo.toml: the CLI and the crate speak one protocol.
WASM_BINDGEN_VERSION=0.2.130
WASM_TARGET=wasm32-unknown-unknown
WASM_OUT=target/$WASM_TARGET/release/opmaat.wasm
CLI=target/debug/opmaat
FIXTURES=target/test-fixtures
DEMO_PORT=${OPMAAT_DEMO_PORT:-8080}
EDGE_PORT=8787 # the port www/edge/config.capnp listens on

# The gzipped .wasm may not grow past this (bytes): what the engine reached (240,524 with the
# tokens that carry the decision's facts and the holdout group's withheld exposures) plus 1%. A
# size is deterministic, so `./build.sh build` fails the moment a change makes the download
# bigger; lower it whenever the engine shrinks.
WASM_GZIP_BUDGET=242929

FUZZ_TARGETS="bundle_decode overlay catalogue_compile profile context ledger rfc3339 condition_ir regex_js measurement population"
FUZZ_TEST_SECONDS=${OPMAAT_FUZZ_TEST_SECONDS:-10} # each target's run inside ./build.sh test

say() { printf '\n\033[1m== %s\033[0m\n' "$*"; }

# ---------------------------------------------------------------------------------------------
setup() {
  say "setup"
  if ! rustup target list --installed | grep -qx "$WASM_TARGET"; then
    rustup target add "$WASM_TARGET"
  fi
  if [ "$(wasm-bindgen --version 2>/dev/null || true)" != "wasm-bindgen $WASM_BINDGEN_VERSION" ]; then
    # Not --locked: the CLI's own lock file names a transitive crate version the registry no
    # longer serves; the crate versions that matter to us are pinned by the version above.
    cargo install wasm-bindgen-cli --version "$WASM_BINDGEN_VERSION"
  fi
  if [ ! -f node_modules/.package-lock.json ] || [ package-lock.json -nt node_modules/.package-lock.json ]; then
    npm ci --no-audit --no-fund
  fi
  if ! command -v chromium >/dev/null || ! command -v chromedriver >/dev/null; then
    if [ "$(id -u)" = 0 ]; then
      apt-get update
      DEBIAN_FRONTEND=noninteractive apt-get install -y chromium chromium-driver
    else
      echo "Chromium is missing. Install Debian's packages as root: apt-get install chromium chromium-driver" >&2
      exit 1
    fi
  fi
}

# The fuzzers: cargo-fuzz (libFuzzer) needs a nightly toolchain; installed only when missing.
fuzz_setup() {
  if ! rustup toolchain list | grep -q '^nightly'; then
    rustup toolchain install nightly --profile minimal
  fi
  if ! command -v cargo-fuzz >/dev/null; then
    cargo install cargo-fuzz --locked
  fi
}

# ---------------------------------------------------------------------------------------------
build() {
  say "build: Wasm package"
  cargo build --lib --release --target "$WASM_TARGET"
  rm -rf target/wasm-bindgen pkg
  # The reset-state function lets the host entries start a fresh instance after a trap.
  wasm-bindgen "$WASM_OUT" --target web --experimental-reset-state-function --out-dir target/wasm-bindgen
  cp -r pkg-template pkg
  cp target/wasm-bindgen/opmaat.js target/wasm-bindgen/opmaat.d.ts target/wasm-bindgen/opmaat_bg.wasm.d.ts pkg/
  # The public declarations (engine.d.ts): the bindings' own, without their instantiation API
  # (the entries have `init`; InitOutput is all `any`s and InitInput needs the DOM's types) and
  # without `[Symbol.dispose]` (it needs lib esnext.disposable): they compile under the default lib
  # of a browser project and of a Node project alike.
  awk '/^export type InitInput/ {exit} !/\[Symbol\.dispose\]\(\): void;/' target/wasm-bindgen/opmaat.d.ts > pkg/engine.d.ts
  node_modules/.bin/wasm-opt -Os --enable-bulk-memory --enable-nontrapping-float-to-int \
    target/wasm-bindgen/opmaat_bg.wasm -o pkg/opmaat_bg.wasm
  sample_bundle
  # For app webviews loaded from file://, where module scripts are refused: the webview entry as
  # one classic script (window.opmaat), and the Wasm as base64 in another (window.opmaatWasm).
  node_modules/.bin/esbuild pkg/webview.js --bundle --format=iife --global-name=opmaat --target=es2020 \
    --log-override:empty-import-meta=silent --log-level=warning --outfile=pkg/webview.global.js
  node -e 'const fs=require("fs");fs.writeFileSync(process.argv[2],"// The opmaat engine (opmaat_bg.wasm) as base64, for webviews that cannot fetch it.\nglobalThis.opmaatWasm = \""+fs.readFileSync(process.argv[1]).toString("base64")+"\";\n")' \
    pkg/opmaat_bg.wasm pkg/opmaat_bg.wasm.js
  local raw gz br
  raw=$(stat -c %s pkg/opmaat_bg.wasm)
  gz=$(gzip -9 -c pkg/opmaat_bg.wasm | wc -c)
  br=$(node -e 'const z=require("zlib");process.stdout.write(String(z.brotliCompressSync(require("fs").readFileSync(process.argv[1]),{params:{[z.constants.BROTLI_PARAM_QUALITY]:11}}).length))' pkg/opmaat_bg.wasm)
  echo "pkg/opmaat_bg.wasm: $raw bytes raw, $gz bytes gzipped, $br bytes brotli (budget: $WASM_GZIP_BUDGET gzipped)"
  if [ "$gz" -gt "$WASM_GZIP_BUDGET" ]; then
    echo "pkg/opmaat_bg.wasm grew past its budget: $gz bytes gzipped, at most $WASM_GZIP_BUDGET (WASM_GZIP_BUDGET in build.sh)" >&2
    exit 1
  fi

  # The same package with Engine.__trapForTests() (feature test-trap), for tests/node/recovery;
  # in a target dir of its own, so that the release .wasm above never carries the trap.
  say "build: test-trap variant of the Wasm package (target/pkg-trap, never pkg/)"
  cargo build --lib --release --target "$WASM_TARGET" --features test-trap --target-dir target/trap
  rm -rf target/pkg-trap
  wasm-bindgen "target/trap/$WASM_TARGET/release/opmaat.wasm" --target web --experimental-reset-state-function \
    --out-dir target/pkg-trap
  cp -r pkg-template/. target/pkg-trap/

  say "build: native CLI"
  cargo build --features cli --bin opmaat
}

# The package's sample (opmaat/sample): the sample catalogue signed with a DEVELOPMENT key made
# here and kept in target/sample/ (never in the package, never committed), with that key's public
# half, so that a first decision needs nothing but the package. Needs the native CLI: built first.
sample_bundle() {
  cargo build --features cli --bin opmaat
  mkdir -p target/sample pkg/sample
  if [ ! -f target/sample/development-only.key ]; then
    "$CLI" keygen --out target/sample/development-only.key > target/sample/development-only.keygen 2>/dev/null
  fi
  "$CLI" build www/catalogue.json --key target/sample/development-only.key --out pkg/sample/bank-nl-web.opb \
    --issued-at 2026-11-23T12:00:00Z > /dev/null
  node -e '
    const fs = require("fs");
    const [keygen, persona, out] = process.argv.slice(1);
    const text = fs.readFileSync(keygen, "utf8");
    const id = text.match(/^key id:\s+(\S+)/m)[1], key = text.match(/^public key:\s+(\S+)/m)[1];
    const profile = JSON.parse(fs.readFileSync(persona, "utf8")).profile;
    fs.writeFileSync(out, `// A SAMPLE bundle, signed with a DEVELOPMENT key made for this build of the package: for a
// first decision, in tests and demos. Never trust this key in production: sign your own bundles
// (opmaat keygen, opmaat build) and trust their keys.
export const sampleBundleUrl = new URL("./bank-nl-web.opb", import.meta.url);
/** The development key the sample is signed with (key id → base64 public key). */
export const sampleTrustedKeys = ${JSON.stringify({ [id]: key })};
/** A pseudonymous profile snapshot of the sample catalogue (the student persona). */
export const sampleSnapshot = ${JSON.stringify(profile)};
/** A moment inside the sample bundle'"'"'s validity window. */
export const sampleNow = "2026-12-05T09:30:00Z";
/** The sample bundle'"'"'s bytes: fetched in a browser, read from the package elsewhere (Node, Deno, Bun). */
export async function sampleBundle() {
  if (typeof document === "undefined" && typeof process === "object" && process.versions?.node) {
    const fs = "node:fs/promises";
    return new Uint8Array(await (await import(/* webpackIgnore: true */ /* @vite-ignore */ fs)).readFile(sampleBundleUrl));
  }
  return new Uint8Array(await (await fetch(sampleBundleUrl)).arrayBuffer());
}
`);
  ' target/sample/development-only.keygen tests/personas/student.json pkg/sample/index.js
  cp pkg-template/sample.d.ts pkg/sample/index.d.ts
}

# ---------------------------------------------------------------------------------------------
# Two fresh signing keys and the sample catalogue signed with each, made by the native CLI in
# this very run; the Wasm and Node suites load these.
fixtures() {
  say "test fixtures"
  rm -rf "$FIXTURES"
  mkdir -p "$FIXTURES"
  local name id public
  printf '{' > "$FIXTURES/keys.json"
  for name in a b; do
    "$CLI" keygen --out "$FIXTURES/$name.key" > "$FIXTURES/$name.keygen" 2>/dev/null
    id=$(awk '/^key id:/ {print $3}' "$FIXTURES/$name.keygen")
    public=$(awk '/^public key:/ {print $3}' "$FIXTURES/$name.keygen")
    "$CLI" build www/catalogue.json --key "$FIXTURES/$name.key" --out "$FIXTURES/sample-$name.opb" \
      --issued-at 2026-11-23T12:00:00Z
    [ "$name" = a ] || printf ',' >> "$FIXTURES/keys.json"
    printf '"%s":{"keyId":"%s","publicKey":"%s"}' "$name" "$id" "$public" >> "$FIXTURES/keys.json"
  done
  printf '}\n' >> "$FIXTURES/keys.json"
  # Availability overlays for the sample bundle, signed with key a, valid a day from the tests' `now`.
  printf '{"bundle": "bank-nl-web", "sequence": 2, "propositions": {"rijksmuseum": {"soldOut": true}}}' > "$FIXTURES/sold-out.json"
  printf '{"bundle": "bank-nl-web", "sequence": 3, "propositions": {"rijksmuseum": {"remaining": 40, "paused": "wrong discount in the text"}}}' > "$FIXTURES/paused.json"
  for name in sold-out paused; do
    "$CLI" overlay build "$FIXTURES/$name.json" --key "$FIXTURES/a.key" --out "$FIXTURES/$name-a.opa" \
      --issued-at 2026-12-05T09:00:00Z --ttl-minutes 1440 > /dev/null
  done
}

# ---------------------------------------------------------------------------------------------
run_tests() {
  say "test: clippy (no panics reachable from input: see the lints denied in src/lib.rs)"
  cargo clippy --features warehouse,simulate --lib --bins
  cargo clippy --target "$WASM_TARGET" --lib

  say "test: native (unit, integration, doc), with learn on DataFusion (warehouse) and simulate"
  cargo test --features warehouse,simulate
  # The CLI the browser suite's simulation report comes from (the same build as the tests').
  cargo build --features warehouse,simulate --bin opmaat
  say "test: GrowthBook conformance, native (every case by name)"
  cargo test --features compiler --test conformance -- --nocapture

  say "test: Wasm in Node"
  cargo test --target "$WASM_TARGET" --test wasm
  cargo test --target "$WASM_TARGET" --features compiler --test conformance -- --nocapture

  say "test: Wasm in headless Chromium"
  CHROMEDRIVER=/usr/bin/chromedriver WASM_BINDGEN_USE_BROWSER=1 \
    cargo test --target "$WASM_TARGET" --test wasm
  CHROMEDRIVER=/usr/bin/chromedriver WASM_BINDGEN_USE_BROWSER=1 \
    cargo test --target "$WASM_TARGET" --features compiler --test conformance -- --nocapture

  say "test: the npm package's TypeScript declarations (tsc --noEmit: a browser project and a Node project)"
  node_modules/.bin/tsc -p tests/types/tsconfig.json
  node_modules/.bin/tsc -p tests/types/node/tsconfig.json

  say "test: the npm package in Node"
  node --test tests/node/

  say "test: the npm package in headless Chromium"
  node --test tests/browser/

  say "test: the edge worker in workerd (including a ${OPMAAT_EDGE_LOAD_SECONDS:-30} s load run on loopback)"
  node --test tests/edge/
}

# ---------------------------------------------------------------------------------------------
# Each fuzz target for $1 seconds, from seeds made of the test data plus whatever earlier runs
# found (fuzz/corpus/, not committed). Every input in fuzz/regressions/<target>/ (committed:
# each once crashed a target) runs first; a crash there or a new one fails the run, and the
# input that crashed lands in fuzz/artifacts/<target>/ for it to become a regression.
run_fuzzers() {
  local seconds=$1 target
  say "fuzz: $FUZZ_TARGETS, ${seconds} s each"
  "$CLI" build www/catalogue.json --key "$FIXTURES/a.key" --out "$FIXTURES/fuzz-seed.opb" \
    --issued-at 2026-11-23T12:00:00Z > /dev/null
  node fuzz/seeds.mjs "$FIXTURES/fuzz-seed.opb" "$FIXTURES/sold-out-a.opa" "$FIXTURES/paused-a.opa"
  (cd fuzz && cargo +nightly fuzz build -O)
  mkdir -p fuzz/artifacts
  for target in $FUZZ_TARGETS; do
    mkdir -p "fuzz/regressions/$target" "fuzz/corpus/$target"
    local log="fuzz/artifacts/$target.log"
    if ! (cd fuzz && cargo +nightly fuzz run -O "$target" "corpus/$target" "regressions/$target" -- \
      -max_total_time="$seconds" -rss_limit_mb=2048 -timeout=10 -print_final_stats=1) > "$log" 2>&1; then
      tail -n 60 "$log"
      echo "fuzz target $target crashed: the input is in fuzz/artifacts/$target/" >&2
      return 1
    fi
    printf '%-18s %s\n' "$target" "$(grep -E '^stat::number_of_executed_units' "$log" | awk '{print $2 " executions"}')"
  done
}

# ---------------------------------------------------------------------------------------------
demo() {
  say "demo"
  mkdir -p target/demo
  if [ ! -f target/demo/dev-signing.key ]; then
    "$CLI" keygen --out target/demo/dev-signing.key > target/demo/dev-signing.keygen
  fi
  "$CLI" build www/catalogue.json --key target/demo/dev-signing.key --out target/demo/bank-nl-web.opb
  awk '/^key id:/ {id=$3} /^public key:/ {pk=$3} END {printf "{\"%s\":\"%s\"}\n", id, pk}' \
    target/demo/dev-signing.keygen > target/demo/trusted-keys.json
  # The app demo (www/app/): the bank's development profile key and the app's customer (the
  # pensioner persona), signed with it, as the bank's servers would hand them to the app.
  if [ ! -f target/demo/dev-bank.key ]; then
    "$CLI" keygen --out target/demo/dev-bank.key > target/demo/dev-bank.keygen
  fi
  awk '/^key id:/ {id=$3} /^public key:/ {pk=$3} END {printf "{\"%s\":\"%s\"}\n", id, pk}' \
    target/demo/dev-bank.keygen > target/demo/profile-keys.json
  node -e 'process.stdout.write(JSON.stringify(JSON.parse(require("fs").readFileSync("tests/personas/pensioner.json","utf8")).profile))' \
    > target/demo/app-profile.json
  "$CLI" sign-profile target/demo/app-profile.json --key target/demo/dev-bank.key --out target/demo/app-profile.signed.json
  # The edge worker in workerd, in front of the same site: the homepage decided before it leaves
  # the "CDN". Its cookie key is a random development key made here, never a real one.
  if [ ! -f target/demo/dev-cookie-key ]; then
    head -c 33 /dev/urandom | base64 > target/demo/dev-cookie-key
  fi
  (cd www/edge && OPMAAT_COOKIE_KEY="$(cat ../../target/demo/dev-cookie-key)" \
    OPMAAT_TRUSTED_KEYS="$(cat ../../target/demo/trusted-keys.json)" \
    exec ../../node_modules/.bin/workerd serve config.capnp) &
  local edge=$!
  trap 'kill "$edge" 2>/dev/null' EXIT
  echo "opmaat edge (workerd): http://127.0.0.1:$EDGE_PORT/  (the homepage personalised at the edge)"
  node www/serve.mjs --port "$DEMO_PORT"
}

# ---------------------------------------------------------------------------------------------
bench() {
  say "bench: bundle load, native and Wasm in Node"
  build
  fixtures
  cargo test --profile cli --features compiler --lib -- --ignored --nocapture benchmark_load
  node benches/load.mjs

  say "bench: decide, native (release without LTO) and Wasm in Node"
  cargo bench --bench native_decide --features compiler --profile cli
  node benches/decide.mjs

  say "bench: the edge worker in workerd: cold start, requests per second, latency, CPU per request"
  node --test tests/edge/load.test.mjs

  say "bench: conditions, native (release without LTO)"
  cargo test --profile cli --features compiler --lib -- --ignored --nocapture benchmark_thousand_conditions

  say "bench: conditions, Wasm in Node vs GrowthBook's JS SDK"
  cargo build -p opmaat-bench-conditions --release --target "$WASM_TARGET"
  wasm-bindgen "target/$WASM_TARGET/release/opmaat_bench_conditions.wasm" --target web \
    --out-dir target/bench-conditions
  node benches/conditions-wasm/bench.mjs

  say "bench: simulate 1,000,000 customers x 1 day and 100,000 x 30 days"
  benches/simulate.sh

  say "bench: learn over 10 M and 100 M synthetic events, Parquet and JSON Lines (DataFusion, in memory)"
  benches/learn.sh
}

case "${1:-}" in
  setup) setup ;;
  build) setup; build ;;
  test) setup; fuzz_setup; build; fixtures; run_tests; run_fuzzers "$FUZZ_TEST_SECONDS"; say "all suites passed" ;;
  demo) setup; build; demo ;;
  bench) setup; bench ;;
  fuzz) setup; fuzz_setup; build; fixtures; run_fuzzers "${2:-600}" ;;
  *) echo "usage: ./build.sh setup|build|test|demo|bench|fuzz [SECONDS]" >&2; exit 2 ;;
esac
