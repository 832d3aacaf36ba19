package tlsconfig

import (
	"context"
	"crypto/x509"
	"encoding/pem"
	"net"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/bazelbuild/rules_go/go/runfiles"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/credentials"
	"google.golang.org/grpc/health"
	healthpb "google.golang.org/grpc/health/grpc_health_v1"
	"google.golang.org/grpc/peer"
	"google.golang.org/grpc/status"
)

// cert returns the path of a file made by //certs, e.g. cert(t, "ca.pem").
func cert(t testing.TB, name string) string {
	t.Helper()
	p, err := runfiles.Rlocation("_main/certs/" + name)
	if err != nil {
		t.Fatal(err)
	}
	return p
}

// serve runs a health server with the given credentials on 127.0.0.1,
// admitting only marketplace when it requires mutual TLS.
func serve(t *testing.T, mode Mode, f Files) string {
	t.Helper()
	creds, err := ServerCredentials(mode, f)
	if err != nil {
		t.Fatal(err)
	}
	opts := []grpc.ServerOption{grpc.Creds(creds)}
	if mode == MutualTLS {
		opts = append(opts, Allow{"marketplace"}.ServerOptions()...)
	}
	srv := grpc.NewServer(opts...)
	healthpb.RegisterHealthServer(srv, health.NewServer())
	lis, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	go srv.Serve(lis)
	t.Cleanup(srv.Stop)
	return lis.Addr().String()
}

// call makes one health check through a new connection, returning the
// server certificate's serial when the call succeeded.
func call(t *testing.T, addr string, creds credentials.TransportCredentials) (string, error) {
	t.Helper()
	conn, err := grpc.NewClient(addr, grpc.WithTransportCredentials(creds))
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	var p peer.Peer
	_, err = healthpb.NewHealthClient(conn).Check(ctx, &healthpb.HealthCheckRequest{}, grpc.Peer(&p))
	if err != nil {
		return "", err
	}
	info, ok := p.AuthInfo.(credentials.TLSInfo)
	if !ok {
		return "", nil
	}
	return info.State.PeerCertificates[0].SerialNumber.String(), nil
}

func clientCreds(t *testing.T, mode Mode, ca, certName string) credentials.TransportCredentials {
	t.Helper()
	f := Files{CA: cert(t, ca+".pem")}
	if certName != "" {
		f.Cert, f.Key = cert(t, certName+".pem"), cert(t, certName+".key")
	}
	c, err := ClientCredentials(mode, f, "")
	if err != nil {
		t.Fatal(err)
	}
	return c
}

func TestMutualTLS(t *testing.T) {
	addr := serve(t, MutualTLS, Files{Cert: cert(t, "recommendations.pem"), Key: cert(t, "recommendations.key"), CA: cert(t, "ca.pem")})
	tests := []struct {
		name     string
		creds    credentials.TransportCredentials
		wantCode codes.Code
		wantMsg  string
	}{
		{"marketplace is served", clientCreds(t, MutualTLS, "ca", "marketplace"), codes.OK, ""},
		{"plaintext client", clientCreds(t, Plaintext, "ca", ""), codes.Unavailable, ""},
		{"client trusting another CA", clientCreds(t, MutualTLS, "other_ca", "marketplace"), codes.Unavailable, "certificate signed by unknown authority"},
		{"no client certificate", clientCreds(t, TLS, "ca", ""), codes.Unavailable, "certificate required"},
		{"client certificate from another CA", clientCreds(t, MutualTLS, "ca", "other_client"), codes.Unavailable, "unknown certificate authority"},
		{"expired client certificate", clientCreds(t, MutualTLS, "ca", "expired"), codes.Unavailable, "expired certificate"},
		{"valid client not on the allowlist", clientCreds(t, MutualTLS, "ca", "intruder"), codes.PermissionDenied, "client intruder is not allowed"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := call(t, addr, tt.creds)
			if got, want := status.Code(err), tt.wantCode; got != want {
				t.Fatalf("code: got %s (%v), want %s", got, err, want)
			}
			// In TLS 1.3 the server refuses a client certificate after the
			// client has finished its handshake: the client sees the alert,
			// or, when its write comes first, the connection closing.
			msg := status.Convert(err).Message()
			if !strings.Contains(msg, tt.wantMsg) && !strings.Contains(msg, "broken pipe") && !strings.Contains(msg, "connection reset") {
				t.Errorf("message %q lacks %q", msg, tt.wantMsg)
			}
		})
	}
}

