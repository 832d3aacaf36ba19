// Package tlsconfig is the transport security of the services: plaintext,
// TLS (the client verifies the server) or mutual TLS (the server also
// requires and verifies a client certificate, and serves only the clients
// it allows), from PEM files. Each side's flags, their checks and the gRPC
// options they make live here, so both binaries spell them the same way and
// every error names the flag to fix.
//
// The files are watched by grpc-go's pemfile certificate provider, so a
// rotated Kubernetes Secret takes effect on new connections without a
// restart.
package tlsconfig

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"flag"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"strings"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials"
	"google.golang.org/grpc/credentials/insecure"
	"google.golang.org/grpc/credentials/tls/certprovider"
	"google.golang.org/grpc/credentials/tls/certprovider/pemfile"
	"google.golang.org/grpc/security/advancedtls"

	"github.com/onlinebooks/bookstore/go/platform/authz"
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

// DefaultRefresh is how often the files are read again. A Kubernetes Secret
// mounted as a volume changes on the node within about a minute of its
// update, so a change is in use within two.
const DefaultRefresh = time.Minute

// Server is the security of a gRPC server's port.
type Server struct {
	Mode     Mode
	Cert     string // the server's certificate (chain)
	Key      string // its private key, in Cert's directory
	ClientCA string // the CA of client certificates (mtls)
	// AllowedClients are the client identities (authz.Identity) served
	// under mtls.
	AllowedClients []string
	// Refresh is how often the files are read again; 0 is DefaultRefresh.
	Refresh time.Duration
}

// RegisterFlags defines the server's flags on fs, with s's values as defaults.
func (s *Server) RegisterFlags(fs *flag.FlagSet) {
	registerCommon(fs, &s.Mode, &s.Refresh, "security of the gRPC API: plaintext, tls or mtls (client certificates required)")
	fs.StringVar(&s.Cert, "tls-cert", s.Cert, "server certificate (PEM)")
	fs.StringVar(&s.Key, "tls-key", s.Key, "server private key (PEM), in the certificate's folder")
	fs.StringVar(&s.ClientCA, "tls-client-ca", s.ClientCA, "CA of client certificates (PEM), for mtls")
	fs.Func("allowed-clients", fmt.Sprintf("comma-separated client identities served under mtls (default %s)", joinNames(s.AllowedClients)), func(v string) error {
		s.AllowedClients = splitNames(v)
		return nil
	})
}

// Options are the server options s makes: its credentials and, under mtls,
// the authorisation of allowed clients (authz). close stops watching the
// files. A missing or unreadable file is an error that names its flag.
func (s Server) Options() (opts []grpc.ServerOption, close func(), err error) {
	creds, close, err := s.credentials()
	if err != nil {
		return nil, nil, err
	}
	opts = []grpc.ServerOption{grpc.Creds(creds)}
	if s.Mode == MutualTLS {
		opts = append(opts, authz.ServerOptions(authz.Allow(s.AllowedClients))...)
	}
	return opts, close, nil
}

func (s Server) credentials() (creds credentials.TransportCredentials, close func(), err error) {
	if s.Mode == Plaintext {
		return insecure.NewCredentials(), func() {}, nil
	}
	if err := s.check(); err != nil {
		return nil, nil, err
	}
	files := pemfile.Options{CertFile: s.Cert, KeyFile: s.Key, RefreshDuration: s.Refresh}
	if s.Mode == MutualTLS {
		files.RootFile = s.ClientCA
	}
	provider, err := watch(files)
	if err != nil {
		return nil, nil, err
	}
	// crypto/tls verifies client certificates itself, from a config made for
	// each handshake with the provider's current files, rather than
	// advancedtls: its alerts tell the client why it was refused (expired,
	// unknown authority) where advancedtls' say only "bad certificate".
	return credentials.NewTLS(&tls.Config{
		MinVersion: tls.VersionTLS13,
		GetConfigForClient: func(hello *tls.ClientHelloInfo) (*tls.Config, error) {
			km, err := provider.KeyMaterial(hello.Context())
			if err != nil {
				return nil, err
			}
			cfg := &tls.Config{MinVersion: tls.VersionTLS13, Certificates: km.Certs, NextProtos: []string{"h2"}}
			if s.Mode == MutualTLS {
				cfg.ClientCAs, cfg.ClientAuth = km.Roots, tls.RequireAndVerifyClientCert
			}
			return cfg, nil
		},
	}), provider.Close, nil
}

