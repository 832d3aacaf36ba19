#!/usr/bin/env bash
# The stand-in's openssl against what the registry's openssl 3.5.8.bcr.0
# offers the certificates of the repository using it (certs/defs.bzl):
#   * `openssl version` says "OpenSSL 3.<minor>.<patch> <date>": the module
#     builds OpenSSL 3.5.8; -not_before and -not_after of `x509` are there
#     from 3.4 on, so 3.4 would not do and any 3.5 or later does.
#   * the options of certs/defs.bzl's genrules, run as they run them:
#     a P-256 CA from `req -x509`, a request from `req -new`, a leaf from
#     `x509 -req` with -extfile/-extensions and explicit validity dates, and
#     a signing key pair from `genpkey` and `pkey -pubout` (PKCS#8 and PKIX
#     PEM, which Go's x509 and cosign read).
set -o errexit -o nounset -o pipefail

openssl=$1
fail() { echo "FAIL: $*" >&2; exit 1; }

version=$("$openssl" version)
[[ "$version" =~ ^OpenSSL\ 3\.([0-9]+)\.[0-9]+ ]] || fail "openssl version: got '$version', want OpenSSL 3.x.y"
(( BASH_REMATCH[1] >= 5 )) || fail "openssl version: got '$version', want 3.5 or later"
echo "ok: $version"

work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
cat >"$work/openssl.cnf" <<'CNF'
[req]
distinguished_name = dn
[dn]
[ca]
basicConstraints = critical, CA:true
keyUsage = critical, keyCertSign
[server]
subjectAltName = DNS:localhost
extendedKeyUsage = serverAuth
CNF
export OPENSSL_CONF="$work/openssl.cnf"

"$openssl" req -x509 -config "$OPENSSL_CONF" -extensions ca \
  -newkey ec -pkeyopt ec_paramgen_curve:P-256 -noenc -days 3650 \
  -subj '/CN=conformance CA' -keyout "$work/ca.key" -out "$work/ca.pem" 2>"$work/err" ||
  fail "req -x509: $(cat "$work/err")"
"$openssl" req -new -config "$OPENSSL_CONF" \
  -newkey ec -pkeyopt ec_paramgen_curve:P-256 -noenc \
  -subj '/CN=localhost' -keyout "$work/leaf.key" -out "$work/leaf.csr" 2>"$work/err" ||
  fail "req -new: $(cat "$work/err")"
"$openssl" x509 -req -in "$work/leaf.csr" -CA "$work/ca.pem" -CAkey "$work/ca.key" \
  -extfile "$OPENSSL_CONF" -extensions server \
  -not_before 20300101000000Z -not_after 20310101000000Z -out "$work/leaf.pem" 2>"$work/err" ||
  fail "x509 -req: $(cat "$work/err")"

dates=$("$openssl" x509 -in "$work/leaf.pem" -noout -startdate -enddate)
want=$'notBefore=Jan  1 00:00:00 2030 GMT\nnotAfter=Jan  1 00:00:00 2031 GMT'
[[ "$dates" == "$want" ]] || fail "leaf validity: got '$dates', want '$want'"
"$openssl" verify -CAfile "$work/ca.pem" -attime 1906502400 "$work/leaf.pem" >/dev/null 2>"$work/err" ||
  fail "the leaf does not verify against the CA: $(cat "$work/err")"
curve=$("$openssl" x509 -in "$work/ca.pem" -noout -text | grep -c 'NIST CURVE: P-256' || true)
(( curve == 1 )) || fail "the CA's key is not P-256"
echo "ok: req -x509, req -new and x509 -req with certs/defs.bzl's options"

"$openssl" genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-256 -out "$work/signing.key" 2>"$work/err" ||
  fail "genpkey: $(cat "$work/err")"
"$openssl" pkey -in "$work/signing.key" -pubout -out "$work/signing.pub" 2>"$work/err" ||
  fail "pkey -pubout: $(cat "$work/err")"
[[ "$(head -1 "$work/signing.key")" == "-----BEGIN PRIVATE KEY-----" ]] ||
  fail "genpkey: got '$(head -1 "$work/signing.key")', want a PKCS#8 PEM key"
[[ "$(head -1 "$work/signing.pub")" == "-----BEGIN PUBLIC KEY-----" ]] ||
  fail "pkey -pubout: got '$(head -1 "$work/signing.pub")', want a PKIX PEM public key"
"$openssl" pkey -pubin -in "$work/signing.pub" -noout -text | grep -q 'NIST CURVE: P-256' ||
  fail "the signing key is not P-256"
echo "ok: genpkey and pkey -pubout with certs/defs.bzl's options"
