#!/usr/bin/env bash
# Checks the certificate targets with openssl verify (see BUILD.bazel).
set -u
openssl="$1"
export OPENSSL_CONF=certs/openssl.cnf CLIENT_NAME=none
"$openssl" version >/dev/null || { echo "FAIL: cannot run $openssl"; exit 1; }
failures=0 passed=0

fail() { failures=$((failures + 1)); echo "FAIL: $*"; }

# expect CA CERT PURPOSE [REASON]: verify succeeds, or fails saying REASON.
expect() {
  local ca="certs/$1.pem" cert="certs/$2.pem" purpose="$3" reason="${4:-}" out
  if out=$("$openssl" verify -purpose "$purpose" -CAfile "$ca" "$cert" 2>&1); then
    [[ -z "$reason" ]] && passed=$((passed + 1)) || fail "$2 against $1 for $purpose: accepted, want refused ($reason)"
  else
    [[ -n "$reason" && "$out" == *"$reason"* ]] && passed=$((passed + 1)) || fail "$2 against $1 for $purpose: $out"
  fi
}

expect ca recommendations sslserver
expect ca recommendations_rotated sslserver
expect ca elsewhere sslserver
expect ca marketplace sslclient
expect ca intruder sslclient
expect other_ca other_client sslclient
expect ca expired sslclient "certificate has expired"
expect ca other_client sslclient "unable to get local issuer certificate"
expect ca marketplace sslserver "unsuitable certificate purpose"
expect ca recommendations sslclient "unsuitable certificate purpose"

# Every serial is different (the tutorial's certificates all had serial 1).
repeated=$(for c in recommendations recommendations_rotated elsewhere marketplace intruder expired; do
  "$openssl" x509 -noout -serial -in "certs/$c.pem"
done | sort | uniq -d)
[[ -z "$repeated" ]] && passed=$((passed + 1)) || fail "repeated serials: $repeated"

# The server certificate names every address it is reached by, and the
# client certificate carries its identity.
sans=$("$openssl" x509 -noout -ext subjectAltName -in certs/recommendations.pem)
for name in DNS:recommendations, DNS:recommendations.bookstore.svc.cluster.local DNS:localhost "IP Address:127.0.0.1"; do
  [[ "$sans" == *"$name"* ]] && passed=$((passed + 1)) || fail "server certificate lacks $name: $sans"
done
id=$("$openssl" x509 -noout -ext subjectAltName -in certs/marketplace.pem)
[[ "$id" == *"URI:spiffe://bookstore/marketplace"* ]] && passed=$((passed + 1)) || fail "client identity: $id"

echo "$passed passed, $failures failed"
[[ "$failures" == 0 ]]
