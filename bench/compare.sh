#!/bin/sh
# compare.sh: two builds of ingress-sim on one scenario, run at the same
# time (one on each core), N times; prints each pair's CPU times and their
# ratio B/A, then the median ratio. On a shared machine runs at the same
# time share their neighbours' load second by second, where alternating
# runs only share the minute (docs/performance.md, "Concurrent runs").
# Usage: bench/compare.sh A/ingress-sim B/ingress-sim SCENARIO.yaml [N]
set -eu
if [ $# -lt 3 ]; then
    echo "usage: $0 A/ingress-sim B/ingress-sim SCENARIO.yaml [N (default 6)]" >&2
    exit 2
fi
a=$1 b=$2 scenario=$3 n=${4:-6}
for bin in "$a" "$b"; do
    if [ ! -x "$bin" ]; then
        echo "$0: $bin: not an executable" >&2
        exit 1
    fi
done
work=$(mktemp -d "${TMPDIR:-/tmp}/ingress-compare.XXXXXX")
trap 'rm -rf "$work"' EXIT
echo "cpu_a cpu_b ratio_b_a"
i=0
while [ "$i" -lt "$n" ]; do
    i=$((i + 1))
    # Each build starts first every other pair: the one started second
    # came out ~2% ahead when both were the same build.
    if [ $((i % 2)) -eq 1 ]; then order="a b"; else order="b a"; fi
    for which in $order; do
        if [ "$which" = a ]; then bin=$a; else bin=$b; fi
        /usr/bin/time -f "%U %S" -o "$work/$which.t" "$bin" run "$scenario" \
            --out "$work/o$which" --quiet >/dev/null &
    done
    wait
    awk 'NR == FNR { a = $1 + $2; next }
         { b = $1 + $2; printf "%.2f %.2f %.3f\n", a, b, b / a }' \
        "$work/a.t" "$work/b.t"
done | tee "$work/pairs"
sort -k3 -n "$work/pairs" | awk '{ r[NR] = $3 }
    END { printf "median ratio B/A %.3f over %d pairs\n",
                 (r[int((NR + 1) / 2)] + r[int(NR / 2) + 1]) / 2, NR }'
