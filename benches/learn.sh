#!/usr/bin/env bash
# `opmaat learn` at bank scale: synthetic event logs of the sample catalogue (opmaat synth
# --events), then learn over them as Parquet and as JSON Lines, on DataFusion and (where the log
# fits in memory) in memory. Prints time and peak RSS of every run and checks that the learned
# catalogues agree. Figures are reported, never asserted.
#
#   benches/learn.sh                      # 10 M and 100 M events
#   OPMAAT_LEARN_EVENTS="1000000" benches/learn.sh
#
# 100 M events take 26 GB of JSON Lines and 2.2 GB of Parquet in target/bench-learn/, and about
# 10 GB of DataFusion's spills in TMPDIR while learn runs (the logs are removed
# afterwards unless OPMAAT_LEARN_KEEP=1).
set -euo pipefail
cd "$(dirname "$0")/.."

EVENTS=${OPMAAT_LEARN_EVENTS:-"10000000 100000000"}
# The in-memory aggregation holds every event: beyond this many it is not run.
MEMORY_MAX_EVENTS=${OPMAAT_LEARN_MEMORY_MAX:-20000000}
DIR=target/bench-learn
CLI=target/cli/opmaat
NOW=2027-06-07T00:00:00Z
LEARN=("$CLI" learn --catalogue www/catalogue.json --now "$NOW")

cargo build --profile cli --features warehouse --bin opmaat
mkdir -p "$DIR"

# Runs a command, printing its wall time and peak resident memory.
measure() {
  local label=$1
  shift
  /usr/bin/time -f "%e %M" -o "$DIR/time" "$@" > "$DIR/out" 2> "$DIR/err" || { cat "$DIR/err" >&2; exit 1; }
  read -r seconds kb < "$DIR/time"
  printf '%-52s %8.1f s  %7d MB peak RSS\n' "$label" "$seconds" "$((kb / 1024))"
}

for n in $EVENTS; do
  echo "== $n events"
  measure "synth --events (Parquet)" "$CLI" synth --events "$n" --catalogue www/catalogue.json \
    --out "$DIR/events.parquet" --conversions-out "$DIR/conversions.parquet"
  measure "synth --events (JSON Lines)" "$CLI" synth --events "$n" --catalogue www/catalogue.json \
    --out "$DIR/events.jsonl" --conversions-out "$DIR/conversions.jsonl"
  ls -l "$DIR"/events.* | awk '{ printf "  %s: %.0f MB\n", $NF, $5 / 1048576 }'
  measure "learn, DataFusion, Parquet" "${LEARN[@]}" --events "$DIR/events.parquet" \
    --conversions "$DIR/conversions.parquet" --out "$DIR/learned-parquet.json"
  measure "learn, DataFusion, JSON Lines (checked, converted)" "${LEARN[@]}" --events "$DIR/events.jsonl" \
    --conversions "$DIR/conversions.jsonl" --out "$DIR/learned-jsonl.json"
  cmp -s "$DIR/learned-parquet.json" "$DIR/learned-jsonl.json" && echo "  the same catalogue from Parquet and JSON Lines"
  if [ "$n" -le "$MEMORY_MAX_EVENTS" ]; then
    measure "learn, in memory, JSON Lines" "${LEARN[@]}" --engine memory --events "$DIR/events.jsonl" \
      --conversions "$DIR/conversions.jsonl" --out "$DIR/learned-memory.json"
    cmp -s "$DIR/learned-parquet.json" "$DIR/learned-memory.json" && echo "  the same catalogue in memory and on DataFusion"
  else
    echo "  (in memory: not run above $MEMORY_MAX_EVENTS events; it holds every event)"
  fi
  [ "${OPMAAT_LEARN_KEEP:-0}" = 1 ] || rm -f "$DIR"/events.* "$DIR"/conversions.*
done
