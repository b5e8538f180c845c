#!/bin/sh
# check-report.sh: `ingress-sim report` writes one self-contained HTML file
# (no script, nothing fetched from anywhere, every picture inline), and a
# real browser (Debian's chromium, headless) loads it without a console
# error and shows every chart: the four charts and the path diagram, each
# an inline <svg> with drawing in it. Skips (77) when chromium is missing;
# CI installs it (.ci/run). grep and sed only. Env: SIM_BIN, SIM_SRCDIR.
set -eu
: "${SIM_BIN:=./ingress-sim}" "${SIM_SRCDIR:=.}"
tmp=$(mktemp -d "${TMPDIR:-/tmp}/check-report.XXXXXX")
trap 'rm -rf "$tmp"' EXIT
failures=0
fail() {
    echo "FAIL: $*" >&2
    failures=$((failures + 1))
}

art="$SIM_SRCDIR/scenarios/article.yaml"
lesson="$SIM_SRCDIR/scenarios/lessons/add-port-no-service-port.yaml"
"$SIM_BIN" report "$art" -o "$tmp/article.html" --duration 5s ||
    fail "report of the article exited $?"
"$SIM_BIN" report "$lesson" -o "$tmp/lesson.html" --duration 3s ||
    fail "report of a lesson exited $?"
[ -s "$tmp/article.html" ] || { echo "FAIL: no report written" >&2; exit 1; }

# A usage error writes nothing.
set +e
"$SIM_BIN" report "$art" > /dev/null 2>&1
rc=$?
set -e
[ "$rc" -eq 2 ] || fail "report without -o exited $rc, not 2"

for f in article lesson; do
    h="$tmp/$f.html"
    # Self-contained: no script, no stylesheet or image from elsewhere.
    grep -qi '<script' "$h" && fail "$f: has a <script>"
    grep -qi '<link' "$h" && fail "$f: links a resource"
    grep -Eqi '(src|href)="(https?:|//|file:)' "$h" &&
        fail "$f: refers to an outside resource: $(grep -Eoi '(src|href)="(https?:|//|file:)[^"]*"' "$h" | head -n 3)"
    grep -Eqi 'url\((https?:|//)|@import' "$h" && fail "$f: CSS fetches something"
    grep -qi '<img' "$h" && fail "$f: an <img> (pictures must be inline SVG)"
    # Every picture, inline, with its ids unique in the document.
    n=$(grep -c '<figure class="chart' "$h" || true)
    [ "$n" -eq 5 ] || fail "$f: $n figures, want 4 charts and the diagram"
    for id in chart-latency-cdf chart-latency-time chart-throughput \
        chart-breakdown chart-diagram; do
        grep -q "id=\"$id\"" "$h" || fail "$f: no figure $id"
    done
    dup=$(grep -o ' id="[^"]*"' "$h" | sort | uniq -d | head -n 3)
    [ -z "$dup" ] || fail "$f: ids used twice: $dup"
    grep -q '<section id="findings">' "$h" || fail "$f: no findings section"
    grep -q '<article class="trace"' "$h" || fail "$f: no narrated trace"
done
grep -q 'What to change:' "$tmp/lesson.html" ||
    fail "lesson: the failing sample has no 'What to change'"
grep -q 'Nothing listens on nodePort 30379' "$tmp/lesson.html" ||
    fail "lesson: the hint does not name the nodePort"

# The browser.
browser=
for b in chromium chromium-browser; do
    if command -v "$b" > /dev/null 2>&1; then
        browser=$b
        break
    fi
done
if [ -z "$browser" ]; then
    [ "$failures" -eq 0 ] || exit 1
    echo "check-report: SKIP the browser part: no chromium (apt-get install chromium)"
    exit 77
fi
for f in article lesson; do
    profile=$(mktemp -d "$tmp/profile.XXXXXX")
    # Console messages go to stderr as "...:CONSOLE..." lines (verbosity 0).
    if ! timeout 120 "$browser" --headless --no-sandbox --disable-gpu \
        --disable-background-networking --disable-component-update \
        --disable-sync --no-first-run --user-data-dir="$profile" \
        --enable-logging=stderr --v=0 --dump-dom "file://$tmp/$f.html" \
        > "$tmp/$f.dom" 2> "$tmp/$f.err"; then
        fail "$f: $browser exited $?: $(tail -n 5 "$tmp/$f.err")"
        continue
    fi
    grep ':CONSOLE' "$tmp/$f.err" > "$tmp/$f.console" || true
    [ ! -s "$tmp/$f.console" ] ||
        fail "$f: console messages: $(head -n 5 "$tmp/$f.console")"
    # The DOM the browser built holds every picture, each drawn.
    n=$(grep -o '<svg' "$tmp/$f.dom" | wc -l)
    [ "$n" -eq 5 ] || fail "$f: the browser's DOM has $n <svg>, want 5"
    tr '\n' ' ' < "$tmp/$f.dom" | sed 's/<figure /\n<figure /g' |
        grep '^<figure class="chart' > "$tmp/$f.figs" || true
    m=$(grep -c '<svg[^>]*viewBox="0 0 [1-9][0-9]* [1-9][0-9]*"' "$tmp/$f.figs" || true)
    [ "$m" -eq 5 ] || fail "$f: $m of 5 figures hold an <svg> with a size"
    d=$(grep -c '<path' "$tmp/$f.figs" || true)
    [ "$d" -eq 5 ] || fail "$f: $d of 5 figures hold drawing (<path>)"
    grep -q '</html>' "$tmp/$f.dom" || fail "$f: the DOM is cut short"
done

[ "$failures" -eq 0 ] || exit 1
echo "check-report: all passed ($browser)"
