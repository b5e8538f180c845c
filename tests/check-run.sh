#!/bin/sh
# check-run.sh: end-to-end checks of `ingress-sim run` and `trace` on the
# bundled scenarios: the balance, the article's outcomes per port, the
# article-as-written port mismatch, byte-identical results per seed, and
# charts whose PNG checksums hold (tests/png-check).
set -eu
: "${SIM_BIN:=./ingress-sim}" "${SIM_SRCDIR:=.}" "${SIM_BUILDDIR:=.}"
tmp=$(mktemp -d "${TMPDIR:-/tmp}/check-run.XXXXXX")
trap 'rm -rf "$tmp"' EXIT
fail() { echo "FAIL: $*" >&2; exit 1; }
json_int() { # json_int FILE JQ-LIKE-KEY: the integer after "KEY" : in FILE
    sed -n "s/^ *\"$2\" : \([0-9]*\).*/\1/p" "$1" | head -n 1
}

art="$SIM_SRCDIR/scenarios/article.yaml"
"$SIM_BIN" run "$art" --out "$tmp/a" --duration 10s > "$tmp/a.txt" ||
    fail "article run exited $?"
grep -q '^balance: sent [0-9]* = responses [0-9]* + failures 0$' "$tmp/a.txt" ||
    fail "article: balance line missing or failures: $(tail -n 1 "$tmp/a.txt")"
sent=$(json_int "$tmp/a/results.json" sent)
resp=$(json_int "$tmp/a/results.json" responses)
conns=$(json_int "$tmp/a/results.json" connections)
[ "$sent" -gt 1500 ] || fail "article: only $sent requests sent in 10s"
[ "$conns" -gt 100 ] || fail "article: $conns TCP connections on port 3306"
[ "$resp" -gt 1500 ] || fail "article: $resp HTTP responses"
grep -q '"https.443.https.default-gateway.istio-system' "$tmp/a/results.json" ||
    grep -q 'counter' "$tmp/a/results.json" || fail "article: no route counted"
