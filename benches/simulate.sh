#!/usr/bin/env bash
# `opmaat simulate` at scale, on the sample catalogue: 1,000,000 synthetic customers for 1 day and
# 100,000 for 30 days (populations from `opmaat synth --people`, as Parquet). Prints time, peak RSS
# and decisions per second of every run; figures are reported, never asserted.
#
#   benches/simulate.sh
#   OPMAAT_SIMULATE_RUNS="200000:1" benches/simulate.sh     # customers:days, space-separated
set -euo pipefail
cd "$(dirname "$0")/.."

RUNS=${OPMAAT_SIMULATE_RUNS:-"1000000:1 100000:30"}
DIR=target/bench-simulate
CLI=target/cli/opmaat

cargo build --profile cli --features warehouse,simulate --bin opmaat
mkdir -p "$DIR"

for run in $RUNS; do
  customers=${run%%:*}
  days=${run##*:}
  population="$DIR/people-$customers.parquet"
  [ -f "$population" ] || "$CLI" synth --people "$customers" --people-out "$population"
  /usr/bin/time -f "%e %M" -o "$DIR/time" "$CLI" simulate --catalogue www/catalogue.json --population "$population" \
    --days "$days" --start 2026-12-01T00:00:00Z --out "$DIR/report-$customers-$days.html" --json > "$DIR/report-$customers-$days.json" 2> "$DIR/stderr"
  read -r seconds kilobytes < "$DIR/time"
  node -e '
    const [file, customers, days, seconds, kilobytes] = process.argv.slice(1);
    const r = JSON.parse(require("fs").readFileSync(file, "utf8"));
    const decisions = r.decisions.total + r.customerCentric.decisions;
    console.log(`simulate ${customers} customers x ${days} days: ${(+seconds).toFixed(1)} s, ${Math.round(kilobytes / 1024)} MB peak RSS, ` +
      `${decisions} decisions (the catalogue and its bankValueWeight 0 run), ${Math.round(decisions / seconds)} decisions/s`);
  ' "$DIR/report-$customers-$days.json" "$customers" "$days" "$seconds" "$kilobytes"
  tail -n 1 "$DIR/stderr"
done
