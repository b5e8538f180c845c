#!/bin/sh
# bench.sh: the performance figures of issue 7 (run by `make bench`):
# end-to-end simulated requests/s and events/s for the article scenario at
# 1M and 10M requests, generated and replayed from its own access log; peak
# RSS; the event queue's hold operations/s; route lookups/s. Medians of
# BENCH_RUNS runs (default 3). Figures only: machines here are shared.
set -eu
: "${SIM_BIN:=./ingress-sim}" "${SIM_SRCDIR:=.}" "${SIM_BENCH_BIN:=./bench}"
: "${BENCH_RUNS:=3}" "${BENCH_SIZES:=1000000 10000000}"
work=$(mktemp -d "${TMPDIR:-/tmp}/ingress-bench.XXXXXX")
trap 'rm -rf "$work"' EXIT
if nm "$SIM_BIN" 2>/dev/null | grep -q __asan_init; then
    echo "warning: $SIM_BIN is a sanitizer build; figures mean little" >&2
fi
case "${SIM_BUILD_FLAGS:-}" in
*-flto*) ;;
*) echo "note: built without --enable-lto; the published figures use it" >&2 ;;
esac

median() { sort -n | awk '{a[NR]=$1} END {print a[int((NR+1)/2)]}'; }
spread() { sort -n | awk 'NR==1{lo=$1} {hi=$1} END {printf "%s..%s", lo, hi}'; }

# The article at a rate that sends $1 requests in 50 simulated seconds, 9:1
# HTTP/HTTPS as written plus 10% MySQL connections; app capacity raised so
# the run measures the simulator, not an overloaded counter.
scenario() {
    rate=$(( $1 / 50 ))
    sed -e "s|rate: 200/s|rate: $(( rate * 9 / 10 ))/s|" \
        -e "s|rate: 20/s|rate: $(( rate / 10 ))/s|" \
        -e 's|duration: 60s|duration: 50s|' \
        -e 's|concurrency: 4$|concurrency: 4096|' \
        -e 's|queueLimit: 100$|queueLimit: 10000000|' \
        -e 's|concurrency: 50$|concurrency: 4096|' \
        -e "s|- article/|- $SIM_SRCDIR/scenarios/article/|" \
        "$SIM_SRCDIR/scenarios/article.yaml"
}

# The same scenario (nodes, latencies, capacities, seed) with its traffic
# replaced by the access log $2 of a run of it, replayed to its last line.
replay_scenario() {
    awk -v trace="$2" '
        /^  duration:/ { next }
        /^  traffic:/ {
            print "  traffic:"
            print "  - {name: replay, trace: {file: " trace ", format: istio-text}}"
            skip = 1
            next
        }
        skip && /^  [a-z]/ { skip = 0 }
        !skip { print }' "$1"
}

# run FILE: prints "seconds rss_kb events requests cpu_seconds" (CPU:
# user + system, the time the process had a core; on a shared machine the
# wall time also counts the minutes its neighbours took)
run_once() {
    if [ -x /usr/bin/time ]; then
        /usr/bin/time -f "%e %M %U %S" -o "$work/time" "$SIM_BIN" run "$@" \
            --out "$work/out" > "$work/sum"
        read -r secs rss user sys < "$work/time"
        cpu=$(awk -v u="$user" -v s="$sys" 'BEGIN { print u + s }')
    else
        start=$(date +%s.%N)
        "$SIM_BIN" run "$@" --out "$work/out" > "$work/sum"
        secs=$(awk -v a="$start" -v b="$(date +%s.%N)" 'BEGIN { print b - a }')
        rss=0
        cpu=$secs
    fi
    events=$(sed -n 's/^engine: \([0-9]*\) events.*/\1/p' "$work/sum")
    sent=$(sed -n 's/^balance: sent \([0-9]*\) .*/\1/p' "$work/sum")
    echo "$secs $rss $events $sent $cpu"
}

report() { # report LABEL FILE-OF-RUNS
    awk '{printf "%.0f %.0f %s %.0f\n", $4 / $1, $3 / $1, $2, $4 / $5}' \
        "$2" > "$2.rates"
    rps=$(cut -d' ' -f1 "$2.rates" | median)
    eps=$(cut -d' ' -f2 "$2.rates" | median)
    rss=$(cut -d' ' -f3 "$2.rates" | median)
    cps=$(cut -d' ' -f4 "$2.rates" | median)
    printf '%-34s %10s req/s (%s)  %10s events/s  peak RSS %s MB\n' "$1" \
        "$rps" "$(cut -d' ' -f1 "$2.rates" | spread)" "$eps" \
        "$(( rss / 1024 ))"
    printf '%-34s %10s req/s of CPU time (%s)\n' "" "$cps" \
        "$(cut -d' ' -f4 "$2.rates" | spread)"
}

echo "ingress-sim $("$SIM_BIN" --version | cut -d' ' -f2), $(nproc) cores, $BENCH_RUNS runs each, median (min..max)"
echo "built with: ${SIM_BUILD_FLAGS:-(unknown flags)}"
for n in $BENCH_SIZES; do
    scenario "$n" > "$work/s.yaml"
    : > "$work/gen"
    for _ in $(seq "$BENCH_RUNS"); do run_once "$work/s.yaml" >> "$work/gen"; done
    report "generated, $n requests" "$work/gen"
    # The same traffic replayed from the access log of one run.
    "$SIM_BIN" run "$work/s.yaml" --quiet --out "$work/out" \
        --access-log "$work/access.log" >/dev/null
    replay_scenario "$work/s.yaml" "$work/access.log" > "$work/r.yaml"
    : > "$work/rep"
    for _ in $(seq "$BENCH_RUNS"); do run_once "$work/r.yaml" >> "$work/rep"; done
    report "replayed, $n requests" "$work/rep"
    rm -f "$work/access.log"
done
echo "event queue (bench-queue):"
"$SIM_BENCH_BIN/bench-queue" | sed 's/^/  /'
echo "gateway route lookups (bench-router):"
"$SIM_BENCH_BIN/bench-router" | sed 's/^/  /'
