#!/bin/sh
# fuzz.sh: builds the fuzz targets with clang and libFuzzer and runs each for
# a bounded time; what `make fuzz` runs (tests/bad.mk passes the variables).
#   FUZZ_SECONDS   run time per target (default 60; 0: build only)
#   FUZZ_TARGETS   which targets (default: scenario url router replay)
#   FUZZ_JOBS      targets fuzzed at once (default 1)
#   FUZZ_CC        the compiler (default clang)
#   FUZZ_FLAGS     more libFuzzer options, e.g. -max_len=8192
# The library is compiled again into fuzz-build/ with coverage
# instrumentation (-fsanitize=fuzzer-no-link,address,undefined); new
# corpus entries go to fuzz-build/corpus/NAME, crashes to
# fuzz-build/NAME-crash-*. A crash makes this exit 1: copy the input to
# fuzz/regressions/NAME/ (make check replays it) and fix the bug.
set -eu
: "${srcdir:?}" "${builddir:?}" "${FUZZ_CPPFLAGS:=}" "${FUZZ_LIBS:=}"
: "${FUZZ_SOURCES:?}" "${FUZZ_SECONDS:=60}" "${FUZZ_CC:=clang}"
: "${FUZZ_TARGETS:=scenario url router replay}" "${FUZZ_JOBS:=1}"
: "${FUZZ_FLAGS:=}"
out="$builddir/fuzz-build"
san="-fsanitize=address,undefined -fno-sanitize-recover=all"
cflags="-g -O1 -fno-omit-frame-pointer $san"
mkdir -p "$out/obj"
# The flags are part of the objects: rebuild everything when they change.
echo "$FUZZ_CC $cflags $FUZZ_CPPFLAGS" > "$out/flags.new"
if ! cmp -s "$out/flags.new" "$out/flags"; then
    rm -f "$out"/obj/*.o
    mv "$out/flags.new" "$out/flags"
fi
objs=
for src in $FUZZ_SOURCES; do
    case $src in *.c) ;; *) continue ;; esac
    o="$out/obj/$(echo "$src" | tr / _ | sed 's/\.c$/.o/')"
    objs="$objs $o"
    # Rebuild when the source or any header of the tree is newer.
    if [ -f "$o" ] && [ -z "$(find "$srcdir/$src" "$srcdir/models" \
        "$srcdir/sim" "$srcdir/viz" -newer "$o" \( -name '*.h' -o \
        -name '*.c' -path "*/$src" \) 2> /dev/null | head -n 1)" ]; then
        continue
    fi
    echo "  FUZZCC   $src"
    # shellcheck disable=SC2086 # flag lists are words
    $FUZZ_CC $cflags -fsanitize=fuzzer-no-link $FUZZ_CPPFLAGS -c \
        -o "$o" "$srcdir/$src"
done
for t in $FUZZ_TARGETS; do
    echo "  FUZZLD   fuzz-$t"
    # shellcheck disable=SC2086
    $FUZZ_CC $cflags -fsanitize=fuzzer $FUZZ_CPPFLAGS \
        -o "$out/fuzz-$t" "$srcdir/fuzz/fuzz-$t.c" "$srcdir/fuzz/fuzz-common.c" \
        $objs $FUZZ_LIBS
done
[ "$FUZZ_SECONDS" -gt 0 ] || exit 0

# Seeds: the target's own corpus and regressions, plus bundled inputs.
seeds() {
    echo "$srcdir/fuzz/corpus/$1"
    [ -d "$srcdir/fuzz/regressions/$1" ] && echo "$srcdir/fuzz/regressions/$1"
    case $1 in
    scenario) echo "$srcdir/scenarios" "$srcdir/tests/bad" "$srcdir/fuzz" ;;
    esac
}
export SIM_SRCDIR="$srcdir"
export ASAN_OPTIONS="${ASAN_OPTIONS:-detect_leaks=1}"
export UBSAN_OPTIONS="${UBSAN_OPTIONS:-print_stacktrace=1}"
status=0
run_one() {
    t=$1
    mkdir -p "$out/corpus/$t"
    echo "fuzz-$t: ${FUZZ_SECONDS}s, log in $out/fuzz-$t.log"
    # shellcheck disable=SC2046,SC2086 # lists of folders and options
    if ! "$out/fuzz-$t" -max_total_time="$FUZZ_SECONDS" -timeout=20 \
        -rss_limit_mb=2560 -print_final_stats=1 \
        -artifact_prefix="$out/$t-" $FUZZ_FLAGS \
        "$out/corpus/$t" $(seeds "$t") > "$out/fuzz-$t.log" 2>&1; then
        echo "fuzz-$t: FOUND A PROBLEM: see $out/fuzz-$t.log and" \
            "$out/$t-*; copy the input to fuzz/regressions/$t/" >&2
        return 1
    fi
    grep -E '^#[0-9]+.*DONE|stat::number_of_executed_units|stat::peak_rss' \
        "$out/fuzz-$t.log" | sed "s/^/fuzz-$t: /"
}
# In batches of FUZZ_JOBS targets at once.
pids=
for t in $FUZZ_TARGETS; do
    run_one "$t" &
    pids="$pids $!"
    if [ "$(echo "$pids" | wc -w)" -ge "$FUZZ_JOBS" ]; then
        for p in $pids; do
            wait "$p" || status=1
        done
        pids=
    fi
done
for p in $pids; do
    wait "$p" || status=1
done
exit $status
