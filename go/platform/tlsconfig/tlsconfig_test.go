package tlsconfig

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"encoding/pem"
	"errors"
	"flag"
	"net"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/credentials"
	"google.golang.org/grpc/health"
	healthpb "google.golang.org/grpc/health/grpc_health_v1"
	"google.golang.org/grpc/peer"
	"google.golang.org/grpc/status"

	"github.com/onlinebooks/bookstore/go/testkit"
)

// handshakes records why a server refused connections: the errors of its
// credentials' handshakes.
type handshakes struct {
	credentials.TransportCredentials
	errs chan error
}

func (h handshakes) ServerHandshake(c net.Conn) (net.Conn, credentials.AuthInfo, error) {
	conn, info, err := h.TransportCredentials.ServerHandshake(c)
	if err != nil {
		select {
		case h.errs <- err:
		default:
		}
	}
	return conn, info, err
}

// serve runs a health server secured by s on 127.0.0.1. Its handshake
// errors arrive on the channel returned.
func serve(t *testing.T, s Server) (string, chan error) {
	t.Helper()
	s.Refresh = 10 * time.Millisecond
	opts, stop, err := s.Options()
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(stop)
	errs := make(chan error, 16)
	// The same credentials once more, wrapped to record refusals: the later
	// grpc.Creds wins.
	opts = append(opts, grpc.Creds(handshakes{serverCreds(t, s), errs}))
	srv := grpc.NewServer(opts...)
	healthpb.RegisterHealthServer(srv, health.NewServer())
	lis, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	go srv.Serve(lis)
	t.Cleanup(srv.Stop)
	return lis.Addr().String(), errs
}

// serverCreds are the transport credentials s makes.
func serverCreds(t *testing.T, s Server) credentials.TransportCredentials {
	t.Helper()
	creds, stop, err := s.credentials()
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(stop)
	return creds
}

// call makes one health check through a new connection made with opts,
// returning the server certificate's serial when the call succeeded.
func call(t *testing.T, addr string, opts []grpc.DialOption) (string, error) {
	t.Helper()
	conn, err := grpc.NewClient(addr, opts...)
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

func client(t *testing.T, mode Mode, ca, certName string) []grpc.DialOption {
	t.Helper()
	c := Client{Mode: mode, CA: testkit.Cert(t, ca+".pem"), Refresh: 10 * time.Millisecond}
	if certName != "" {
		c.Cert, c.Key = testkit.Cert(t, certName+".pem"), testkit.Cert(t, certName+".key")
	}
	opts, stop, err := c.DialOptions()
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(stop)
	return opts
}

func recommendationsServer(t *testing.T, mode Mode) Server {
	return Server{Mode: mode, Cert: testkit.Cert(t, "recommendations.pem"), Key: testkit.Cert(t, "recommendations.key"), ClientCA: testkit.Cert(t, "ca.pem"), AllowedClients: []string{"marketplace"}}
}

func TestMutualTLS(t *testing.T) {
	addr, handshakeErrs := serve(t, recommendationsServer(t, MutualTLS))
	tests := []struct {
		name     string
		client   []grpc.DialOption
		wantCode codes.Code
		// What the client is told, and, when the server refused the
		// handshake, what the server saw.
		wantMsg, wantServerErr string
	}{
		{"marketplace is served", client(t, MutualTLS, "ca", "marketplace"), codes.OK, "", ""},
		{"plaintext client", client(t, Plaintext, "ca", ""), codes.Unavailable, "", "first record does not look like a TLS handshake"},
		{"client trusting another CA", client(t, MutualTLS, "other_ca", "marketplace"), codes.Unavailable, "certificate signed by unknown authority", ""},
		{"no client certificate", client(t, TLS, "ca", ""), codes.Unavailable, "", "client didn't provide a certificate"},
		{"client certificate from another CA", client(t, MutualTLS, "ca", "other_client"), codes.Unavailable, "", "certificate signed by unknown authority"},
		{"expired client certificate", client(t, MutualTLS, "ca", "expired"), codes.Unavailable, "", "certificate has expired"},
		{"valid client not on the allowlist", client(t, MutualTLS, "ca", "intruder"), codes.PermissionDenied, "client intruder is not allowed", ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := call(t, addr, tt.client)
			if got, want := status.Code(err), tt.wantCode; got != want {
				t.Fatalf("code: got %s (%v), want %s", got, err, want)
			}
			if msg := status.Convert(err).Message(); tt.wantMsg != "" && !strings.Contains(msg, tt.wantMsg) {
				t.Errorf("message %q lacks %q", msg, tt.wantMsg)
			}
			// In TLS 1.3 the server refuses a client certificate after the
			// client has finished its handshake, so the client may see the
			// connection close rather than the alert: the reason is read
			// where it is certain, on the server.
			if tt.wantServerErr == "" {
				return
			}
			// An earlier case's refusal may still arrive: this case's is
			// the one that says why.
			var seen []string
			for timeout := time.After(5 * time.Second); ; {
				select {
				case got := <-handshakeErrs:
					if strings.Contains(got.Error(), tt.wantServerErr) {
						return
					}
					seen = append(seen, got.Error())
					continue
				case <-timeout:
				}
				break
			}
			t.Errorf("the server saw no failed handshake saying %q, only %q", tt.wantServerErr, seen)
		})
	}
}

