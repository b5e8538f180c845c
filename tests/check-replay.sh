#!/bin/sh
# check-replay.sh: end-to-end checks of `run --access-log` and trace replay:
# a run's own log (TEXT and JSON) replayed reproduces its request mix, the
# bundled replay lessons, located errors and usage errors.
set -eu
: "${SIM_BIN:=./ingress-sim}" "${SIM_SRCDIR:=.}"
tmp=$(mktemp -d "${TMPDIR:-/tmp}/check-replay.XXXXXX")
trap 'rm -rf "$tmp"' EXIT
fail() { echo "FAIL: $*" >&2; exit 1; }

# counts FILE: the deterministic counts of a results.json, one per line:
# totals, responses by status and origin, failures by step and reason,
# requests per route and per cluster (not per pod: LEAST_REQUEST draws).
counts() {
    awk '
    /^  "[^"]+" : / { top = $0; sub(/^  "/, "", top); sub(/".*/, "", top)
                      name = ""; key = ""; next }
    top == "totals" && /^    "(sent|responses|connections|failures)" : / {
        print "totals " $0; next }
    top != "responses" && top != "failures" && top != "routes" &&
        top != "clusters" { next }
    /^    "[^"]+" : \{/ { name = $0; sub(/^    "/, "", name)
                          sub(/" : \{.*/, "", name); next }
    /^      "(status|origin|step|reason)" : / {
        v = $0; sub(/^ *"[a-z]+" : /, "", v); sub(/,$/, "", v)
        key = key v " "; next }
    /^      "count" : / { c = $0; sub(/.*: /, "", c); sub(/,$/, "", c)
                          print top " " name " " key c; key = ""; next }
    ' "$1"
}

# mix FILE: requests per (method path protocol, status, flags, authority,
# gateway port, SNI, route) of a TEXT access log, sorted and counted.
mix() {
    awk -F'"' '{
        split($3, a, " "); split($15, w, " ")
        port = w[3]; sub(/.*:/, "", port)
        route = w[6]; for (i = 7; i in w; i++) route = route " " w[i]
        print $2 "|" a[1] "|" a[2] "|" $12 "|" port "|" w[5] "|" route
    }' "$1" | sort | uniq -c
}

# series FILE: "second sent" pairs of the per-second series.
series() {
    awk '/^      "t" : / { t = $3; sub(/,/, "", t) }
         /^      "sent" : / { s = $3; sub(/,/, "", s); print t, s }' "$1"
}

