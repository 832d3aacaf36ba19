// Package authz authorises gRPC calls by the identity of the client's
// verified certificate: a SPIFFE ID, spiffe://bookstore/<name>. It is an
// auth interceptor (go-grpc-middleware's auth) of its own, so a server's
// chain shows it beside the others; tlsconfig installs it wherever mutual
// TLS is on.
package authz

import (
	"context"
	"slices"
	"strings"

	"github.com/grpc-ecosystem/go-grpc-middleware/v2/interceptors/auth"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/credentials"
	"google.golang.org/grpc/peer"
	"google.golang.org/grpc/status"
)

// TrustDomain is the authority of the identities in client certificates:
// a client named marketplace carries the URI SAN spiffe://bookstore/marketplace.
const TrustDomain = "bookstore"

// Identity returns the name of the client of ctx's call from its verified
// certificate, or "" when there is none.
func Identity(ctx context.Context) string {
	p, ok := peer.FromContext(ctx)
	if !ok {
		return ""
	}
	info, ok := p.AuthInfo.(credentials.TLSInfo)
	if !ok || len(info.State.VerifiedChains) == 0 {
		return ""
	}
	for _, u := range info.State.VerifiedChains[0][0].URIs {
		if u.Scheme == "spiffe" && u.Host == TrustDomain {
			return strings.TrimPrefix(u.Path, "/")
		}
	}
	return ""
}

// Allow admits only calls from clients whose Identity is one of names;
// others get PERMISSION_DENIED, naming who they are. It belongs on a server
// that requires mutual TLS.
func Allow(names []string) auth.AuthFunc {
	return func(ctx context.Context) (context.Context, error) {
		id := Identity(ctx)
		if slices.Contains(names, id) {
			return ctx, nil
		}
		if id == "" {
			id = "(none)"
		}
		return nil, status.Errorf(codes.PermissionDenied, "client %s is not allowed", id)
	}
}

// ServerOptions install f on a server, for unary calls and streams alike.
func ServerOptions(f auth.AuthFunc) []grpc.ServerOption {
	return []grpc.ServerOption{
		grpc.ChainUnaryInterceptor(auth.UnaryServerInterceptor(f)),
		grpc.ChainStreamInterceptor(auth.StreamServerInterceptor(f)),
	}
}
