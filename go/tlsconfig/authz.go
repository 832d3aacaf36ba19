package tlsconfig

import (
	"context"
	"slices"
	"strings"

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

// Allow admits only calls from clients whose Identity is in names; others
// get PERMISSION_DENIED. It belongs on a server that requires mutual TLS.
type Allow []string

func (a Allow) check(ctx context.Context) error {
	id := Identity(ctx)
	if !slices.Contains(a, id) {
		if id == "" {
			id = "(none)"
		}
		return status.Errorf(codes.PermissionDenied, "client %s is not allowed", id)
	}
	return nil
}

// ServerOptions install a on a server, for unary calls and streams alike.
func (a Allow) ServerOptions() []grpc.ServerOption {
	return []grpc.ServerOption{
		grpc.ChainUnaryInterceptor(a.UnaryServerInterceptor()),
		grpc.ChainStreamInterceptor(a.StreamServerInterceptor()),
	}
}

// UnaryServerInterceptor enforces a on unary calls.
func (a Allow) UnaryServerInterceptor() grpc.UnaryServerInterceptor {
	return func(ctx context.Context, req any, _ *grpc.UnaryServerInfo, handler grpc.UnaryHandler) (any, error) {
		if err := a.check(ctx); err != nil {
			return nil, err
		}
		return handler(ctx, req)
	}
}

// StreamServerInterceptor enforces a on streams.
func (a Allow) StreamServerInterceptor() grpc.StreamServerInterceptor {
	return func(srv any, ss grpc.ServerStream, _ *grpc.StreamServerInfo, handler grpc.StreamHandler) error {
		if err := a.check(ss.Context()); err != nil {
			return err
		}
		return handler(srv, ss)
	}
}