func TestTLS_ServerNameMustMatch(t *testing.T) {
	addr, _ := serve(t, Server{Mode: TLS, Cert: testkit.Cert(t, "elsewhere.pem"), Key: testkit.Cert(t, "elsewhere.key")})
	_, err := call(t, addr, client(t, TLS, "ca", ""))
	if got, want := status.Code(err), codes.Unavailable; got != want {
		t.Fatalf("code: got %s (%v), want %s", got, err, want)
	}
	if msg := status.Convert(err).Message(); !strings.Contains(msg, "cannot validate certificate for 127.0.0.1") {
		t.Errorf("message %q does not say the name is wrong", msg)
	}
	// The same server is fine for a client that dials it by its name.
	opts, stop, err := Client{Mode: TLS, CA: testkit.Cert(t, "ca.pem"), ServerName: "elsewhere.example"}.DialOptions()
	if err != nil {
		t.Fatal(err)
	}
	defer stop()
	if _, err := call(t, addr, opts); err != nil {
		t.Errorf("with the right server name: %v", err)
	}
}

func TestTLS_PlaintextServerSpeaksNoTLS(t *testing.T) {
	addr, _ := serve(t, Server{Mode: Plaintext})
	if _, err := call(t, addr, client(t, Plaintext, "ca", "")); err != nil {
		t.Errorf("plaintext to plaintext: %v", err)
	}
	if _, err := call(t, addr, client(t, TLS, "ca", "")); status.Code(err) != codes.Unavailable {
		t.Errorf("TLS to plaintext: got %v, want UNAVAILABLE", err)
	}
}

