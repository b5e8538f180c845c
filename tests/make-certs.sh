#!/bin/sh
# make-certs.sh: creates the test PKI for tests/test-tls.c at test time (so no
# checked-in certificate ever expires), following Istio's secure-ingress docs.
#
# Usage: make-certs.sh OUTDIR
#
# OUTDIR/example_certs1/  CA1 example.com (O=example Inc./CN=example.com, RSA)
#   httpbin.example.com.{key,crt}  leaf of CA1, SAN DNS:httpbin.example.com
#   httpbin.example.com.fullchain.crt  that leaf, then CA1
#   client.example.com.{key,crt}   client certificate of CA1
#   wildcard.example.com.{key,crt} leaf of CA1, SAN DNS:*.example.com, valid
#                                  730 days (outlives CA1: an expired anchor)
#   intermediate.{key,crt}         CA "example Inc. Intermediate" under CA1
#   chain.example.com.{key,crt}    leaf of the intermediate
#   chain.example.com.chain.crt    that leaf, then the intermediate
# OUTDIR/example_certs2/  CA2 with the same subject as CA1 (as in the Istio
#   docs) but its own key, and its own httpbin.example.com.{key,crt}
#
# Keys: CA1 and its httpbin leaf are RSA 2048 as in the docs; the others are
# EC P-256, which is faster to make and covers a second key type.
set -eu

if [ $# -ne 1 ]; then
    echo "usage: $0 OUTDIR" >&2
    exit 2
fi
out=$1
d1=$out/example_certs1
d2=$out/example_certs2
mkdir -p "$d1" "$d2"

rsa="-newkey rsa:2048"
ec="-newkey ec -pkeyopt ec_paramgen_curve:prime256v1"

# leaf_ext FILE SAN EKU: extensions of an end-entity certificate.
leaf_ext() {
    {
        echo "basicConstraints = CA:FALSE"
        echo "subjectKeyIdentifier = hash"
        echo "authorityKeyIdentifier = keyid"
        echo "extendedKeyUsage = $3"
        echo "subjectAltName = $2"
    } >"$1"
}

# ca DIR NAME KEYSPEC SUBJECT: a self-signed root (openssl's v3_ca section).
ca() {
    # shellcheck disable=SC2086 # $3 is a list of options
    openssl req -x509 -sha256 -nodes -days 365 $3 -subj "$4" \
        -keyout "$1/$2.key" -out "$1/$2.crt" 2>/dev/null
}

# leaf DIR NAME KEYSPEC SUBJECT CADIR CANAME SERIAL DAYS SAN EKU
leaf() {
    # shellcheck disable=SC2086
    openssl req -out "$1/$2.csr" $3 -nodes -keyout "$1/$2.key" \
        -subj "$4" 2>/dev/null
    leaf_ext "$1/$2.ext" "$9" "${10}"
    openssl x509 -req -sha256 -days "$8" -CA "$5/$6.crt" -CAkey "$5/$6.key" \
        -set_serial "$7" -in "$1/$2.csr" -out "$1/$2.crt" \
        -extfile "$1/$2.ext" 2>/dev/null
}

# --- CA1 and its certificates ---------------------------------------------
ca "$d1" example.com "$rsa" "/O=example Inc./CN=example.com"
leaf "$d1" httpbin.example.com "$rsa" \
    "/CN=httpbin.example.com/O=httpbin organization" "$d1" example.com 0 365 \
    "DNS:httpbin.example.com" serverAuth
cat "$d1/httpbin.example.com.crt" "$d1/example.com.crt" \
    >"$d1/httpbin.example.com.fullchain.crt"
leaf "$d1" client.example.com "$ec" \
    "/CN=client.example.com/O=client organization" "$d1" example.com 1 365 \
    "DNS:client.example.com" clientAuth
leaf "$d1" wildcard.example.com "$ec" \
    "/CN=*.example.com/O=example Inc." "$d1" example.com 2 730 \
    "DNS:*.example.com" serverAuth

# An intermediate CA, so a missing intermediate can be tested.
# shellcheck disable=SC2086
openssl req -out "$d1/intermediate.csr" $ec -nodes \
    -keyout "$d1/intermediate.key" \
    -subj "/O=example Inc./CN=example Inc. Intermediate" 2>/dev/null
{
    echo "basicConstraints = critical, CA:TRUE, pathlen:0"
    echo "keyUsage = critical, keyCertSign, cRLSign"
    echo "subjectKeyIdentifier = hash"
    echo "authorityKeyIdentifier = keyid"
} >"$d1/intermediate.ext"
openssl x509 -req -sha256 -days 365 -CA "$d1/example.com.crt" \
    -CAkey "$d1/example.com.key" -set_serial 3 -in "$d1/intermediate.csr" \
    -out "$d1/intermediate.crt" -extfile "$d1/intermediate.ext" 2>/dev/null
leaf "$d1" chain.example.com "$ec" \
    "/CN=chain.example.com/O=chain organization" "$d1" intermediate 4 365 \
    "DNS:chain.example.com" serverAuth
cat "$d1/chain.example.com.crt" "$d1/intermediate.crt" \
    >"$d1/chain.example.com.chain.crt"

# --- CA2: same subject as CA1, different key ------------------------------
ca "$d2" example.com "$ec" "/O=example Inc./CN=example.com"
leaf "$d2" httpbin.example.com "$ec" \
    "/CN=httpbin.example.com/O=httpbin organization" "$d2" example.com 0 365 \
    "DNS:httpbin.example.com" serverAuth

rm -f "$d1"/*.csr "$d2"/*.csr "$d1"/*.ext "$d2"/*.ext
