#!/bin/sh
# bench-replay.sh: peak memory of `run` replaying a generated Istio TEXT log
# of 100k lines and of 1M lines (same rate), to show it stays flat.
# A benchmark (prints figures), not a test. Usage, from a build tree:
#   SIM_BIN=./ingress-sim SIM_SRCDIR=. sh bench/bench-replay.sh [RATE]
# RATE: lines per second of trace time (default 1000).
set -eu
: "${SIM_BIN:=./ingress-sim}" "${SIM_SRCDIR:=.}"
rate=${1:-1000}
tmp=$(mktemp -d "${TMPDIR:-/tmp}/bench-replay.XXXXXX")
trap 'rm -rf "$tmp"' EXIT
[ -x /usr/bin/time ] || { echo "needs /usr/bin/time (GNU time)" >&2; exit 1; }

# gen N: N lines, one every 1/RATE s, alternating http and https to the
# load balancer's own address (ACCESS_LOG_LB_ADDRESS), 100 paths.
gen() {
    awk -v n="$1" -v rate="$rate" 'BEGIN {
        for (i = 0; i < n; i++) {
            ms = int(i * 1000 / rate); s = int(ms / 1000)
            https = i % 2
            printf "[2024-01-01T%02d:%02d:%02d.%03dZ] \"GET /item/%d HTTP/1.1\" " \
                "200 - via_upstream - \"-\" 0 0 5 4 \"-\" \"bench\" \"-\" " \
                "\"counter.example.com\" \"-\" - - 203.0.113.1:%d " \
                "198.51.100.%d:40000 %s -\n",
                int(s / 3600), int(s / 60) % 60, s % 60, ms % 1000, i % 100,
                https ? 443 : 80, 1 + i % 250,
                https ? "counter.example.com" : "-"
        }
    }'
}

# scenario TRAFFIC [SPEC]: the article's manifests, a fast app, TRAFFIC
# entries, SPEC lines.
scenario() {
    cat <<EOF
apiVersion: ingress-sim/v1
kind: Scenario
metadata: {name: bench-replay}
spec:
${2:-}
  include: [$SIM_SRCDIR/scenarios/article/manifests.yaml,
            $SIM_SRCDIR/scenarios/article/gateway-service.yaml]
  loadBalancer:
    listeners:
    - {port: 80, nodePort: 30080}
    - {port: 443, nodePort: 30443}
  workloads:
    default/counter: {serviceTime: 1ms, concurrency: 16}
  traffic:
$1
EOF
}

# The baseline is the same run driven by a constant generator instead of
# the trace: what the rest costs (results keep a per-second series, which
# grows with simulated time) without the reader.
printf '%-9s %9s %11s %8s %13s %13s\n' lines "trace MB" "trace time" \
    "wall s" "peak RSS KB" "baseline KB"
for n in 100000 1000000; do
    secs=$((n / rate))
    gen "$n" > "$tmp/t$n.log"
    scenario "  - {name: replay, trace: {file: $tmp/t$n.log, format: istio-text}}" \
        > "$tmp/s$n.yaml"
    /usr/bin/time -f "%M %e" -o "$tmp/time$n" \
        "$SIM_BIN" run "$tmp/s$n.yaml" --out "$tmp/o$n" --quiet
    read -r rss wall < "$tmp/time$n"
    scenario "  - {name: gen, arrival: {constant: {rate: $rate/s}}, requests: [{url: 'http://counter.example.com/'}, {url: 'https://counter.example.com/'}]}" \
        "  duration: ${secs}s" > "$tmp/g$n.yaml"
    /usr/bin/time -f "%M" -o "$tmp/gtime$n" "$SIM_BIN" run "$tmp/g$n.yaml" \
        --out "$tmp/p$n" --quiet
    gsent=$(sed -n 's/^    "sent" : \([0-9]*\).*/\1/p' "$tmp/p$n/results.json")
    [ "$gsent" -eq "$n" ] || echo "warning: baseline sent $gsent of $n" >&2
    read -r base < "$tmp/gtime$n"
    mb=$(($(wc -c < "$tmp/t$n.log") / 1048576))
    sent=$(sed -n 's/^    "sent" : \([0-9]*\).*/\1/p' "$tmp/o$n/results.json")
    [ "$sent" -eq "$n" ] || echo "warning: sent $sent of $n" >&2
    printf '%-9s %9s %10ss %8s %13s %13s\n' "$n" "$mb" "$secs" "$wall" \
        "$rss" "$base"
    rm -f "$tmp/t$n.log"
done
