#!/bin/sh
# check-lessons.sh: every lesson of scenarios/lessons/README.md, run with
# its one command, shows the effect it teaches: the step, reason, status
# and flags of a traced request (`trace --json`), the counts of a run
# (`run --json`), and the narrated text of `trace` (the sentence a step,
# the rule, what to change). POSIX sh, grep and sed only (no jq, no
# python): CI machines may lack them. Env: SIM_BIN, SIM_SRCDIR.
set -eu
: "${SIM_BIN:=./ingress-sim}" "${SIM_SRCDIR:=.}"
L="$SIM_SRCDIR/scenarios/lessons"
A="$SIM_SRCDIR/scenarios/article"
tmp=$(mktemp -d "${TMPDIR:-/tmp}/check-lessons.XXXXXX")
trap 'rm -rf "$tmp"' EXIT
failures=0
checks=0
fail() {
    echo "FAIL: $*" >&2
    failures=$((failures + 1))
}

# JSON is pretty-printed; flattened (no blanks, one line) it greps simply.
# Keys and strings of our JSON carry no blanks that matter here.
flat() { tr -d ' \n' < "$1"; }

# trace NAME LESSON URL [OPTIONS]: trace --json into $tmp/NAME.json and the
# narrated text into $tmp/NAME.txt.
trace() {
    n=$1 f=$2 u=$3
    shift 3
    "$SIM_BIN" trace "$f" "$u" --json "$@" > "$tmp/$n.json" ||
        fail "$n: trace --json exited $?"
    "$SIM_BIN" trace "$f" "$u" "$@" > "$tmp/$n.txt" ||
        fail "$n: trace exited $?"
}

# outcome NAME KIND STATUS FLAGS STEP REASON: the outcome object of trace
# NAME (null for what does not apply).
outcome() {
    checks=$((checks + 1))
    o=$(flat "$tmp/$1.json" | sed 's/.*"outcome":{\([^}]*\)}.*/\1/')
    q() { case $1 in null) echo null ;; *) echo "\"$1\"" ;; esac; }
    want="\"kind\":\"$2\",\"status\":$3,\"response_flags\":$(q "$4"),"
    case $o in
    "$want"*) ;;
    *) fail "$1: outcome $o, want $want..." ;;
    esac
    case $o in
    *"\"step\":$5,\"reason\":$(q "$6"),"*) ;;
    *) fail "$1: outcome $o, want step $5 reason $6" ;;
    esac
}

# has NAME TEXT: the flattened trace JSON of NAME contains TEXT.
has() {
    checks=$((checks + 1))
    flat "$tmp/$1.json" | grep -qF -- "$2" || fail "$1: no $2 in trace --json"
}

# says NAME TEXT: the narrated text of NAME contains TEXT (wrapping joined).
says() {
    checks=$((checks + 1))
    tr '\n' ' ' < "$tmp/$1.txt" | sed 's/  */ /g' | grep -qF -- "$2" ||
        fail "$1: the narration does not say '$2':
$(cat "$tmp/$1.txt")"
}

# run NAME LESSON [OPTIONS]: run --json into $tmp/NAME.run (balance
# checked: the run exits 1 if it does not hold).
run() {
    n=$1 f=$2
    shift 2
    "$SIM_BIN" run "$f" --json --out "$tmp/$n.out" "$@" > "$tmp/$n.run" ||
        fail "$n: run exited $?"
}

# Counts from results.json, 0 when absent.
num() { sed -n '1s/[^0-9]*\([0-9][0-9]*\).*/\1/p'; }
total() { # total NAME KEY: totals.KEY
    v=$(flat "$tmp/$1.run" | sed 's/.*"totals":{\([^}]*\)}.*/\1/' |
        grep -o "\"$2\":[0-9]*" | num)
    echo "${v:-0}"
}
failed() { # failed NAME STEP REASON
    v=$(flat "$tmp/$1.run" |
        grep -o "{\"step\":$2,\"reason\":\"$3\",\"count\":[0-9]*}" |
        sed 's/.*"count"://' | num)
    echo "${v:-0}"
}
answered() { # answered NAME STATUS ORIGIN
    v=$(flat "$tmp/$1.run" |
        grep -o "{\"status\":$2,\"origin\":\"$3\",\"count\":[0-9]*}" |
        sed 's/.*"count"://' | num)
    echo "${v:-0}"
}
cluster() { # cluster NAME CLUSTER: outcomes counted for the cluster
    v=$(flat "$tmp/$1.run" | grep -o "\"$2\":{\"count\":[0-9]*}" |
        sed 's/.*"count"://' | num)
    echo "${v:-0}"
}
event() { # event NAME TEXT: the run's events mention TEXT
    checks=$((checks + 1))
    flat "$tmp/$1.run" | grep -qF "\"event\":\"$(echo "$2" | tr -d ' ')\"" ||
        fail "$1: no event '$2' in results.json"
}
# expect WHAT A OP B: an integer comparison with a message.
expect() {
    checks=$((checks + 1))
    [ "$2" "$3" "$4" ] || fail "$1: $2 $3 $4 does not hold"
}