func (s Server) check() error {
	if s.Cert == "" || s.Key == "" {
		return fmt.Errorf("-tls-mode=%s needs -tls-cert and -tls-key: the server's certificate and key", s.Mode)
	}
	if err := checkRefresh(s.Refresh); err != nil {
		return err
	}
	if err := checkKeyPair("-tls-cert", s.Cert, "-tls-key", s.Key); err != nil {
		return err
	}
	if s.Mode != MutualTLS {
		return nil
	}
	if s.ClientCA == "" {
		return errors.New("-tls-mode=mtls needs -tls-client-ca: the CA of client certificates")
	}
	if len(s.AllowedClients) == 0 {
		return errors.New("-tls-mode=mtls needs -allowed-clients: with none, every call would be refused")
	}
	return checkCA("-tls-client-ca", s.ClientCA)
}

// Client is the security of a gRPC client's connections.
type Client struct {
	Mode Mode
	CA   string // the CA of the server's certificate
	Cert string // the client's certificate (mtls)
	Key  string // its private key, in Cert's directory (mtls)
	// ServerName is the name the server's certificate must carry; empty
	// means the host dialled.
	ServerName string
	// Refresh is how often the files are read again; 0 is DefaultRefresh.
	Refresh time.Duration
}

// RegisterFlags defines the client's flags on fs, with c's values as
// defaults; serverName also defines -tls-server-name.
func (c *Client) RegisterFlags(fs *flag.FlagSet, serverName bool) {
	registerCommon(fs, &c.Mode, &c.Refresh, "security of the calls to Recommendations: plaintext, tls or mtls (present a client certificate)")
	fs.StringVar(&c.CA, "tls-ca", c.CA, "CA of Recommendations' certificate (PEM), for tls and mtls")
	fs.StringVar(&c.Cert, "tls-cert", c.Cert, "client certificate (PEM) for mtls")
	fs.StringVar(&c.Key, "tls-key", c.Key, "client private key (PEM) for mtls, in the certificate's folder")
	if serverName {
		fs.StringVar(&c.ServerName, "tls-server-name", c.ServerName, "name Recommendations' certificate must carry (default: the host dialled)")
	}
}

// registerCommon defines the flags both sides have, -tls-mode (default
// plaintext) and -tls-refresh (default DefaultRefresh), unless set already.
func registerCommon(fs *flag.FlagSet, mode *Mode, refresh *time.Duration, modeHelp string) {
	if *mode == "" {
		*mode = Plaintext
	}
	if *refresh == 0 {
		*refresh = DefaultRefresh
	}
	fs.TextVar(mode, "tls-mode", *mode, modeHelp)
	fs.DurationVar(refresh, "tls-refresh", *refresh, "how often the TLS files are read again, so a rotated certificate is used without a restart")
}

// DialOptions are the dial options c makes. close stops watching the files.
// A missing or unreadable file is an error that names its flag.
func (c Client) DialOptions() (opts []grpc.DialOption, close func(), err error) {
	creds, close, err := c.credentials()
	if err != nil {
		return nil, nil, err
	}
	opts = []grpc.DialOption{grpc.WithTransportCredentials(creds)}
	if c.ServerName != "" {
		opts = append(opts, grpc.WithAuthority(c.ServerName))
	}
	return opts, close, nil
}

func (c Client) credentials() (creds credentials.TransportCredentials, close func(), err error) {
	if c.Mode == Plaintext {
		return insecure.NewCredentials(), func() {}, nil
	}
	if err := c.check(); err != nil {
		return nil, nil, err
	}
	files := pemfile.Options{RootFile: c.CA, RefreshDuration: c.Refresh}
	if c.Mode == MutualTLS {
		files.CertFile, files.KeyFile = c.Cert, c.Key
	}
	provider, err := watch(files)
	if err != nil {
		return nil, nil, err
	}
	// advancedtls takes the CA for each handshake from the provider, which
	// crypto/tls' client config (fixed RootCAs) cannot.
	o := &advancedtls.Options{
		RootOptions:      advancedtls.RootCertificateOptions{RootProvider: provider},
		VerificationType: advancedtls.CertAndHostVerification,
		MinTLSVersion:    tls.VersionTLS13,
		MaxTLSVersion:    tls.VersionTLS13,
	}
	if c.Mode == MutualTLS {
		o.IdentityOptions.IdentityProvider = provider
	}
	tc, err := advancedtls.NewClientCreds(o)
	if err != nil {
		provider.Close()
		return nil, nil, err
	}
	return hostOnly{tc}, provider.Close, nil
}

