#!/bin/sh
# check-bad.sh: every malformed input in tests/bad/ must be refused the way
# DESIGN.md principle 7 says: exit status 1, "FILE:LINE:COLUMN: error: ..."
# on stderr pointing at the culprit, no sanitizer report, nothing written.
#
# Each tests/bad/*.yaml starts with its expectation:
#   # expect: [FILE:]LINE:COL: SUBSTRING
# FILE (relative to tests/bad/) when the culprit is in another file, e.g. an
# included one; else the error is in the file itself. Optional lines
# anywhere (at the end, so line numbers stay put):
#   # args: OPTIONS        extra options for `run`
#   # commands: C...       subcommands to try (default: run); trace gets
#                          a URL, analyze, iptables, config-dump nothing
# Files in tests/bad/inc/ are only reached through includes.
# Then the limits that need big inputs (generated here, not shipped), the
# atomic write of results.json and SIGINT on `run` (exit 130, partial).
set -eu
: "${SIM_BIN:=./ingress-sim}" "${SIM_SRCDIR:=.}"
bad="$SIM_SRCDIR/tests/bad"
tmp=$(mktemp -d "${TMPDIR:-/tmp}/check-bad.XXXXXX")
trap 'rm -rf "$tmp"' EXIT
failures=0
checked=0
fail() {
    echo "FAIL: $*" >&2
    failures=$((failures + 1))
}

# expect_error NAME WHERE SUBSTRING RC ERRFILE OUTDIR: the checks on one
# invocation that exited RC with stderr in ERRFILE.
expect_error() {
    name=$1 where=$2 substr=$3 rc=$4 err=$5 out=$6
    if grep -Eq 'Sanitizer|runtime error:|CRITICAL|WARNING \*\*' "$err"; then
        fail "$name: sanitizer report or GLib warning:"
        sed -n '1,15p' "$err" >&2
        return
    fi
    if [ "$rc" -ne 1 ]; then
        fail "$name: exit status $rc, not 1: $(head -c 600 "$err")"
        return
    fi
    line=$(grep -F -- "$where: error: " "$err" | head -n 1 || true)
    if [ -z "$line" ]; then
        fail "$name: no '$where: error:' in: $(head -c 600 "$err")"
        return
    fi
    case $line in
    *"$substr"*) ;;
    *) fail "$name: '$substr' not in: $line" ;;
    esac
    if [ -n "$out" ] && [ -e "$out" ]; then
        fail "$name: a failed run left $out behind"
    fi
    checked=$((checked + 1))
}

# run_cmd CMD FILE EXTRA...: runs a subcommand, sets rc; stderr in $tmp/err.
run_cmd() {
    cmd=$1 file=$2
    shift 2
    set +e
    case $cmd in
    trace)
        "$SIM_BIN" trace "$file" http://counter.example.com/ "$@" \
            > /dev/null 2> "$tmp/err" ;;
    *)
        "$SIM_BIN" "$cmd" "$file" "$@" > /dev/null 2> "$tmp/err" ;;
    esac
    rc=$?
    set -e
}