# ---- 1. The nine steps of one request (the article) ------------------------
trace nine "$SIM_SRCDIR/scenarios/article.yaml" https://counter.example.com/ \
    --cacert "$A/example-ca.crt"
outcome nine response 200 - 9 null
for s in 1 2 3 4 5 6 7 8 9; do
    has nine "{\"step\":$s,\"component\""
done
has nine '"certificate":"istio-system/istio-ingressgateway-certs"'
# Narrated: one paragraph a step, kube-proxy's walk condensed to one.
expect nine-paragraphs "$(grep -c '^[1-9]\. ' "$tmp/nine.txt")" -eq 9
says nine "3. node + kube-proxy on worker-1"
says nine "The NodePort rule for istio-system/istio-ingressgateway:https (tcp --dport 30443) matched"
says nine "VirtualService default/counter, route 1 (default/counter http[0]): prefix / matched"
says nine "R9.6: routes are tried in order"
says nine "Outcome: HTTP 200 from the application pod"
says nine "Where the time went: client <-> load balancer"
checks=$((checks + 1))
grep -q '^What to change' "$tmp/nine.txt" && fail "nine: a hint for a 200"
"$SIM_BIN" trace "$SIM_SRCDIR/scenarios/article.yaml" \
    https://counter.example.com/ --explain > "$tmp/explain.txt"
checks=$((checks + 1))
[ "$(grep -c 'Background:' "$tmp/explain.txt")" -eq 9 ] ||
    fail "--explain: not one background a step: $(cat "$tmp/explain.txt")"
"$SIM_BIN" trace "$SIM_SRCDIR/scenarios/article.yaml" \
    https://counter.example.com/ --verbose > "$tmp/verbose.txt"
checks=$((checks + 1))
[ "$(grep -c '\[step 3, .*kube-proxy on worker-1: nat ' "$tmp/verbose.txt")" \
    -ge 5 ] || fail "--verbose: kube-proxy's rules are not listed one by one"

# ---- 2. The article as written: its port mismatch -------------------------
trace written "$L/article-as-written.yaml" http://counter.example.com/
outcome written failure null null 3 refused
says written "What to change: Nothing listens on nodePort 30080 on node worker-1"
says written "its nodePorts: 30000 (http2)"

# ---- 3. Adding a port: all four places, then each one forgotten -----------
trace port "$L/add-port.yaml" tcp://cache.example.com:6379
outcome port connection null null 9 null
has port '"server":"istio-system/redis-gatewayservers[0]"'
run port "$L/add-port.yaml"
expect add-port-connections "$(total port connections)" -gt 100
expect add-port-failures "$(total port failures)" -eq 0

trace nogw "$L/add-port-no-gateway-server.yaml" tcp://cache.example.com:6379
outcome nogw failure null null 5 refused
says nogw "No Gateway has a server on port 6379"
run nogw "$L/add-port-no-gateway-server.yaml"
expect nogw-refused "$(failed nogw 5 refused)" -gt 100
expect nogw-http-still-works "$(answered nogw 200 app)" -gt 100

trace novs "$L/add-port-no-virtualservice.yaml" tcp://cache.example.com:6379
outcome novs failure null null 5 refused
says novs "so the VirtualService is what is missing"
run novs "$L/add-port-no-virtualservice.yaml"
expect novs-refused "$(failed novs 5 refused)" -gt 100

trace nosvc "$L/add-port-no-service-port.yaml" tcp://cache.example.com:6379
outcome nosvc failure null null 3 refused
says nosvc "Nothing listens on nodePort 30379 on node worker-1"
run nosvc "$L/add-port-no-service-port.yaml"
expect nosvc-refused "$(failed nosvc 3 refused)" -gt 100

trace nolb "$L/add-port-no-lb-listener.yaml" tcp://cache.example.com:6379
outcome nolb failure null null 2 refused
says nolb "add {port: 6379, nodePort: 30379} to spec.loadBalancer.listeners"
run nolb "$L/add-port-no-lb-listener.yaml"
expect nolb-refused "$(failed nolb 2 refused)" -gt 100

# ---- 4. Adding certificates ------------------------------------------------
trace tls "$L/tls-credential.yaml" https://shop.example.com/ \
    --cacert "$A/example-ca.crt"
outcome tls response 200 - 9 null
has tls '"filter_chain":{"server_names":["shop.example.com"]}'
has tls '"certificate":"istio-system/istio-ingressgateway-certs"'
trace nosecret "$L/tls-missing-secret.yaml" https://shop.example.com/
outcome nosecret failure null null 5 tls-handshake
says nosecret "The Secret istio-system/shop-cert that the Gateway server names in credentialName does not exist"
trace nosecret-other "$L/tls-missing-secret.yaml" https://counter.example.com/
outcome nosecret-other response 200 - 9 null
run nosecret "$L/tls-missing-secret.yaml"
expect nosecret-handshakes "$(failed nosecret 5 tls-handshake)" -gt 100
expect nosecret-counter-ok "$(answered nosecret 200 app)" -gt 100

