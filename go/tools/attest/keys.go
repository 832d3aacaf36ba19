// Package attest signs images and attests what is in them, and verifies
// both, in cosign's on-registry format: Sigstore bundles (v0.3) that hold a
// DSSE envelope around an in-toto statement, each stored as an OCI 1.1
// referrer of the image it is about (cosign's specs/BUNDLE_SPEC.md). The
// bundles are made and checked by sigstore-go; the registry is spoken to by
// go-containerregistry. Signing is with a key pair, offline: no Fulcio
// certificate, no Rekor entry, no timestamp.
package attest

import (
	"context"
	"crypto"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/sha256"
	"crypto/x509"
	"encoding/base64"
	"encoding/pem"
	"errors"
	"fmt"
	"os"

	protocommon "github.com/sigstore/protobuf-specs/gen/pb-go/common/v1"
	"github.com/sigstore/sigstore/pkg/cryptoutils"
)

// Keypair is an ECDSA P-256 private key from a PEM file, as sigstore-go's
// signer wants it. sigstore-go makes ephemeral key pairs only, so this
// adapter is ours; it signs as cosign does with a P-256 key (ECDSA over
// SHA-256, ASN.1) and gives the same hint.
type Keypair struct {
	key *ecdsa.PrivateKey
}

// LoadKeypair reads a PKCS#8 or SEC 1 PEM private key, which must be ECDSA
// P-256 (what //certs:image_signing makes, and cosign's default).
func LoadKeypair(file string) (*Keypair, error) {
	b, err := os.ReadFile(file)
	if err != nil {
		return nil, err
	}
	block, _ := pem.Decode(b)
	if block == nil {
		return nil, fmt.Errorf("%s: no PEM block", file)
	}
	var key any
	switch block.Type {
	case "PRIVATE KEY":
		key, err = x509.ParsePKCS8PrivateKey(block.Bytes)
	case "EC PRIVATE KEY":
		key, err = x509.ParseECPrivateKey(block.Bytes)
	default:
		return nil, fmt.Errorf("%s: a %q PEM block, want PRIVATE KEY", file, block.Type)
	}
	if err != nil {
		return nil, fmt.Errorf("%s: %w", file, err)
	}
	ec, ok := key.(*ecdsa.PrivateKey)
	if !ok || ec.Curve != elliptic.P256() {
		return nil, fmt.Errorf("%s: not an ECDSA P-256 key", file)
	}
	return &Keypair{key: ec}, nil
}

func (k *Keypair) GetHashAlgorithm() protocommon.HashAlgorithm {
	return protocommon.HashAlgorithm_SHA2_256
}

func (k *Keypair) GetSigningAlgorithm() protocommon.PublicKeyDetails {
	return protocommon.PublicKeyDetails_PKIX_ECDSA_P256_SHA_256
}

// GetHint is base64(SHA-256(the public key's PKIX DER)), as cosign's and
// sigstore-go's own key pairs give.
func (k *Keypair) GetHint() []byte {
	der, err := x509.MarshalPKIXPublicKey(&k.key.PublicKey)
	if err != nil {
		return nil
	}
	sum := sha256.Sum256(der)
	return []byte(base64.StdEncoding.EncodeToString(sum[:]))
}

func (k *Keypair) GetKeyAlgorithm() string { return "ECDSA" }

func (k *Keypair) GetPublicKey() crypto.PublicKey { return &k.key.PublicKey }

func (k *Keypair) GetPublicKeyPem() (string, error) {
	b, err := cryptoutils.MarshalPublicKeyToPEM(&k.key.PublicKey)
	return string(b), err
}

// SignData returns the signature of data and the digest it signed.
func (k *Keypair) SignData(_ context.Context, data []byte) ([]byte, []byte, error) {
	digest := sha256.Sum256(data)
	sig, err := ecdsa.SignASN1(rand.Reader, k.key, digest[:])
	return sig, digest[:], err
}

// LoadPublicKey reads a PEM public key (PKIX), as `cosign verify --key`
// takes it.
func LoadPublicKey(file string) (crypto.PublicKey, error) {
	b, err := os.ReadFile(file)
	if err != nil {
		return nil, err
	}
	key, err := cryptoutils.UnmarshalPEMToPublicKey(b)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", file, err)
	}
	if key == nil {
		return nil, errors.New(file + ": no public key")
	}
	return key, nil
}