# Scenario $3 (default the article's) with the trace $1 (format $2) as its
# only traffic.
replay_scenario() {
    awk -v trace="$1" -v fmt="$2" -v src="$SIM_SRCDIR/scenarios/" '
        /^  traffic:/ { print; print "  - name: replay"
                        print "    trace: {file: \"" trace "\", format: " fmt "}"
                        skip = 1; next }
        skip && (/^  [a-z]/ || /^---/) { skip = 0 }
        skip { next }
        { sub(/- article\//, "- " src "article/")
          sub(/\.\.\/article\//, src "article/"); print }
    ' "${3:-$SIM_SRCDIR/scenarios/article.yaml}"
}

art="$SIM_SRCDIR/scenarios/article.yaml"

# 1. TEXT round trip: the replay sends the same requests, which end the
# same way (routing is deterministic here: exact equality), at the same
# offsets (per second, within 3: arrivals move by the first line's offset
# and the log's millisecond resolution).
"$SIM_BIN" run "$art" --duration 10s --out "$tmp/a" --quiet \
    --access-log "$tmp/a.log" || fail "article run with --access-log: $?"
[ ! -e "$tmp/a.log.tmp" ] || fail "a.log.tmp left behind"
sent=$(sed -n 's/^    "sent" : \([0-9]*\).*/\1/p' "$tmp/a/results.json")
lines=$(wc -l < "$tmp/a.log")
[ "$lines" -eq "$sent" ] || fail "a.log has $lines lines for $sent requests"
grep -q '^\[2024-01-01T00:00:0' "$tmp/a.log" || fail "START_TIME epoch"
replay_scenario "$tmp/a.log" istio-text > "$tmp/replay.yaml"
"$SIM_BIN" run "$tmp/replay.yaml" --out "$tmp/b" --quiet \
    --access-log "$tmp/b.log" || fail "replay run exited $?"
counts "$tmp/a/results.json" > "$tmp/a.counts"
counts "$tmp/b/results.json" > "$tmp/b.counts"
[ "$(grep -c . "$tmp/a.counts")" -ge 8 ] || fail "counts: $(cat "$tmp/a.counts")"
diff "$tmp/a.counts" "$tmp/b.counts" > "$tmp/d" ||
    fail "replay changed the counts: $(cat "$tmp/d")"
mix "$tmp/a.log" > "$tmp/a.mix"
mix "$tmp/b.log" > "$tmp/b.mix"
[ "$(grep -c . "$tmp/a.mix")" -ge 3 ] || fail "mix: $(cat "$tmp/a.mix")"
diff "$tmp/a.mix" "$tmp/b.mix" > "$tmp/d" ||
    fail "replay changed the request mix: $(cat "$tmp/d")"
grep -q '"count" : 0,' "$tmp/b/results.json" || fail "bad lines in own log"
series "$tmp/a/results.json" > "$tmp/a.series"
series "$tmp/b/results.json" > "$tmp/b.series"
[ "$(grep -c . "$tmp/a.series")" -ge 10 ] || fail "no series"
join "$tmp/a.series" "$tmp/b.series" | awk '
    { d = $2 - $3; if (d < 0) d = -d; if (d > 3) bad = bad " t=" $1 ":" $2 "/" $3 }
    END { if (bad != "") { print bad; exit 1 } }' > "$tmp/d" ||
    fail "per-second sent differs by more than 3: $(cat "$tmp/d")"

# 1b. The article as written: port 80 is refused at step 3 (the LB's
# nodePort 30080 is not the Service's). Those lines carry the node's
# address and nodePort, which map back to LB port 80: the replay is
# refused the same way, as often.
aw="$SIM_SRCDIR/scenarios/lessons/article-as-written.yaml"
"$SIM_BIN" run "$aw" --duration 5s --out "$tmp/w" --quiet \
    --access-log "$tmp/w.log" || fail "as-written run: $?"
grep -q ' 0 - - sim_step3_refused "-" ' "$tmp/w.log" ||
    fail "no step-3 refusal in the log: $(head -n 3 "$tmp/w.log")"
replay_scenario "$tmp/w.log" istio-text "$aw" > "$tmp/replay-w.yaml"
"$SIM_BIN" run "$tmp/replay-w.yaml" --out "$tmp/w2" --quiet ||
    fail "as-written replay exited $?"
counts "$tmp/w/results.json" > "$tmp/w.counts"
counts "$tmp/w2/results.json" > "$tmp/w2.counts"
grep -Eq '^failures +3 "refused" [1-9]' "$tmp/w.counts" ||
    fail "as-written counts: $(cat "$tmp/w.counts")"
diff "$tmp/w.counts" "$tmp/w2.counts" > "$tmp/d" ||
    fail "as-written replay changed the counts: $(cat "$tmp/d")"

# 2. JSON round trip, the same counts.
"$SIM_BIN" run "$art" --duration 5s --out "$tmp/c" --quiet \
    --access-log "$tmp/c.json" --access-log-format json ||
    fail "article run with JSON access log: $?"
head -n 1 "$tmp/c.json" | grep -q '^{"start_time":"2024-01-01T00:00:00\.[0-9]*Z","route_name":' ||
    fail "JSON line: $(head -n 1 "$tmp/c.json")"
replay_scenario "$tmp/c.json" istio-json > "$tmp/replay-json.yaml"
"$SIM_BIN" run "$tmp/replay-json.yaml" --out "$tmp/d2" --quiet ||
    fail "JSON replay run exited $?"
counts "$tmp/c/results.json" > "$tmp/c.counts"
counts "$tmp/d2/results.json" > "$tmp/d2.counts"
diff "$tmp/c.counts" "$tmp/d2.counts" > "$tmp/d" ||
    fail "JSON replay changed the counts: $(cat "$tmp/d")"

# 3. The bundled lessons.
les="$SIM_SRCDIR/scenarios/lessons"
"$SIM_BIN" run "$les/replay-article.yaml" --out "$tmp/l1" > "$tmp/l1.txt" ||
    fail "replay-article exited $?"
grep -q '^sent 250: 228 responses, 22 connections, 0 failures$' "$tmp/l1.txt" ||
    fail "replay-article: $(head -n 2 "$tmp/l1.txt")"
"$SIM_BIN" run "$les/replay-istio-json.yaml" --out "$tmp/l2" > "$tmp/l2.txt" ||
    fail "replay-istio-json exited $?"
grep -q '^sent 12: 10 responses, 2 connections, 0 failures$' "$tmp/l2.txt" ||
    fail "replay-istio-json: $(head -n 2 "$tmp/l2.txt")"
grep -q '^trace lines skipped: 2$' "$tmp/l2.txt" || fail "json: skipped lines"
grep -q 'gateway-json.log:7"' "$tmp/l2/results.json" || fail "json: line 7"
grep -q 'gateway-json.log:10"' "$tmp/l2/results.json" || fail "json: line 10"
"$SIM_BIN" run "$les/replay-csv.yaml" --out "$tmp/l3" > "$tmp/l3.txt" ||
    fail "replay-csv exited $?"
grep -q '^sent 8: 6 responses, 1 connections, 1 failures$' "$tmp/l3.txt" ||
    fail "replay-csv: $(head -n 2 "$tmp/l3.txt")"
grep -Eq '^  step 2 refused +1$' "$tmp/l3.txt" || fail "csv: port 8080"
grep -q 'requests.csv:8"' "$tmp/l3/results.json" || fail "csv: line 8"

# 4. A missing trace: located error at trace.file, exit 1, nothing written.
printf 'apiVersion: ingress-sim/v1\nkind: Scenario\nspec:\n  traffic:\n  - trace: {file: nope.log}\n' \
    > "$tmp/missing.yaml"
set +e
"$SIM_BIN" run "$tmp/missing.yaml" --out "$tmp/m" --access-log "$tmp/m.log" \
    2> "$tmp/m.err"
rc=$?
set -e
[ "$rc" -eq 1 ] || fail "missing trace exited $rc, not 1"
grep -q "missing.yaml:5:19: error: cannot open trace '.*nope.log'" "$tmp/m.err" ||
    fail "no located error: $(cat "$tmp/m.err")"
[ ! -e "$tmp/m" ] && [ ! -e "$tmp/m.log" ] && [ ! -e "$tmp/m.log.tmp" ] ||
    fail "a failed run left files behind"

# 5. Usage and I/O errors of the options.
set +e
"$SIM_BIN" run "$art" --access-log "$tmp/x.log" --access-log-format xml \
    --out "$tmp/x" 2> "$tmp/x.err"
rc=$?
"$SIM_BIN" run "$art" --duration 1s --access-log "$tmp/no/such/dir/x.log" \
    --out "$tmp/y" 2> "$tmp/y.err"
rc2=$?
set -e
[ "$rc" -eq 2 ] || fail "--access-log-format xml exited $rc, not 2"
grep -q "access-log-format" "$tmp/x.err" || fail "$(cat "$tmp/x.err")"
[ "$rc2" -eq 1 ] || fail "unwritable --access-log exited $rc2, not 1"
grep -q "cannot create access log" "$tmp/y.err" || fail "$(cat "$tmp/y.err")"
echo "check-replay: all passed"
