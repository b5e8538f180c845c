#!/bin/sh
# check-shard.sh: replication sets end to end: `run --replications` gives the
# same bytes for any --jobs; shards merged (in any order, any split) give the
# bytes of the unsharded run; merge refuses what is not one whole set, with
# exit 1 and a located message; run refuses bad --replications/--shard/--jobs.
set -eu
: "${SIM_BIN:=./ingress-sim}" "${SIM_SRCDIR:=.}"
tmp=$(mktemp -d "${TMPDIR:-/tmp}/check-shard.XXXXXX")
trap 'rm -rf "$tmp"' EXIT
fail() { echo "FAIL: $*" >&2; exit 1; }
json_int() { # json_int FILE KEY: the first integer after "KEY" : in FILE
    sed -n "s/^ *\"$2\" : \([0-9]*\).*/\1/p" "$1" | head -n 1
}
same_outputs() { # same_outputs DIR1 DIR2: results.json and every chart
    for f in "$1"/*; do
        b=$(basename "$f")
        [ "$b" = shard.json ] && continue
        cmp -s "$f" "$2/$b" || fail "$2/$b differs from $1/$b"
    done
}
# expect_error RC PATTERN CMD...: CMD exits RC and says PATTERN (grep -E).
expect_error() {
    want=$1 pattern=$2
    shift 2
    set +e
    "$@" > "$tmp/out.txt" 2> "$tmp/err.txt"
    rc=$?
    set -e
    [ "$rc" -eq "$want" ] || fail "$* exited $rc, not $want: $(cat "$tmp/err.txt")"
    grep -Eq -- "$pattern" "$tmp/err.txt" ||
        fail "$*: no '$pattern' in: $(cat "$tmp/err.txt")"
}

# node-down: failures at step 3, a failure timeline, 60 s of series.
sc="$SIM_SRCDIR/scenarios/lessons/node-down.yaml"
run() { "$SIM_BIN" run "$sc" --quiet "$@"; }

run --replications 4 --out "$tmp/A"
grep -q '"replications" : \[' "$tmp/A/results.json" || fail "no replications array"
grep -q '"across_replications"' "$tmp/A/results.json" || fail "no across_replications"
grep -q '"ci95" : \[' "$tmp/A/results.json" || fail "no 95% interval"
[ -f "$tmp/A/latency-time.svg" ] && [ -f "$tmp/A/diagram.png" ] ||
    fail "no charts for the set"
[ ! -e "$tmp/A/shard.json" ] || fail "shard.json without --shard"
# The pooled totals are the sum over the replications.
pooled=$(json_int "$tmp/A/results.json" sent)
sum=0
for n in $(sed -n 's/^ *"sent" : \([0-9]*\),$/\1/p' "$tmp/A/results.json" | tail -n 4); do
    sum=$((sum + n))
done
[ "$pooled" -eq "$sum" ] || fail "pooled sent $pooled, replications add to $sum"
run --out "$tmp/one"
one=$(json_int "$tmp/one/results.json" sent)
[ "$pooled" -gt $((3 * one)) ] || fail "4 replications sent $pooled, one $one"
grep -q '"step" : 3' "$tmp/A/results.json" || fail "no step 3 failures pooled"

# Any --jobs: the same bytes.
run --replications 4 --jobs 1 --out "$tmp/J1"
run --replications 4 --jobs 3 --out "$tmp/J3"
same_outputs "$tmp/A" "$tmp/J1"
same_outputs "$tmp/A" "$tmp/J3"

# merge(shard 1/2, shard 2/2) equals the unsharded run, charts too.
run --replications 4 --shard 1/2 --out "$tmp/B1"
run --replications 4 --shard 2/2 --jobs 1 --out "$tmp/B2"
grep -q '"shard" : 1,' "$tmp/B1/shard.json" || fail "B1/shard.json: no shard 1"
"$SIM_BIN" merge "$tmp/B1/shard.json" "$tmp/B2/shard.json" --out "$tmp/C" \
    > "$tmp/merge.txt" || fail "merge exited $?"
cmp "$tmp/A/results.json" "$tmp/C/results.json" ||
    fail "merge(1/2, 2/2) differs from the unsharded run"
same_outputs "$tmp/A" "$tmp/C"
grep -q '^across replications:' "$tmp/merge.txt" || fail "merge: no summary"
grep -q '^engine: [1-9][0-9]* events' "$tmp/merge.txt" || fail "merge: no engine line"
# Another split, the shards in another order: still the same bytes.
for k in 1 2 3; do run --replications 4 --shard $k/3 --out "$tmp/T$k"; done
"$SIM_BIN" merge "$tmp/T3/shard.json" "$tmp/T1/shard.json" \
    "$tmp/T2/shard.json" --out "$tmp/T" --quiet
cmp "$tmp/A/results.json" "$tmp/T/results.json" || fail "merge of 3 shards differs"
# One replication, one shard: the plain run's bytes.
run --replications 1 --shard 1/1 --out "$tmp/S1"
"$SIM_BIN" merge "$tmp/S1/shard.json" --out "$tmp/M1" --quiet
cmp "$tmp/one/results.json" "$tmp/M1/results.json" ||
    fail "merge of one replication differs from a plain run"

# merge refuses what is not one whole set: exit 1, located, nothing written.
b1="$tmp/B1/shard.json"
b2="$tmp/B2/shard.json"
expect_error 1 'error: .*missing: 2/2 \(replications 2\.\.3, seeds 3\.\.4\)' \
    "$SIM_BIN" merge "$b1" --out "$tmp/X"
cp "$b1" "$tmp/copy.json"
expect_error 1 "^$tmp/copy.json:[0-9]+:[0-9]+: error: shard 1/2 again: $b1:[0-9]+:[0-9]+ is shard 1/2 too" \
    "$SIM_BIN" merge "$b1" "$tmp/copy.json" "$b2" --out "$tmp/X"
expect_error 1 "^$b1:[0-9]+:[0-9]+: error: $b1 given twice" \
    "$SIM_BIN" merge "$b1" "$b1" --out "$tmp/X"
run --replications 4 --shard 2/2 --seed 2 --out "$tmp/seed2"
expect_error 1 "^$tmp/seed2/shard.json:9:3: error: seed 2 here, 1 in $b1" \
    "$SIM_BIN" merge "$b1" "$tmp/seed2/shard.json" --out "$tmp/X"
"$SIM_BIN" run "$SIM_SRCDIR/scenarios/lessons/pod-crash.yaml" --quiet \
    --replications 4 --shard 2/2 --out "$tmp/other"
expect_error 1 "^$tmp/other/shard.json:5:3: error: scenario 'pod-crash' here, 'node-down' in $b1" \
    "$SIM_BIN" merge "$b1" "$tmp/other/shard.json" --out "$tmp/X"
run --replications 4 --shard 2/2 --duration 20s --out "$tmp/dur"
# Durations are compared as times: 20s and 20000ms are one set; a
# duration that is no time is refused where it stands.
run --replications 4 --shard 1/2 --duration 20000ms --out "$tmp/dur1"
"$SIM_BIN" merge "$tmp/dur1/shard.json" "$tmp/dur/shard.json" --quiet \
    --out "$tmp/durm" || fail "20000ms and 20s shards did not merge"
sed 's/"duration" *: *"20s"/"duration" : "abc"/' "$tmp/dur/shard.json" \
    > "$tmp/durbad.json"
expect_error 1 "^$tmp/durbad.json:8:3: error: duration 'abc': invalid duration" \
    "$SIM_BIN" merge "$tmp/dur1/shard.json" "$tmp/durbad.json" --out "$tmp/X"
expect_error 1 "^$tmp/dur/shard.json:8:3: error: duration '20s' here" \
    "$SIM_BIN" merge "$b1" "$tmp/dur/shard.json" --out "$tmp/X"
# The scenario (or a file it includes) changed since the shards ran.
cp -R "$SIM_SRCDIR/scenarios" "$tmp/sc"
chmod -R u+w "$tmp/sc"
sed 's/replicas: 3/replicas: 4/' "$SIM_SRCDIR/scenarios/article/manifests.yaml" \
    > "$tmp/sc/article/manifests.yaml"
expect_error 1 "^$b1:7:3: error: the shards ran another scenario" \
    "$SIM_BIN" merge "$b1" "$b2" --scenario "$tmp/sc/lessons/node-down.yaml" \
    --out "$tmp/X"
expect_error 1 "^$tmp/A/results.json:1:1: error: not a shard file" \
    "$SIM_BIN" merge "$tmp/A/results.json" --out "$tmp/X"
head -n 14 "$b1" > "$tmp/cut.json"
expect_error 1 "^$tmp/cut.json:15:1: error: " \
    "$SIM_BIN" merge "$tmp/cut.json" "$b2" --out "$tmp/X"
sed 's/"replication":1,"seed":2,/"replication":1,"seed":9,/' "$b1" > "$tmp/ed.json"
expect_error 1 "^$tmp/ed.json:15:1: error: run 2 is replication 1 with seed 9" \
    "$SIM_BIN" merge "$tmp/ed.json" "$b2" --out "$tmp/X"
# A shard file names nothing it does not use.
sed 's/"format" : "ingress-sim shard"/"bogus" : 3,\n  "format" : "ingress-sim shard"/' \
    "$b1" > "$tmp/bogus.json"
expect_error 1 "^$tmp/bogus.json:2:3: error: unknown field 'bogus'" \
    "$SIM_BIN" merge "$tmp/bogus.json" "$b2" --out "$tmp/X"
sed '0,/"replication":0,/s/"replication":0,/"zzz":1,"replication":0,/' \
    "$b1" > "$tmp/zzz.json"
expect_error 1 "^$tmp/zzz.json:[0-9]+:[0-9]+: error: unknown field 'zzz' in a run" \
    "$SIM_BIN" merge "$tmp/zzz.json" "$b2" --out "$tmp/X"
# A state whose counts do not balance cannot claim to be drained.
sed '0,/"totals":\[/s/"totals":\[\([0-9]*\),[0-9]*,/"totals":[\1,0,/' \
    "$b1" > "$tmp/unbal.json"
! cmp -s "$b1" "$tmp/unbal.json" || fail "the edit of totals did not apply"
expect_error 1 "^$tmp/unbal.json:[0-9]+:[0-9]+: error: replication 0 is marked drained, but its state has [0-9]+ requests sent and never ended" \
    "$SIM_BIN" merge "$tmp/unbal.json" "$b2" --out "$tmp/X"
# A forged header must not make merge allocate per claimed shard.
sed -e 's/"replications" *: *4/"replications":2147483647/' \
    -e 's/"shards" *: *2/"shards":2147483647/' "$b1" > "$tmp/huge.json"
expect_error 1 "^$tmp/huge.json:[0-9]+:[0-9]+: error: .*replications" \
    "$SIM_BIN" merge "$tmp/huge.json" --out "$tmp/X"
# Hostile nesting is refused before json-glib recurses into it (it
# overflowed the stack at 100k levels); a FIFO is refused, not read.
awk 'BEGIN { for (i = 0; i < 100000; i++) printf "["; print "" }' \
    > "$tmp/deep.json"
expect_error 1 "^$tmp/deep.json:1:65: error: JSON nested deeper than 64" \
    "$SIM_BIN" merge "$tmp/deep.json" --out "$tmp/X"
expect_error 1 "^$tmp/deep.json:1:65: error: JSON nested deeper than 64" \
    "$SIM_BIN" chart "$tmp/deep.json" -o "$tmp/X.png"
mkfifo "$tmp/fifo.json"
expect_error 1 "^$tmp/fifo.json:1:1: error: not a regular file" \
    "$SIM_BIN" merge "$tmp/fifo.json" --out "$tmp/X"
[ ! -e "$tmp/X" ] || fail "a refused merge left $tmp/X behind"

# SIGINT to a running set: every replication stops, nothing is written
# (no temporary shard file), exit 130. Sent once the set has begun.
"$SIM_BIN" run "$SIM_SRCDIR/scenarios/lessons/node-down.yaml" \
    --duration 700h --replications 4 --jobs 2 --shard 1/2 \
    --out "$tmp/int" --quiet 2> "$tmp/int.err" &
pid=$!
i=0
while [ -z "$(ls "$tmp/int" 2>/dev/null)" ] && [ $i -lt 100 ]; do
    sleep 0.1; i=$((i + 1))
done
kill -INT "$pid"
set +e; wait "$pid"; rc=$?; set -e
[ "$rc" -eq 130 ] || fail "an interrupted set exited $rc, not 130"
grep -q "error: interrupted (SIGINT)" "$tmp/int.err" || fail "no message: $(cat "$tmp/int.err")"
[ ! -e "$tmp/int" ] || fail "an interrupted set left $(ls "$tmp/int")"

# A replication that fails: its located error, exit 1, nothing written.
expect_error 1 "node-down.yaml:[0-9]+:[0-9]+: error: more than 1 events pending" \
    "$SIM_BIN" run "$sc" --replications 3 --max-pending 1 --out "$tmp/Y"
[ ! -e "$tmp/Y" ] || fail "a failed set left $tmp/Y behind"
expect_error 1 "node-down.yaml:[0-9]+:[0-9]+: error: more than 1 events pending" \
    "$SIM_BIN" run "$sc" --replications 3 --shard 2/3 --max-pending 1 \
    --out "$tmp/Y"
[ ! -e "$tmp/Y" ] || fail "a failed shard left $tmp/Y behind"

# Bad values: usage errors (exit 2, SCENARIO.md), nothing written.
expect_error 2 "--shard: '0/2': K must be from 1 to 2" run --replications 4 --shard 0/2 --out "$tmp/Z"
expect_error 2 "--shard: '3/2': K must be from 1 to 2" run --replications 4 --shard 3/2 --out "$tmp/Z"
expect_error 2 "--shard: '1/0': N, the number of shards, must be at least 1" run --shard 1/0 --out "$tmp/Z"
expect_error 2 "--shard: 'x' is not K/N" run --shard x --out "$tmp/Z"
expect_error 2 "--shard 1/2 needs at least 2 replications" run --shard 1/2 --out "$tmp/Z"
expect_error 2 "--replications: 0 is not between 1 and 100000" run --replications 0 --out "$tmp/Z"
expect_error 2 "--replications: 99999999999 is not between 1 and 100000" run --replications 99999999999 --out "$tmp/Z"
expect_error 2 "--jobs: -1 is not between 0 \(one per core\) and 1024" run --replications 2 --jobs -1 --out "$tmp/Z"
expect_error 2 "--access-log writes one run's requests" run --replications 2 --access-log "$tmp/al" --out "$tmp/Z"
expect_error 2 "expected SHARD.json files" "$SIM_BIN" merge
[ ! -e "$tmp/Z" ] || fail "a usage error left $tmp/Z behind"
echo "check-shard: all passed"
