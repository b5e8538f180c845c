#!/bin/sh
# valgrind.sh: memcheck over the bundled scenarios (run by hand, not in make
# check: minutes, not seconds). Each scenario runs a short `run`; the
# article also `trace`, `config-dump`, `iptables` and `analyze`; and a few
# malformed inputs of tests/bad/ exercise the error paths. A run passes when
# memcheck finds no error and no definite or indirect leak.
#   SIM_BIN=./ingress-sim SIM_SRCDIR=. tests/valgrind.sh [SCENARIO...]
# Use a build without --enable-asan (valgrind and ASan do not mix).
# VALGRIND_DURATION (default 2s) shortens each run.
set -eu
: "${SIM_BIN:=./ingress-sim}" "${SIM_SRCDIR:=.}" "${VALGRIND_DURATION:=2s}"
command -v valgrind > /dev/null || { echo "valgrind is not installed" >&2; exit 77; }
if nm "$SIM_BIN" 2> /dev/null | grep -q __asan_init; then
    echo "valgrind.sh: $SIM_BIN is an ASan build; use a plain one" >&2
    exit 2
fi
tmp=$(mktemp -d "${TMPDIR:-/tmp}/valgrind.XXXXXX")
trap 'rm -rf "$tmp"' EXIT
# GLib: plain malloc (no slices) so memcheck sees every block.
G_SLICE=always-malloc G_DEBUG=gc-friendly
export G_SLICE G_DEBUG
failures=0
runs=0

# vg NAME EXPECTED_STATUS ARGS...: one program run under memcheck.
vg() {
    name=$1 want=$2
    shift 2
    runs=$((runs + 1))
    set +e
    valgrind --tool=memcheck --error-exitcode=99 --leak-check=full \
        --show-leak-kinds=definite,indirect \
        --errors-for-leak-kinds=definite,indirect --track-origins=yes \
        --suppressions="$SIM_SRCDIR/tests/valgrind.supp" \
        --log-file="$tmp/vg.log" "$SIM_BIN" "$@" > /dev/null 2> "$tmp/err"
    rc=$?
    set -e
    summary=$(grep -E 'ERROR SUMMARY' "$tmp/vg.log" | sed 's/^==[0-9]*== //')
    leaks=$(grep -E 'definitely lost:|indirectly lost:' "$tmp/vg.log" |
        sed 's/^==[0-9]*== *//' | tr '\n' ' ')
    if [ "$rc" -eq 99 ] || [ "$rc" -ne "$want" ]; then
        echo "FAIL $name (exit $rc, expected $want): $summary" >&2
        sed -n '1,60p' "$tmp/vg.log" >&2
        head -c 400 "$tmp/err" >&2
        failures=$((failures + 1))
    else
        echo "ok   $name: $summary${leaks:+; $leaks}"
    fi
}

if [ "$#" -gt 0 ]; then
    scenarios="$*"
else
    scenarios=$(find "$SIM_SRCDIR/scenarios" -name '*.yaml' -path '*lessons*' |
        sort)
    scenarios="$SIM_SRCDIR/scenarios/article.yaml $scenarios"
fi
for s in $scenarios; do
    # Lessons may end unbalanced on purpose (exit 1); memcheck is the test.
    set +e
    "$SIM_BIN" run "$s" --duration "$VALGRIND_DURATION" --quiet \
        --out "$tmp/probe" > /dev/null 2>&1
    want=$?
    set -e
    vg "run $(basename "$s")" "$want" run "$s" --duration "$VALGRIND_DURATION" \
        --quiet --out "$tmp/out"
done
art="$SIM_SRCDIR/scenarios/article.yaml"
vg "trace article" 0 trace "$art" https://counter.example.com/ --json
vg "trace article --cacert" 0 trace "$art" https://counter.example.com/ \
    --cacert "$SIM_SRCDIR/scenarios/article/example-ca.crt"
vg "config-dump article" 0 config-dump "$art"
vg "iptables article" 0 iptables "$art" --node worker-1
set +e
"$SIM_BIN" analyze "$art" > /dev/null 2>&1
want=$?
set -e
vg "analyze article" "$want" analyze "$art"
# Error paths: every kind of early exit must free what it built.
for b in yaml-unclosed-flow yaml-billion-laughs k8s-duplicate-gateway \
    include-broken-yaml istio-vs-bad-regex nodes-duplicate-name \
    traffic-trace-missing-file workload-unknown-deployment; do
    f="$SIM_SRCDIR/tests/bad/$b.yaml"
    [ -e "$f" ] && vg "run bad/$b" 1 run "$f" --out "$tmp/bad" --quiet
done
if [ "$failures" -gt 0 ]; then
    echo "valgrind.sh: $failures of $runs runs failed" >&2
    exit 1
fi
echo "valgrind.sh: $runs runs, memcheck clean"
