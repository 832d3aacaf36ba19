"""Certificates made by openssl as Bazel actions, with certs/openssl.cnf.

openssl is a build tool like any other: the openssl module's binary (the
Bazel Central Registry's, built from source; offline, the stand-in in
tools/offline/modules/openssl), never the host's. -not_before and
-not_after need OpenSSL 3.4 or later.
"""

_OPENSSL = "@openssl//:openssl"

def ca(name, subject, **kwargs):
    """A self-signed CA: <name>.pem and <name>.key.

    Args:
      name: the target, and the stem of its two files.
      subject: the CA's distinguished name, e.g. "/CN=Bookstore development CA".
      **kwargs: common attributes (visibility, testonly).
    """
    native.genrule(
        name = name,
        srcs = ["openssl.cnf"],
        outs = [name + ".pem", name + ".key"],
        # openssl.cnf names CLIENT_NAME, which must be set to load the file.
        cmd = " ".join([
            "OPENSSL_CONF=$(execpath openssl.cnf) CLIENT_NAME=none",
            "$(execpath %s) req -x509 -config $(execpath openssl.cnf) -extensions ca" % _OPENSSL,
            "-newkey ec -pkeyopt ec_paramgen_curve:P-256 -noenc -days 3650",
            "-subj '%s'" % subject,
            "-keyout $(execpath %s.key) -out $(execpath %s.pem)" % (name, name),
        ]),
        tools = [_OPENSSL],
        **kwargs
    )

def leaf(name, ca, extensions, subject, client_name = "", not_before = None, not_after = None, **kwargs):
    """A certificate signed by ca: <name>.pem and <name>.key.

    Its serial number is random (openssl's default without -set_serial), so
    no two certificates share one.

    Args:
      name: the target, and the stem of its two files.
      ca: the name of the ca() target that signs it, in this package.
      extensions: the section of openssl.cnf with its extensions.
      subject: its distinguished name.
      client_name: the <name> of spiffe://bookstore/<name>, for client certificates.
      not_before: start of validity, YYYYMMDDHHMMSSZ (default: now).
      not_after: end of validity, YYYYMMDDHHMMSSZ (default: 825 days from now).
      **kwargs: common attributes (visibility, testonly).
    """
    validity = "-days 825"
    if not_before or not_after:
        if not (not_before and not_after):
            fail("%s: give both not_before and not_after, or neither" % name)
        validity = "-not_before %s -not_after %s" % (not_before, not_after)
    native.genrule(
        name = name,
        srcs = ["openssl.cnf", ca + ".pem", ca + ".key"],
        outs = [name + ".pem", name + ".key"],
        # The request goes from req to x509 through a pipe: no file beyond
        # the declared outputs.
        cmd = " && ".join([
            "set -o pipefail",
            # x509 has no -config: OPENSSL_CONF keeps it off any system default.
            "export OPENSSL_CONF=$(execpath openssl.cnf) CLIENT_NAME=%s" % (client_name or "none"),
            " ".join([
                "$(execpath %s) req -new -config $(execpath openssl.cnf)" % _OPENSSL,
                "-newkey ec -pkeyopt ec_paramgen_curve:P-256 -noenc",
                "-subj '%s' -keyout $(execpath %s.key) |" % (subject, name),
                "$(execpath %s) x509 -req" % _OPENSSL,
                "-CA $(execpath %s.pem) -CAkey $(execpath %s.key)" % (ca, ca),
                "-extfile $(execpath openssl.cnf) -extensions %s %s" % (extensions, validity),
                "-out $(execpath %s.pem)" % name,
            ]),
        ]),
        tools = [_OPENSSL],
        **kwargs
    )

def signing_key(name, **kwargs):
    """An ECDSA P-256 key pair for signing images: <name>.key (PKCS#8 PEM) and <name>.pub.

    P-256 is cosign's default, and `cosign verify --key <name>.pub` reads
    the public key as it is.

    Args:
      name: the target, and the stem of its two files.
      **kwargs: common attributes (visibility, testonly).
    """
    native.genrule(
        name = name,
        srcs = ["openssl.cnf"],
        outs = [name + ".key", name + ".pub"],
        cmd = " && ".join([
            # As ca(): openssl.cnf, never a system default.
            "export OPENSSL_CONF=$(execpath openssl.cnf) CLIENT_NAME=none",
            "$(execpath %s) genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-256 -out $(execpath %s.key)" % (_OPENSSL, name),
            "$(execpath %s) pkey -in $(execpath %s.key) -pubout -out $(execpath %s.pub)" % (_OPENSSL, name, name),
        ]),
        tools = [_OPENSSL],
        # A private key stays on the machine that made it: never in a
        # remote cache.
        tags = ["no-remote-cache"],
        **kwargs
    )
