#!/bin/sh
# check-analyze.sh: `ingress-sim analyze` end to end: exit statuses (0
# clean or warnings only, 79 errors, 1 bad scenario, 2 usage), istioctl's
# line format on stdout, --json, the thresholds, the analyze-* lessons.
set -eu
: "${SIM_BIN:=./ingress-sim}" "${SIM_SRCDIR:=.}"
tmp=$(mktemp -d "${TMPDIR:-/tmp}/check-analyze.XXXXXX")
trap 'rm -rf "$tmp"' EXIT
fail() { echo "FAIL: $*" >&2; exit 1; }
status() { # status CMD...: runs CMD, prints its exit status, never fails
    set +e
    "$@" > "$tmp/out" 2> "$tmp/err"
    echo $?
    set -e
}

art="$SIM_SRCDIR/scenarios/article.yaml"
lessons="$SIM_SRCDIR/scenarios/lessons"

# The article: warnings only (the legacy gateway name form), exit 0.
[ "$(status "$SIM_BIN" analyze "$art")" = 0 ] ||
    fail "article: exit $(status "$SIM_BIN" analyze "$art"), want 0"
grep -q '^Warning \[IST0133\] (VirtualService default/counter .*manifests.yaml:[0-9]*) ' \
    "$tmp/out" || fail "article: no IST0133 line: $(cat "$tmp/out")"
if grep -q '^Error ' "$tmp/out"; then fail "article: errors: $(cat "$tmp/out")"; fi
# ...but 79 when warnings count as failures, as istioctl's
# --failure-threshold Warning.
[ "$(status "$SIM_BIN" analyze "$art" --failure-threshold Warning)" = 79 ] ||
    fail "article with --failure-threshold Warning: not 79"
grep -q '^Error: Analyzers found issues when analyzing' "$tmp/err" ||
    fail "no istioctl summary on stderr: $(cat "$tmp/err")"
# Nothing printed below the output threshold, and then the check mark.
[ "$(status "$SIM_BIN" analyze "$art" --output-threshold Error)" = 0 ] ||
    fail "article --output-threshold Error: not 0"
[ ! -s "$tmp/out" ] || fail "--output-threshold Error printed: $(cat "$tmp/out")"
grep -q 'No validation issues found when analyzing' "$tmp/err" ||
    fail "no 'No validation issues' note: $(cat "$tmp/err")"

# The four places lesson: errors, exit 79, one message per missing place.
fp="$lessons/analyze-four-places.yaml"
[ "$(status "$SIM_BIN" analyze "$fp")" = 79 ] || fail "four places: not 79"
for code in ISM0001 ISM0002 ISM0003 ISM0005 ISM0006 IST0162; do
    grep -q "\[$code\] " "$tmp/out" ||
        fail "four places: no $code in: $(cat "$tmp/out")"
done
grep -Eq '^Error \[ISM0001\] \(Scenario analyze-four-places .*analyze-four-places.yaml:[0-9]+\) ' \
    "$tmp/out" || fail "four places: ISM0001 line format"

# The references lesson.
rf="$lessons/analyze-references.yaml"
[ "$(status "$SIM_BIN" analyze "$rf")" = 79 ] || fail "references: not 79"
for code in IST0101 IST0112 IST0132 IST0173 IST0174; do
    grep -q "\[$code\] " "$tmp/out" ||
        fail "references: no $code in: $(cat "$tmp/out")"
done

# --json: istioctl's shape, also exit 79 (see docs/analyze.md).
[ "$(status "$SIM_BIN" analyze "$rf" --json)" = 79 ] || fail "--json: not 79"
head -c 1 "$tmp/out" | grep -q '\[' || fail "--json: not an array"
for key in code documentationUrl level message origin reference; do
    grep -q "\"$key\" *:" "$tmp/out" || fail "--json: no \"$key\""
done
if grep -q '^Error \[' "$tmp/out"; then fail "--json printed log lines"; fi
[ "$(status "$SIM_BIN" analyze "$art" --json --output-threshold Error)" = 0 ] ||
    fail "--json article: not 0"
tr -d ' \n\t' < "$tmp/out" | grep -qx '\[\]' || fail "--json empty: $(cat "$tmp/out")"

# An invalid Istio object: its IST0106 line on stdout, the located error
# on stderr, exit 1 (bad input, as every subcommand).
cat > "$tmp/invalid.yaml" <<'YAML'
apiVersion: networking.istio.io/v1
kind: VirtualService
metadata: {name: empty, namespace: default}
spec:
  hosts: []
  http:
  - route:
    - destination: {host: counter}
YAML
[ "$(status "$SIM_BIN" analyze "$tmp/invalid.yaml")" = 1 ] ||
    fail "invalid VirtualService: not 1"
grep -q '^Error \[IST0106\] (VirtualService default/empty .*invalid.yaml:5) ' \
    "$tmp/out" || fail "invalid VirtualService: no IST0106: $(cat "$tmp/out")"
grep -q "invalid.yaml:5:[0-9]*: error: " "$tmp/err" ||
    fail "invalid VirtualService: no located error: $(cat "$tmp/err")"

# A scenario that does not load: 1; usage errors: 2.
printf 'kind: Service\nmetadata: [\n' > "$tmp/bad.yaml"
[ "$(status "$SIM_BIN" analyze "$tmp/bad.yaml")" = 1 ] || fail "bad YAML: not 1"
[ "$(status "$SIM_BIN" analyze)" = 2 ] || fail "no SCENARIO: not 2"
[ "$(status "$SIM_BIN" analyze "$art" --failure-threshold Fatal)" = 2 ] ||
    fail "bad level: not 2"
[ "$(status "$SIM_BIN" analyze --help)" = 0 ] || fail "--help: not 0"
grep -q 'ISM0001' "$tmp/out" || fail "--help does not list the codes"
echo "check-analyze: ok"