n=0
for f in "$bad"/*.yaml; do
    n=$((n + 1))
    base=$(basename "$f")
    exp=$(sed -n '1s/^# expect: //p' "$f")
    if [ -z "$exp" ]; then
        fail "$base: the first line is not '# expect: [FILE:]LINE:COL: TEXT'"
        continue
    fi
    args=$(sed -n 's/^# args: //p' "$f")
    cmds=$(sed -n 's/^# commands: //p' "$f")
    : "${cmds:=run}"
    # [FILE:]LINE:COL: SUBSTRING
    case $exp in
    [0-9]*) where="$f:${exp%%: *}" ;;
    *) where="$bad/${exp%%: *}" ;;
    esac
    substr=${exp#*: }
    for cmd in $cmds; do
        out=
        if [ "$cmd" = run ]; then
            out="$tmp/out-$n"
            # shellcheck disable=SC2086 # args are words by design
            run_cmd run "$f" --out "$out" --quiet $args
        else
            run_cmd "$cmd" "$f"
        fi
        expect_error "$base ($cmd)" "$where" "$substr" "$rc" "$tmp/err" "$out"
    done
done
[ "$n" -ge 60 ] || fail "only $n files in tests/bad (at least 60)"

# ---- limits that need big inputs ------------------------------------------
gen="$tmp/gen"
mkdir "$gen"
# File size: 64 MiB + 1 byte, refused before it is read.
head -c 67108865 /dev/zero | tr '\0' '#' > "$gen/huge-file.yaml"
run_cmd run "$gen/huge-file.yaml" --out "$tmp/o-huge"
expect_error "huge-file" "$gen/huge-file.yaml:1:1" \
    "larger than the limit of 67108864 bytes" "$rc" "$tmp/err" "$tmp/o-huge"
rm -f "$gen/huge-file.yaml"
# Documents: 10001 small manifests.
i=0
while [ $i -le 10000 ]; do
    echo "--- {kind: ConfigMap, apiVersion: v1, metadata: {name: c$i}}"
    i=$((i + 1))
done > "$gen/many-docs.yaml"
run_cmd run "$gen/many-docs.yaml" --out "$tmp/o-docs"
expect_error "many-docs" "$gen/many-docs.yaml:10001:1" \
    "more documents than the limit of 10000" "$rc" "$tmp/err" "$tmp/o-docs"
# Scalar length: one value of 1 MiB + 1 byte, in line 5 column 18.
{
    printf 'apiVersion: ingress-sim/v1\nkind: Scenario\nmetadata:\n'
    printf '  name: x\n  description: '
    head -c 1048577 /dev/zero | tr '\0' 'a'
    printf '\n'
} > "$gen/long-scalar.yaml"
run_cmd run "$gen/long-scalar.yaml" --out "$tmp/o-long"
expect_error "long-scalar" "$gen/long-scalar.yaml:5:16" \
    "longer than the limit of 1048576 bytes" "$rc" "$tmp/err" "$tmp/o-long"
# Nodes: 2,000,001 list items (no aliases), each of them a node.
awk 'BEGIN { print "apiVersion: ingress-sim/v1\nkind: Scenario\nspec:";
             printf "  include: [";
             for (i = 0; i < 2000001; i++) printf "0,";
             print "0]" }' > "$gen/many-nodes.yaml"
run_cmd run "$gen/many-nodes.yaml" --out "$tmp/o-nodes"
expect_error "many-nodes" "$gen/many-nodes.yaml:4:3999995" \
    "more YAML nodes than the limit of 2000000" "$rc" "$tmp/err" "$tmp/o-nodes"

# Included files together: 65 includes of one 1 MiB file of comments.
head -c 1048576 /dev/zero | tr '\0' '#' > "$gen/comments.yaml"
{
    printf 'apiVersion: ingress-sim/v1\nkind: Scenario\nspec:\n  include:\n'
    i=0
    while [ $i -lt 65 ]; do
        echo "  - comments.yaml"
        i=$((i + 1))
    done
} > "$gen/many-includes.yaml"
run_cmd run "$gen/many-includes.yaml" --out "$tmp/o-inc"
expect_error "many-includes" "$gen/many-includes.yaml:69:5" \
    "included files add up to more than the limit of 67108864 bytes" \
    "$rc" "$tmp/err" "$tmp/o-inc"

# A FIFO would block the reader forever: only regular files are read.
if mkfifo "$gen/fifo.yaml" 2> /dev/null; then
    printf 'apiVersion: ingress-sim/v1\nkind: Scenario\nspec:\n' \
        > "$gen/fifo-include.yaml"
    echo "  include: [fifo.yaml]" >> "$gen/fifo-include.yaml"
    run_cmd run "$gen/fifo-include.yaml" --out "$tmp/o-fifo"
    expect_error "fifo-include" "$gen/fifo.yaml:1:1" "not a regular file" \
        "$rc" "$tmp/err" "$tmp/o-fifo"
fi

# ---- atomic results: a failed run leaves the previous results.json --------
mkdir "$tmp/keep"
echo '{"old": true}' > "$tmp/keep/results.json"
set +e
"$SIM_BIN" run "$bad/yaml-unclosed-flow.yaml" --out "$tmp/keep" \
    > /dev/null 2>&1
set -e
grep -q '"old": true' "$tmp/keep/results.json" ||
    fail "a failed run changed the previous results.json"
for f in "$tmp/keep"/*; do
    [ "$f" = "$tmp/keep/results.json" ] || fail "a failed run left $f"
done

# ---- SIGINT: stop cleanly, results marked partial, exit 130 ---------------
# The article's traffic for 720h: far longer than the waits below.
sed -e 's|^  duration: 60s|  duration: 720h|' \
    -e "s|^  - article/|  - $SIM_SRCDIR/scenarios/article/|" \
    "$SIM_SRCDIR/scenarios/article.yaml" > "$tmp/long.yaml"
# A loaded machine may need longer to reach the run: try again, waiting more.
for wait_s in 3 10; do
    rm -rf "$tmp/int"
    "$SIM_BIN" run "$tmp/long.yaml" --out "$tmp/int" > "$tmp/int.txt" \
        2> "$tmp/int.err" &
    pid=$!
    sleep $wait_s
    kill -INT $pid 2> /dev/null || true
    set +e
    wait $pid
    rc=$?
    set -e
    [ -e "$tmp/int/results.json" ] && break
done
if [ "$rc" -ne 130 ]; then
    fail "SIGINT: run exited $rc, not 130: $(head -c 600 "$tmp/int.err")"
elif ! grep -q '"partial" : true' "$tmp/int/results.json"; then
    fail "SIGINT: results.json not marked partial"
elif grep -Eq 'Sanitizer|runtime error:' "$tmp/int.err"; then
    fail "SIGINT: sanitizer report: $(head -c 600 "$tmp/int.err")"
elif ! grep -q 'interrupted at .*partial' "$tmp/int.err"; then
    fail "SIGINT: no 'interrupted' note: $(head -c 600 "$tmp/int.err")"
else
    for f in "$tmp/int"/*; do
        case $f in
        *.json | *.png | *.svg) ;;
        *) fail "SIGINT: left a temporary file $f" ;;
        esac
    done
fi

if [ "$failures" -gt 0 ]; then
    echo "check-bad: $failures failures ($checked checks passed)" >&2
    exit 1
fi
echo "check-bad: $n bad inputs, $checked checks passed"