func TestTLS_ServerNameMustMatch(t *testing.T) {
	addr := serve(t, TLS, Files{Cert: cert(t, "elsewhere.pem"), Key: cert(t, "elsewhere.key")})
	_, err := call(t, addr, clientCreds(t, TLS, "ca", ""))
	if got, want := status.Code(err), codes.Unavailable; got != want {
		t.Fatalf("code: got %s (%v), want %s", got, err, want)
	}
	if msg := status.Convert(err).Message(); !strings.Contains(msg, "cannot validate certificate for 127.0.0.1") {
		t.Errorf("message %q does not say the name is wrong", msg)
	}
	// The same server is fine for a client that dials it by its name.
	c, err := ClientCredentials(TLS, Files{CA: cert(t, "ca.pem")}, "elsewhere.example")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := call(t, addr, c); err != nil {
		t.Errorf("with the right server name: %v", err)
	}
}

func TestTLS_PlaintextServerRefusesNothingButSpeaksNoTLS(t *testing.T) {
	addr := serve(t, Plaintext, Files{})
	if _, err := call(t, addr, clientCreds(t, Plaintext, "ca", "")); err != nil {
		t.Errorf("plaintext to plaintext: %v", err)
	}
	if _, err := call(t, addr, clientCreds(t, TLS, "ca", "")); status.Code(err) != codes.Unavailable {
		t.Errorf("TLS to plaintext: got %v, want UNAVAILABLE", err)
	}
}

func TestRotation_NewConnectionsSeeTheNewCertificate(t *testing.T) {
	dir := t.TempDir()
	install := func(name string) {
		for _, ext := range []string{".pem", ".key"} {
			b, err := os.ReadFile(cert(t, name+ext))
			if err != nil {
				t.Fatal(err)
			}
			// Write then rename, as a Kubernetes Secret update swaps files.
			tmp := filepath.Join(dir, "tmp"+ext)
			if err := os.WriteFile(tmp, b, 0o600); err != nil {
				t.Fatal(err)
			}
			if err := os.Rename(tmp, filepath.Join(dir, "server"+ext)); err != nil {
				t.Fatal(err)
			}
		}
	}
	serial := func(name string) string {
		b, err := os.ReadFile(cert(t, name+".pem"))
		if err != nil {
			t.Fatal(err)
		}
		block, _ := pem.Decode(b)
		c, err := x509.ParseCertificate(block.Bytes)
		if err != nil {
			t.Fatal(err)
		}
		return c.SerialNumber.String()
	}

	install("recommendations")
	addr := serve(t, MutualTLS, Files{Cert: filepath.Join(dir, "server.pem"), Key: filepath.Join(dir, "server.key"), CA: cert(t, "ca.pem")})
	creds := clientCreds(t, MutualTLS, "ca", "marketplace")
	if got, err := call(t, addr, creds); err != nil || got != serial("recommendations") {
		t.Fatalf("before rotation: got serial %s (%v), want %s", got, err, serial("recommendations"))
	}
	// A later modification time than the first files', whatever the clock's resolution.
	time.Sleep(10 * time.Millisecond)
	install("recommendations_rotated")
	if got, err := call(t, addr, creds); err != nil || got != serial("recommendations_rotated") {
		t.Errorf("after rotation: got serial %s (%v), want %s", got, err, serial("recommendations_rotated"))
	}
}

func TestParseMode(t *testing.T) {
	for _, s := range []string{"plaintext", "tls", "mtls"} {
		if got, err := ParseMode(s); err != nil || string(got) != s {
			t.Errorf("ParseMode(%q) = %q, %v", s, got, err)
		}
	}
	if _, err := ParseMode("ssl"); err == nil {
		t.Error("ParseMode(ssl): got nil error")
	}
}

func TestNewCredentials_MissingFilesAreNamed(t *testing.T) {
	tests := []struct {
		name string
		err  func() error
		want string
	}{
		{"server tls without key", func() error { _, err := ServerCredentials(TLS, Files{Cert: "c.pem"}); return err }, "needs a certificate and a key file"},
		{"server mtls without CA", func() error {
			_, err := ServerCredentials(MutualTLS, Files{Cert: cert(t, "recommendations.pem"), Key: cert(t, "recommendations.key")})
			return err
		}, "needs the CA file of client certificates"},
		{"client tls without CA", func() error { _, err := ClientCredentials(TLS, Files{}, ""); return err }, "needs the CA file of the server's certificate"},
		{"client mtls without certificate", func() error { _, err := ClientCredentials(MutualTLS, Files{CA: cert(t, "ca.pem")}, ""); return err }, "needs a client certificate and a key file"},
	}
	for _, tt := range tests {
		if err := tt.err(); err == nil || !strings.Contains(err.Error(), tt.want) {
			t.Errorf("%s: got %v, want an error saying %q", tt.name, err, tt.want)
		}
	}
}

func TestNewCredentials_BadFilesFailAtStart(t *testing.T) {
	missing := filepath.Join(t.TempDir(), "missing.pem")
	if _, err := ServerCredentials(TLS, Files{Cert: missing, Key: missing}); err == nil {
		t.Error("server with missing files: got nil error")
	}
	if _, err := ClientCredentials(TLS, Files{CA: cert(t, "ca.key")}, ""); err == nil {
		t.Error("client with a key as CA: got nil error")
	}
}
