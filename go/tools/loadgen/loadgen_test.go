package loadgen

import (
	"bytes"
	"context"
	"math"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"google.golang.org/grpc"

	"github.com/onlinebooks/bookstore/go/platform/domainerr"
	"github.com/onlinebooks/bookstore/go/recommendations"
	"github.com/onlinebooks/bookstore/go/testkit"
	pb "github.com/onlinebooks/bookstore/proto/bookstore/recommendations/v1"
)

func TestRun_ClosedLoopCountsEveryOutcome(t *testing.T) {
	var n atomic.Int64
	op := func(context.Context) string {
		time.Sleep(time.Millisecond)
		if n.Add(1)%4 == 0 {
			return "Unavailable"
		}
		return OK
	}
	r, err := Run(context.Background(), Config{Concurrency: 4, Duration: 200 * time.Millisecond}, op)
	if err != nil {
		t.Fatal(err)
	}
	if got, want := int64(r.Requests()), n.Load(); got != want {
		t.Errorf("requests: got %d, want the %d ops that ran", got, want)
	}
	if got, want := r.Outcomes[OK]+r.Outcomes["Unavailable"], r.Requests(); got != want {
		t.Errorf("outcomes add up to %d, want %d: %v", got, want, r.Outcomes)
	}
	if got, want := r.Failed(), r.Outcomes["Unavailable"]; got != want || got == 0 {
		t.Errorf("failed: got %d, want %d (> 0)", got, want)
	}
	if !(r.Throughput() > 0) {
		t.Errorf("throughput %g, want > 0", r.Throughput())
	}
	if got, want := len(r.OKLatencies), r.Outcomes[OK]; got != want {
		t.Errorf("OK latencies: got %d, want one per OK request (%d)", got, want)
	}
	if got, want := r.Goodput(), r.Throughput()*float64(r.Outcomes[OK])/float64(r.Requests()); math.Abs(got-want) > 1e-9*want {
		t.Errorf("goodput: got %g/s, want the OK share of %g/s, %g/s", got, r.Throughput(), want)
	}
}

func TestRun_OpenLoopStartsNoMoreThanTheRate(t *testing.T) {
	var n atomic.Int64
	r, err := Run(context.Background(), Config{Concurrency: 8, Rate: 200, Duration: 500 * time.Millisecond}, func(context.Context) string {
		n.Add(1)
		return OK
	})
	if err != nil {
		t.Fatal(err)
	}
	// 200/s for 0.5 s is 100 requests, the first at once; a loaded machine
	// may start fewer, never more.
	if got := r.Requests(); got > 101 || got < 10 {
		t.Errorf("requests: got %d, want about 100 and at most 101", got)
	}
}

func TestRun_EndsAtItsDurationEvenIfTheContextDoesNot(t *testing.T) {
	ctx := context.Background()
	start := time.Now()
	r, err := Run(ctx, Config{Concurrency: 2, Duration: 100 * time.Millisecond}, func(ctx context.Context) string {
		time.Sleep(10 * time.Millisecond)
		if ctx.Err() != nil {
			return "cancelled" // in-flight requests are not cut off by the end of the run
		}
		return OK
	})
	if err != nil {
		t.Fatal(err)
	}
	if elapsed := time.Since(start); elapsed > 10*time.Second {
		t.Errorf("run took %s, want it to end after its 100ms", elapsed)
	}
	if r.Failed() != 0 {
		t.Errorf("outcomes %v: the last requests were cut off", r.Outcomes)
	}
}

func TestRun_RefusesUnboundedOrEmptyLoad(t *testing.T) {
	for _, tc := range []struct {
		name string
		cfg  Config
		want string
	}{
		{"no workers", Config{Concurrency: 0, Duration: time.Second}, "concurrency 0"},
		{"negative rate", Config{Concurrency: 1, Rate: -1, Duration: time.Second}, "rate -1"},
		{"no duration", Config{Concurrency: 1}, "duration 0s"},
		{"over the bound", Config{Concurrency: 1, Duration: MaxDuration + time.Second}, "at most 10m0s"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := Run(context.Background(), tc.cfg, func(context.Context) string { return OK })
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Errorf("got %v, want an error with %q", err, tc.want)
			}
		})
	}
}

