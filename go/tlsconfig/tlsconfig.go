// Package tlsconfig is the transport security of the services: plaintext,
// TLS (the client verifies the server) or mutual TLS (the server also
// requires and verifies a client certificate), from PEM files that are
// re-read when they change, so a rotated Kubernetes Secret takes effect
// without a restart. It also authorises clients by the identity in their
// certificate (see Identity).
package tlsconfig

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"net"
	"os"
	"sync"

	"google.golang.org/grpc/credentials"
	"google.golang.org/grpc/credentials/insecure"
)

// Mode is how a connection is secured.
type Mode string

// The modes, as the -tls-mode flags spell them.
const (
	Plaintext Mode = "plaintext"
	TLS       Mode = "tls"
	MutualTLS Mode = "mtls"
)

// ParseMode reads a -tls-mode value.
func ParseMode(s string) (Mode, error) {
	switch m := Mode(s); m {
	case Plaintext, TLS, MutualTLS:
		return m, nil
	}
	return "", fmt.Errorf("unknown TLS mode %q: want plaintext, tls or mtls", s)
}

// UnmarshalText makes Mode a flag value (flag.TextVar).
func (m *Mode) UnmarshalText(b []byte) error {
	v, err := ParseMode(string(b))
	*m = v
	return err
}

// MarshalText makes Mode a flag value (flag.TextVar).
func (m Mode) MarshalText() ([]byte, error) { return []byte(m), nil }

// Files names the PEM files of one side of a connection.
type Files struct {
	Cert string // own certificate (chain)
	Key  string // its private key
	CA   string // the CA that signs the other side's certificate
}

// ServerCredentials secures a server's connections: TLS presents Cert/Key;
// mutual TLS also requires a client certificate signed by CA.
func ServerCredentials(mode Mode, f Files) (credentials.TransportCredentials, error) {
	if mode == Plaintext {
		return insecure.NewCredentials(), nil
	}
	switch {
	case f.Cert == "" || f.Key == "":
		return nil, fmt.Errorf("TLS mode %s needs a certificate and a key file", mode)
	case mode == MutualTLS && f.CA == "":
		return nil, errors.New("TLS mode mtls needs the CA file of client certificates")
	}
	pair, err := newKeyPair(f.Cert, f.Key)
	if err != nil {
		return nil, err
	}
	var clientCAs *certPool
	if mode == MutualTLS {
		if clientCAs, err = newCertPool(f.CA); err != nil {
			return nil, err
		}
	}
	return credentials.NewTLS(&tls.Config{
		MinVersion: tls.VersionTLS13,
		// Every handshake takes the current files.
		GetConfigForClient: func(*tls.ClientHelloInfo) (*tls.Config, error) {
			cert, err := pair.get()
			if err != nil {
				return nil, err
			}
			cfg := &tls.Config{
				MinVersion:   tls.VersionTLS13,
				Certificates: []tls.Certificate{*cert},
				NextProtos:   []string{"h2"},
			}
			if clientCAs != nil {
				if cfg.ClientCAs, err = clientCAs.get(); err != nil {
					return nil, err
				}
				cfg.ClientAuth = tls.RequireAndVerifyClientCert
			}
			return cfg, nil
		},
	}), nil
}

// ClientCredentials secures a client's connections: TLS verifies the server
// against CA, for serverName (empty: the host dialled); mutual TLS also
// presents Cert/Key.
func ClientCredentials(mode Mode, f Files, serverName string) (credentials.TransportCredentials, error) {
	if mode == Plaintext {
		return insecure.NewCredentials(), nil
	}
	switch {
	case f.CA == "":
		return nil, fmt.Errorf("TLS mode %s needs the CA file of the server's certificate", mode)
	case mode == MutualTLS && (f.Cert == "" || f.Key == ""):
		return nil, errors.New("TLS mode mtls needs a client certificate and a key file")
	}
	roots, err := newCertPool(f.CA)
	if err != nil {
		return nil, err
	}
	c := &clientCredentials{roots: roots, serverName: serverName}
	if mode == MutualTLS {
		if c.pair, err = newKeyPair(f.Cert, f.Key); err != nil {
			return nil, err
		}
	}
	return c, nil
}