// hostOnly hands advancedtls the host of the authority dialled, without
// its port: advancedtls sends the authority as it is as the TLS server name
// (SNI), where crypto/tls and grpc-go's own credentials send the host only
// (and nothing for an IP address), which is what proxies that route by SNI
// expect. advancedtls has no option for it, hence this wrapper.
type hostOnly struct {
	credentials.TransportCredentials
}

func (h hostOnly) ClientHandshake(ctx context.Context, authority string, conn net.Conn) (net.Conn, credentials.AuthInfo, error) {
	if host, _, err := net.SplitHostPort(authority); err == nil {
		authority = host
	}
	return h.TransportCredentials.ClientHandshake(ctx, authority, conn)
}

func (h hostOnly) Clone() credentials.TransportCredentials {
	return hostOnly{h.TransportCredentials.Clone()}
}

func (c Client) check() error {
	if c.CA == "" {
		return fmt.Errorf("-tls-mode=%s needs -tls-ca: the CA of the server's certificate", c.Mode)
	}
	if err := checkRefresh(c.Refresh); err != nil {
		return err
	}
	if err := checkCA("-tls-ca", c.CA); err != nil {
		return err
	}
	if c.Mode != MutualTLS {
		return nil
	}
	if c.Cert == "" || c.Key == "" {
		return errors.New("-tls-mode=mtls needs -tls-cert and -tls-key: the client's certificate and key")
	}
	return checkKeyPair("-tls-cert", c.Cert, "-tls-key", c.Key)
}

func checkRefresh(d time.Duration) error {
	if d < 0 {
		return fmt.Errorf("-tls-refresh=%s: want a positive duration", d)
	}
	return nil
}

// checkKeyPair fails, naming the flags, unless cert and key hold a
// certificate and its key, in one folder. The provider would only log the
// failure and wait for the files to appear; it reads the two from one
// folder so that a Secret's atomic swap of the folder never pairs an old
// certificate with a new key.
func checkKeyPair(certFlag, cert, keyFlag, key string) error {
	if filepath.Dir(cert) != filepath.Dir(key) {
		return fmt.Errorf("%s %s and %s %s: want the certificate and its key in one folder", certFlag, cert, keyFlag, key)
	}
	certPEM, err := os.ReadFile(cert)
	if err != nil {
		return fmt.Errorf("%s: %w", certFlag, err)
	}
	keyPEM, err := os.ReadFile(key)
	if err != nil {
		return fmt.Errorf("%s: %w", keyFlag, err)
	}
	if _, err := tls.X509KeyPair(certPEM, keyPEM); err != nil {
		return fmt.Errorf("%s %s and %s %s: %w", certFlag, cert, keyFlag, key, err)
	}
	return nil
}

// checkCA fails, naming the flag, unless path holds a PEM certificate.
func checkCA(caFlag, path string) error {
	b, err := os.ReadFile(path)
	if err != nil {
		return fmt.Errorf("%s: %w", caFlag, err)
	}
	if !x509.NewCertPool().AppendCertsFromPEM(b) {
		return fmt.Errorf("%s %s: no PEM certificate", caFlag, path)
	}
	return nil
}

// watch starts a pemfile provider of files and waits for its first reading,
// which check has shown will succeed unless the files change meanwhile.
func watch(files pemfile.Options) (certprovider.Provider, error) {
	if files.RefreshDuration == 0 {
		files.RefreshDuration = DefaultRefresh
	}
	provider, err := pemfile.NewProvider(files)
	if err != nil {
		return nil, err
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if _, err := provider.KeyMaterial(ctx); err != nil {
		provider.Close()
		return nil, fmt.Errorf("reading the TLS files: %w", err)
	}
	return provider, nil
}

func joinNames(names []string) string { return strings.Join(names, ",") }

// splitNames reads a comma-separated list, without empty names.
func splitNames(s string) []string {
	var names []string
	for n := range strings.SplitSeq(s, ",") {
		if n = strings.TrimSpace(n); n != "" {
			names = append(names, n)
		}
	}
	return names
}