# ---- 5. Exact versus wildcard hosts, and the 404 ----------------------------
trace exact "$L/hosts.yaml" http://counter.example.com/
outcome exact response 200 - 9 null
has exact '"virtual_host":"counter.example.com:80"'
has exact '"upstream":{"pod":"default/counter-'
trace wild "$L/hosts.yaml" http://shop.example.com/
outcome wild response 200 - 9 null
has wild '"virtual_host":"*.example.com:80"'
has wild '"upstream":{"pod":"default/www-0"'
trace nohost "$L/hosts.yaml" http://example.org/
outcome nohost response 404 NR 7 null
has nohost '"origin":"gateway"'
says nohost "names the host 'example.org'"
run hosts "$L/hosts.yaml"
expect hosts-404 "$(answered hosts 404 gateway)" -gt 100

# ---- 6. A Gateway without a VirtualService ---------------------------------
trace novsgw "$L/gateway-without-virtualservice.yaml" http://counter.example.com/
outcome novsgw response 404 NR 7 null
has novsgw '"virtual_host":"blackhole:80"'
says novsgw "No VirtualService is bound to the Gateway istio-system/public-gw"
run novsgw "$L/gateway-without-virtualservice.yaml"
expect novsgw-all-404 "$(answered novsgw 404 gateway)" -eq "$(total novsgw sent)"

# ---- 7. Node failure and the load balancer's detection lag -----------------
run down "$L/node-down.yaml"
expect down-timeouts "$(failed down 3 timeout)" -gt 50
event down "load balancer: worker-3 out of rotation"

# ---- 8. externalTrafficPolicy Local ----------------------------------------
trace etp "$L/etp-local.yaml" http://counter.example.com/
outcome etp failure null null 3 timeout
says etp "has no local endpoints"
says etp "healthCheckNodePort 32021"
run etp "$L/etp-local.yaml"
sent=$(total etp sent)
lost=$(failed etp 3 timeout)
expect etp-a-third-lost "$((lost * 100 / sent))" -ge 25
expect etp-a-third-lost "$((lost * 100 / sent))" -le 40
trace etphc "$L/etp-local-health-check.yaml" http://counter.example.com/ --at 5s
outcome etphc response 200 - 9 null
has etphc '{"step":2,"component":"loadbalancer"'
says etphc "2 of 3 backends in rotation"
run etphc "$L/etp-local-health-check.yaml"
sent=$(total etphc sent)
lost=$(failed etphc 3 timeout)
expect etphc-few-lost "$((lost * 100 / sent))" -le 8
event etphc "load balancer: worker-3 out of rotation"

# ---- 9. A canary with weights ----------------------------------------------
run canary "$L/canary.yaml"
v1=$(cluster canary 'outbound|80|v1|counter.default.svc.cluster.local')
v2=$(cluster canary 'outbound|80|v2|counter.default.svc.cluster.local')
expect canary-v1 "$v1" -gt 0
expect canary-v2 "$v2" -gt 0
share=$((v2 * 1000 / (v1 + v2)))
expect canary-10-percent "$share" -ge 80
expect canary-10-percent "$share" -le 120

# ---- 10. A timeout, and retries --------------------------------------------
trace slow "$L/timeout.yaml" http://counter.example.com/slow
outcome slow response 504 UT 7 null
says slow "The route's timeout (1s) expired"
trace fast "$L/timeout.yaml" http://counter.example.com/
outcome fast response 200 - 9 null
run slow "$L/timeout.yaml"
expect timeout-504s "$(answered slow 504 gateway)" -gt 50
run crash "$L/pod-crash.yaml"
run crash0 "$L/pod-crash-no-retries.yaml"
expect retries-hide-crash "$(answered crash 503 gateway)" -lt \
    "$(answered crash0 503 gateway)"

# ---- 11. A pod alive but not ready ------------------------------------------
run flap "$L/readiness-flap.yaml"
expect flap-no-failure "$(total flap failures)" -eq 0
event flap "pod default/counter-0 NotReady (readiness probe failed 3 times)"
event flap "endpoints: default/counter-0 not ready"
event flap "pod default/counter-0 Ready (readiness probe passed 1 time)"

# ---- 12. Keep-alive connections stay where they were opened ----------------
run ka "$L/keepalive-gateway-restart.yaml"
expect ka-no-failure "$(total ka failures)" -eq 0
expect ka-reused "$(total ka reused)" -gt 11000
ka0=$(flat "$tmp/ka.run" |
    grep -o '"istio-system/istio-ingressgateway-0":{"count":[0-9]*}' |
    sed 's/.*"count"://' | num)
expect ka-pod0-first-10s-only "${ka0:-0}" -lt 1500

[ "$failures" -eq 0 ] || {
    echo "check-lessons: $failures of $checks checks failed" >&2
    exit 1
}
echo "check-lessons: all $checks checks passed"
