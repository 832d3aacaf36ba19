package loadgen

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"net/http"
	"sync/atomic"
	"time"

	"google.golang.org/grpc/status"

	pb "github.com/onlinebooks/bookstore/proto/bookstore/recommendations/v1"
)

// DegradedPage is the outcome of a page served without its recommendations.
const DegradedPage = "degraded page"

// RecommendOp calls Recommend with req, each call with its own timeout. The
// outcome is the call's status code.
func RecommendOp(client pb.RecommendationsServiceClient, req *pb.RecommendRequest, timeout time.Duration) Op {
	return func(ctx context.Context) string {
		ctx, cancel := context.WithTimeout(ctx, timeout)
		defer cancel()
		_, err := client.Recommend(ctx, req)
		return status.Code(err).String() // codes.OK.String() is OK
	}
}

// PageOp GETs url with client, each request with its own timeout. A 200
// whose body contains degradedMarker (the page's notice that
// recommendations are missing) is DegradedPage; another status is "HTTP
// <code>".
func PageOp(client *http.Client, url string, degradedMarker []byte, timeout time.Duration) Op {
	return func(ctx context.Context) string {
		ctx, cancel := context.WithTimeout(ctx, timeout)
		defer cancel()
		req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
		if err != nil {
			return "bad request"
		}
		resp, err := client.Do(req)
		if err != nil {
			if ctx.Err() != nil {
				return "timeout"
			}
			return "connection error"
		}
		defer resp.Body.Close()
		body, err := io.ReadAll(resp.Body)
		switch {
		case err != nil:
			return "body cut off"
		case resp.StatusCode != http.StatusOK:
			return fmt.Sprintf("HTTP %d", resp.StatusCode)
		case len(degradedMarker) > 0 && bytes.Contains(body, degradedMarker):
			return DegradedPage
		}
		return OK
	}
}

// HTTPClient is a client that keeps one connection per worker alive
// (net/http keeps 2 per host by default, so more workers would open and
// close connections on every request and measure that instead).
func HTTPClient(concurrency int) *http.Client {
	t := http.DefaultTransport.(*http.Transport).Clone()
	t.MaxIdleConnsPerHost = concurrency
	return &http.Client{Transport: t}
}

// RoundRobin sends each request with the next of ops in turn: the same
// request over several connections, say.
func RoundRobin(ops ...Op) Op {
	var next atomic.Uint64
	return func(ctx context.Context) string {
		return ops[(next.Add(1)-1)%uint64(len(ops))](ctx)
	}
}