# The charts as zlib reads them: libpng, through cairo, can take a PNG
# without checking its Adler-32; png-check checks it and every CRC (in C:
# CI installs no python).
"$SIM_BUILDDIR/tests/png-check" "$tmp"/a/*.png ||
    fail "article: a chart's PNG does not check out"

# Same seed, same bytes; another seed, other latencies.
"$SIM_BIN" run "$art" --out "$tmp/b" --duration 10s --quiet
cmp -s "$tmp/a/results.json" "$tmp/b/results.json" ||
    fail "same seed gave different results.json"
"$SIM_BIN" run "$art" --out "$tmp/c" --duration 10s --seed 2 --quiet
if cmp -s "$tmp/a/results.json" "$tmp/c/results.json"; then
    fail "seed 2 gave the same results.json as seed 1"
fi

# The article as written: port 80 refused at step 3, 443 and 3306 fine.
aw="$SIM_SRCDIR/scenarios/lessons/article-as-written.yaml"
"$SIM_BIN" run "$aw" --out "$tmp/w" > "$tmp/w.txt" || fail "as-written run exited $?"
grep -Eq '^  step 3 refused +[0-9]+$' "$tmp/w.txt" ||
    fail "as-written: no 'step 3 refused' failures: $(cat "$tmp/w.txt")"
grep -q '^  200 from app' "$tmp/w.txt" || fail "as-written: https got no 200s"
"$SIM_BIN" trace "$aw" http://counter.example.com/ --json > "$tmp/t.json"
grep -q '"kind" : "failure"' "$tmp/t.json" || fail "trace: not a failure"
grep -q '"reason" : "refused"' "$tmp/t.json" || fail "trace: not refused"
grep -q '"step" : 3,' "$tmp/t.json" || fail "trace: not at step 3"

# A bad scenario: located error, exit 1, nothing written.
printf 'apiVersion: ingress-sim/v1\nkind: Scenario\nspec:\n  seed: x\n' > "$tmp/bad.yaml"
set +e
"$SIM_BIN" run "$tmp/bad.yaml" --out "$tmp/bad" 2> "$tmp/bad.err"
rc=$?
set -e
[ "$rc" -eq 1 ] || fail "bad scenario exited $rc, not 1"
grep -q "bad.yaml:4:9: error:" "$tmp/bad.err" || fail "no located error: $(cat "$tmp/bad.err")"
[ ! -e "$tmp/bad" ] || fail "a failed run left $tmp/bad behind"
# An --out that cannot be made is refused before the run, and the access
# log is not written: it lands with the results or not at all.
mkdir -p "$tmp/ro" && touch "$tmp/ro/file"
set +e
"$SIM_BIN" run "$SIM_SRCDIR/scenarios/article.yaml" --duration 1s --quiet \
    --out "$tmp/ro/file/out" --access-log "$tmp/al.log" 2> "$tmp/ro.err"
rc=$?
set -e
[ "$rc" -eq 1 ] || fail "unwritable --out exited $rc, not 1"
grep -q "error: cannot create" "$tmp/ro.err" || fail "no error: $(cat "$tmp/ro.err")"
[ ! -e "$tmp/al.log" ] || fail "a failed run left its access log behind"
# --access-log follows a symlink instead of replacing it, and leaves a
# file of the user's named like a temporary alone.
echo precious > "$tmp/target.log"
ln -s target.log "$tmp/link.log"
echo mine > "$tmp/link.log.tmp"
"$SIM_BIN" run "$SIM_SRCDIR/scenarios/article.yaml" --duration 1s --quiet \
    --out "$tmp/sl" --access-log "$tmp/link.log"
[ -L "$tmp/link.log" ] || fail "--access-log replaced a symlink"
grep -q '"GET / HTTP/1.1"' "$tmp/target.log" || fail "the symlink's target was not written"
[ "$(cat "$tmp/link.log.tmp")" = mine ] || fail "--access-log clobbered link.log.tmp"
# A dangling symlink is followed too: the log is made where it points.
ln -s made.log "$tmp/dangling.log"
"$SIM_BIN" run "$SIM_SRCDIR/scenarios/article.yaml" --duration 1s --quiet \
    --out "$tmp/dl" --access-log "$tmp/dangling.log"
[ -L "$tmp/dangling.log" ] && [ -s "$tmp/made.log" ] ||
    fail "--access-log replaced a dangling symlink"

# All or nothing: an access log that cannot be written (a full disk), a
# picture that cannot be, or a run that fails leaves no results, no
# pictures and no folder it made, parents included.
art="$SIM_SRCDIR/scenarios/article.yaml"
set +e
"$SIM_BIN" run "$art" --duration 1s --quiet --out "$tmp/full/a/b" \
    --access-log /dev/full 2> "$tmp/full.err"
rc=$?
set -e
[ "$rc" -eq 1 ] || fail "access log on /dev/full exited $rc"
grep -q "^/dev/full:1:1: error: cannot write access log" "$tmp/full.err" ||
    fail "$(cat "$tmp/full.err")"
[ ! -e "$tmp/full" ] || fail "a failed access log left $(ls -R "$tmp/full")"
mkdir -p "$tmp/pic/diagram.svg"
set +e
"$SIM_BIN" run "$art" --duration 1s --quiet --out "$tmp/pic" 2> "$tmp/pic.err"
rc=$?
"$SIM_BIN" run "$art" --duration 1s --quiet --replications 2 --shard 1/1 \
    --out "$tmp/pic" 2>/dev/null
rc2=$?
"$SIM_BIN" run "$art" --duration 1s --quiet --replications 2 --shard 1/1 \
    --max-pending 1 --out "$tmp/mp/a/b" 2>/dev/null
rc3=$?
set -e
[ "$rc" -eq 1 ] && [ "$rc2" -eq 1 ] && [ "$rc3" -eq 1 ] ||
    fail "failed writes exited $rc, $rc2, $rc3"
[ "$(ls "$tmp/pic")" = diagram.svg ] ||
    fail "a failed picture left $(ls "$tmp/pic")"
grep -q "^$tmp/pic/diagram.svg:1:1: error: cannot write" "$tmp/pic.err" ||
    fail "$(cat "$tmp/pic.err")"
[ ! -e "$tmp/mp" ] || fail "a failed set left $(ls -R "$tmp/mp")"
# results.json that cannot be replaced (a folder there): located, exit 1,
# no temporary file beside it.
mkdir -p "$tmp/rj/results.json"
set +e
"$SIM_BIN" run "$art" --duration 1s --quiet --out "$tmp/rj" 2> "$tmp/rj.err"
rc=$?
set -e
[ "$rc" -eq 1 ] || fail "an unwritable results.json exited $rc"
grep -q "^$tmp/rj/results.json:1:1: error: cannot write" "$tmp/rj.err" ||
    fail "$(cat "$tmp/rj.err")"
[ "$(ls "$tmp/rj")" = results.json ] || fail "left $(ls "$tmp/rj")"
echo "check-run: all passed"