func TestPercentile(t *testing.T) {
	var r Result
	for i := 1; i <= 100; i++ {
		r.Latencies = append(r.Latencies, time.Duration(i)*time.Millisecond)
	}
	for _, tc := range []struct {
		p    float64
		want time.Duration
	}{{50, 50 * time.Millisecond}, {90, 90 * time.Millisecond}, {99, 99 * time.Millisecond}, {100, 100 * time.Millisecond}, {0, time.Millisecond}} {
		if got := r.Percentile(tc.p); got != tc.want {
			t.Errorf("p%g: got %s, want %s", tc.p, got, tc.want)
		}
	}
	if got := (Result{}).Percentile(50); got != 0 {
		t.Errorf("p50 of nothing: got %s, want 0", got)
	}
}

func TestReport(t *testing.T) {
	r := Result{Elapsed: 2 * time.Second, Latencies: []time.Duration{time.Millisecond, 3 * time.Millisecond}, Outcomes: map[string]int{OK: 1, "NotFound": 1}}
	var b bytes.Buffer
	r.Report(&b)
	for _, want := range []string{"requests 2 in 2.0s: 1/s", "p50 1.00ms", "max 3.00ms", "outcomes: NotFound 1 OK 1"} {
		if !strings.Contains(b.String(), want) {
			t.Errorf("report lacks %q:\n%s", want, b.String())
		}
	}
}

func TestCheckLoopback(t *testing.T) {
	for _, tc := range []struct {
		target string
		ok     bool
	}{
		{"127.0.0.1:50051", true},
		{"127.0.0.2:50051", true},
		{"[::1]:50051", true},
		{"localhost:8080", true},
		{"http://127.0.0.1:8080/?category=mystery", true},
		{"http://localhost/", true},
		{"10.0.0.1:50051", false},
		{"example.com:443", false},
		{"https://example.com/", false},
		{"http://127.0.0.1.example.com/", false},
	} {
		if got := CheckLoopback(tc.target) == nil; got != tc.ok {
			t.Errorf("CheckLoopback(%q): ok %t, want %t", tc.target, got, tc.ok)
		}
	}
}

func TestPageOp_Outcomes(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		switch r.URL.Query().Get("as") {
		case "degraded":
			w.Write([]byte("<p>Recommendations are unavailable right now.</p>"))
		case "error":
			http.Error(w, "no", http.StatusServiceUnavailable)
		default:
			w.Write([]byte("<li>a book</li>"))
		}
	}))
	defer srv.Close()
	for _, tc := range []struct{ as, want string }{{"", OK}, {"degraded", DegradedPage}, {"error", "HTTP 503"}} {
		op := PageOp(HTTPClient(1), srv.URL+"/?as="+tc.as, []byte("unavailable right now"), time.Second)
		if got := op(context.Background()); got != tc.want {
			t.Errorf("page as %q: got %q, want %q", tc.as, got, tc.want)
		}
	}
}

func TestRecommendOp_OutcomeIsTheStatusCode(t *testing.T) {
	// Service returns domain errors; the interceptor turns them into codes.
	srv := grpc.NewServer(grpc.UnaryInterceptor(domainerr.UnaryServerInterceptor()))
	pb.RegisterRecommendationsServiceServer(srv, recommendations.NewService(recommendations.DefaultCatalog()))
	client := pb.NewRecommendationsServiceClient(testkit.Dial(t, srv))
	for _, tc := range []struct {
		req  *pb.RecommendRequest
		want string
	}{
		{&pb.RecommendRequest{Category: pb.BookCategory_BOOK_CATEGORY_MYSTERY}, OK},
		{&pb.RecommendRequest{Category: 99}, "NotFound"},
	} {
		if got := RecommendOp(client, tc.req, time.Second)(context.Background()); got != tc.want {
			t.Errorf("%v: got %q, want %q", tc.req, got, tc.want)
		}
	}
}

func TestRoundRobin_TakesEachOpInTurn(t *testing.T) {
	var got []string
	op := func(name string) Op {
		return func(context.Context) string { got = append(got, name); return OK }
	}
	rr := RoundRobin(op("a"), op("b"), op("c"))
	for range 7 {
		rr(context.Background())
	}
	if want := []string{"a", "b", "c", "a", "b", "c", "a"}; !slices.Equal(got, want) {
		t.Errorf("got %v, want %v", got, want)
	}
}