func TestRotation_NewConnectionsSeeTheNewCertificate(t *testing.T) {
	dir := t.TempDir()
	install := func(name string) {
		for _, ext := range []string{".pem", ".key"} {
			b, err := os.ReadFile(testkit.Cert(t, name+ext))
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
		b, err := os.ReadFile(testkit.Cert(t, name+".pem"))
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
	s := recommendationsServer(t, MutualTLS)
	s.Cert, s.Key = filepath.Join(dir, "server.pem"), filepath.Join(dir, "server.key")
	addr, _ := serve(t, s)
	creds := client(t, MutualTLS, "ca", "marketplace")
	if got, err := call(t, addr, creds); err != nil || got != serial("recommendations") {
		t.Fatalf("before rotation: got serial %s (%v), want %s", got, err, serial("recommendations"))
	}
	install("recommendations_rotated")
	// The provider reads the files every 10 ms here.
	var got string
	for deadline := time.Now().Add(5 * time.Second); got != serial("recommendations_rotated") && time.Now().Before(deadline); time.Sleep(20 * time.Millisecond) {
		var err error
		if got, err = call(t, addr, creds); err != nil {
			t.Fatalf("during rotation: %v", err)
		}
	}
	if got != serial("recommendations_rotated") {
		t.Errorf("after rotation: got serial %s, want %s", got, serial("recommendations_rotated"))
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

// Each binary's error names the flag to fix, as that binary spells it, and
// the file when one is unreadable.
func TestOptions_ErrorsNameTheFlagAndFile(t *testing.T) {
	missing := filepath.Join(t.TempDir(), "missing.pem")
	serverErr := func(args ...string) error {
		s := Server{AllowedClients: []string{"marketplace"}}
		parse(t, s.RegisterFlags, args)
		_, _, err := s.Options()
		return err
	}
	clientErr := func(args ...string) error {
		var c Client
		parse(t, func(fs *flag.FlagSet) { c.RegisterFlags(fs, true) }, args)
		_, _, err := c.DialOptions()
		return err
	}
	recs, recsKey, ca := "-tls-cert="+testkit.Cert(t, "recommendations.pem"), "-tls-key="+testkit.Cert(t, "recommendations.key"), testkit.Cert(t, "ca.pem")
	keyElsewhere := filepath.Join(t.TempDir(), "recommendations.key")
	if b, err := os.ReadFile(testkit.Cert(t, "recommendations.key")); err != nil || os.WriteFile(keyElsewhere, b, 0o600) != nil {
		t.Fatalf("copying the key: %v", err)
	}
	tests := []struct {
		name string
		err  error
		want []string
	}{
		{"server tls without key", serverErr("-tls-mode=tls", "-tls-cert=c.pem"), []string{"-tls-mode=tls", "-tls-key"}},
		{"server mtls without CA", serverErr("-tls-mode=mtls", recs, recsKey), []string{"-tls-mode=mtls", "-tls-client-ca"}},
		{"server mtls allowing nobody", serverErr("-tls-mode=mtls", recs, recsKey, "-tls-client-ca="+ca, "-allowed-clients=,"), []string{"-allowed-clients"}},
		{"server certificate missing", serverErr("-tls-mode=tls", "-tls-cert="+missing, recsKey), []string{"-tls-cert", missing}},
		{"server client CA is a key", serverErr("-tls-mode=mtls", recs, recsKey, "-tls-client-ca="+testkit.Cert(t, "ca.key")), []string{"-tls-client-ca", "ca.key", "no PEM certificate"}},
		{"server key of another certificate", serverErr("-tls-mode=tls", recs, "-tls-key="+testkit.Cert(t, "marketplace.key")), []string{"-tls-cert", "-tls-key", "does not match"}},
		{"client tls without CA", clientErr("-tls-mode=tls"), []string{"-tls-mode=tls", "-tls-ca"}},
		{"client CA missing", clientErr("-tls-mode=tls", "-tls-ca="+missing), []string{"-tls-ca", missing}},
		{"client mtls without certificate", clientErr("-tls-mode=mtls", "-tls-ca="+ca), []string{"-tls-mode=mtls", "-tls-cert", "-tls-key"}},
		{"client key missing", clientErr("-tls-mode=mtls", "-tls-ca="+ca, "-tls-cert="+testkit.Cert(t, "marketplace.pem"), "-tls-key="+missing), []string{"-tls-key", missing}},
		{"key in another folder", serverErr("-tls-mode=tls", recs, "-tls-key="+keyElsewhere), []string{"-tls-cert", "-tls-key", "one folder"}},
		{"negative refresh", clientErr("-tls-mode=tls", "-tls-ca="+ca, "-tls-refresh=-1s"), []string{"-tls-refresh=-1s"}},
	}
	for _, tt := range tests {
		if tt.err == nil {
			t.Errorf("%s: got nil error, want one naming %q", tt.name, tt.want)
			continue
		}
		for _, w := range tt.want {
			if !strings.Contains(tt.err.Error(), w) {
				t.Errorf("%s: error %q lacks %q", tt.name, tt.err, w)
			}
		}
	}
}

func parse(t *testing.T, register func(*flag.FlagSet), args []string) {
	t.Helper()
	fs := flag.NewFlagSet("test", flag.ContinueOnError)
	register(fs)
	if err := fs.Parse(args); err != nil {
		t.Fatal(err)
	}
}

// Under tls the server needs no client CA: a stale -tls-client-ca left in
// its environment is not read.
func TestOptions_TLSIgnoresTheClientCA(t *testing.T) {
	s := recommendationsServer(t, TLS)
	s.ClientCA = filepath.Join(t.TempDir(), "missing.pem")
	_, stop, err := s.Options()
	if err != nil {
		t.Fatalf("tls with a missing client CA: %v", err)
	}
	stop()
}

// The client names the server by host alone in its hello (SNI), as
// crypto/tls does: never with the port, and not at all for an IP address.
func TestClient_ServerNameIndication(t *testing.T) {
	creds, stop, err := Client{Mode: TLS, CA: testkit.Cert(t, "ca.pem")}.credentials()
	if err != nil {
		t.Fatal(err)
	}
	defer stop()
	tests := []struct{ authority, want string }{
		{"recommendations:50051", "recommendations"},
		{"recommendations", "recommendations"},
		{"127.0.0.1:50051", ""},
		{"[::1]:50051", ""},
	}
	for _, tt := range tests {
		client, server := net.Pipe()
		hello := make(chan string, 1)
		go func() {
			// The server reads the hello and hangs up.
			tls.Server(server, &tls.Config{GetConfigForClient: func(h *tls.ClientHelloInfo) (*tls.Config, error) {
				hello <- h.ServerName
				return nil, errors.New("seen")
			}}).Handshake()
			server.Close()
		}()
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		creds.ClientHandshake(ctx, tt.authority, client)
		cancel()
		client.Close()
		if got := <-hello; got != tt.want {
			t.Errorf("dialling %s: server name %q, want %q", tt.authority, got, tt.want)
		}
	}
}
