package authz

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"net/url"
	"testing"

	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/credentials"
	"google.golang.org/grpc/peer"
	"google.golang.org/grpc/status"
)

// from is the context of a call whose client's verified certificate
// carries uris.
func from(uris ...string) context.Context {
	cert := &x509.Certificate{}
	for _, u := range uris {
		parsed, err := url.Parse(u)
		if err != nil {
			panic(err)
		}
		cert.URIs = append(cert.URIs, parsed)
	}
	info := credentials.TLSInfo{State: tls.ConnectionState{VerifiedChains: [][]*x509.Certificate{{cert}}}}
	return peer.NewContext(context.Background(), &peer.Peer{AuthInfo: info})
}

func TestAllow(t *testing.T) {
	allow := Allow([]string{"marketplace"})
	tests := []struct {
		name     string
		ctx      context.Context
		wantCode codes.Code
		wantMsg  string
	}{
		{"allowed client", from("spiffe://bookstore/marketplace"), codes.OK, ""},
		{"another client", from("spiffe://bookstore/intruder"), codes.PermissionDenied, "client intruder is not allowed"},
		{"another trust domain", from("spiffe://elsewhere/marketplace"), codes.PermissionDenied, "client (none) is not allowed"},
		{"no certificate", peer.NewContext(context.Background(), &peer.Peer{}), codes.PermissionDenied, "client (none) is not allowed"},
		{"no peer", context.Background(), codes.PermissionDenied, "client (none) is not allowed"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := allow(tt.ctx)
			s := status.Convert(err)
			if s.Code() != tt.wantCode || s.Message() != tt.wantMsg {
				t.Errorf("got %s %q, want %s %q", s.Code(), s.Message(), tt.wantCode, tt.wantMsg)
			}
		})
	}
}