// clientCredentials makes each handshake with grpc-go's own TLS credentials,
// built from the CA file as it is at that moment: crypto/tls verifies the
// server as usual, and a rotated CA bundle takes effect on the next
// connection. Handshakes are rare (connections are long-lived), so building
// the config each time costs nothing that matters.
type clientCredentials struct {
	roots      *certPool
	pair       *keyPair // nil unless mutual TLS
	serverName string
}

func (c *clientCredentials) current() (credentials.TransportCredentials, error) {
	pool, err := c.roots.get()
	if err != nil {
		return nil, err
	}
	cfg := &tls.Config{MinVersion: tls.VersionTLS13, RootCAs: pool, ServerName: c.serverName}
	if c.pair != nil {
		cfg.GetClientCertificate = func(*tls.CertificateRequestInfo) (*tls.Certificate, error) { return c.pair.get() }
	}
	return credentials.NewTLS(cfg), nil
}

func (c *clientCredentials) ClientHandshake(ctx context.Context, authority string, raw net.Conn) (net.Conn, credentials.AuthInfo, error) {
	creds, err := c.current()
	if err != nil {
		return nil, nil, err
	}
	return creds.ClientHandshake(ctx, authority, raw)
}

func (c *clientCredentials) ServerHandshake(net.Conn) (net.Conn, credentials.AuthInfo, error) {
	return nil, nil, errors.New("tlsconfig: client credentials cannot serve")
}

func (c *clientCredentials) Info() credentials.ProtocolInfo {
	return credentials.ProtocolInfo{SecurityProtocol: "tls", SecurityVersion: "1.3", ServerName: c.serverName}
}

func (c *clientCredentials) Clone() credentials.TransportCredentials {
	clone := *c
	return &clone
}

// OverrideServerName is part of credentials.TransportCredentials (deprecated there).
func (c *clientCredentials) OverrideServerName(name string) error {
	c.serverName = name
	return nil
}

// reloading holds what was last parsed from some files, and parses them
// again when their size or modification time changes. When a new version
// does not parse (a rotation caught half-written), the last good value
// stays in use.
type reloading[T any] struct {
	paths []string
	parse func() (T, error)

	mu    sync.Mutex
	stamp string
	value T
	valid bool
}

func (r *reloading[T]) get() (T, error) {
	stamp, err := fileStamp(r.paths...)
	r.mu.Lock()
	defer r.mu.Unlock()
	if err == nil && (!r.valid || stamp != r.stamp) {
		var v T
		if v, err = r.parse(); err == nil {
			r.value, r.valid, r.stamp = v, true, stamp
		}
	}
	if !r.valid {
		return r.value, err
	}
	return r.value, nil
}

func fileStamp(paths ...string) (string, error) {
	var stamp string
	for _, p := range paths {
		fi, err := os.Stat(p)
		if err != nil {
			return "", err
		}
		stamp += fmt.Sprintf("%d/%d;", fi.Size(), fi.ModTime().UnixNano())
	}
	return stamp, nil
}

type keyPair = reloading[*tls.Certificate]

// newKeyPair loads a certificate and key now (so a bad file fails at start)
// and again whenever they change.
func newKeyPair(cert, key string) (*keyPair, error) {
	kp := &keyPair{paths: []string{cert, key}, parse: func() (*tls.Certificate, error) {
		c, err := tls.LoadX509KeyPair(cert, key)
		return &c, err
	}}
	_, err := kp.get()
	return kp, err
}

type certPool = reloading[*x509.CertPool]

// newCertPool loads the CA certificates of a PEM file now and again whenever
// it changes.
func newCertPool(path string) (*certPool, error) {
	cp := &certPool{paths: []string{path}, parse: func() (*x509.CertPool, error) {
		pem, err := os.ReadFile(path)
		if err != nil {
			return nil, err
		}
		pool := x509.NewCertPool()
		if !pool.AppendCertsFromPEM(pem) {
			return nil, fmt.Errorf("%s: no PEM certificate", path)
		}
		return pool, nil
	}}
	_, err := cp.get()
	return cp, err
}
