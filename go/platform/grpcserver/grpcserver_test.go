package grpcserver

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/sdk/trace/tracetest"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/health"
	healthpb "google.golang.org/grpc/health/grpc_health_v1"
	"google.golang.org/grpc/status"

	"github.com/onlinebooks/bookstore/go/platform/domainerr"
	pb "github.com/onlinebooks/bookstore/go/platform/grpcserver/internal/dummypb"
	"github.com/onlinebooks/bookstore/go/platform/telemetry"
	"github.com/onlinebooks/bookstore/go/testkit"
)

const panicText = "the dummy panicked with a secret"

// dummy answers Echo by its input's special cases. What its handlers
// returned goes to returned, when there is one and it has room.
type dummy struct {
	pb.UnimplementedDummyServiceServer
	returned chan error
}

func (d dummy) report(err error) {
	select {
	case d.returned <- err:
	default:
	}
}

func (d dummy) Echo(ctx context.Context, req *pb.EchoRequest) (resp *pb.EchoResponse, err error) {
	defer func() { d.report(err) }()
	return echo(ctx, req)
}

func (d dummy) EchoStream(req *pb.EchoRequest, stream pb.DummyService_EchoStreamServer) (err error) {
	defer func() { d.report(err) }()
	resp, err := echo(stream.Context(), req)
	if err != nil {
		return err
	}
	return stream.Send(resp)
}

func echo(ctx context.Context, req *pb.EchoRequest) (*pb.EchoResponse, error) {
	switch in := req.GetInput(); {
	case in == "error":
		return nil, errors.New("dial tcp 10.0.0.7:5432: connection refused")
	case in == "notfound":
		return nil, domainerr.NotFound("book 7")
	case in == "invalid":
		return nil, domainerr.InvalidArgument("input", "must be kind")
	case in == "panic":
		panic(panicText)
	case strings.HasPrefix(in, "sleep "):
		d, err := time.ParseDuration(strings.TrimPrefix(in, "sleep "))
		if err != nil {
			return nil, domainerr.InvalidArgument("input", "bad duration: %v", err)
		}
		select {
		case <-time.After(d):
		case <-ctx.Done():
			return nil, ctx.Err()
		}
	}
	return &pb.EchoResponse{Output: req.GetInput()}, nil
}

// syncBuffer is a log destination the server goroutines and the test share.
type syncBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *syncBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

// records returns the JSON log records written so far.
func (b *syncBuffer) records(t *testing.T) []map[string]any {
	t.Helper()
	b.mu.Lock()
	defer b.mu.Unlock()
	var out []map[string]any
	for _, line := range strings.Split(strings.TrimSpace(b.buf.String()), "\n") {
		if line == "" {
			continue
		}
		var rec map[string]any
		if err := json.Unmarshal([]byte(line), &rec); err != nil {
			t.Fatalf("log line %q: %v", line, err)
		}
		out = append(out, rec)
	}
	return out
}

type fixture struct {
	conn     *grpc.ClientConn
	client   pb.DummyServiceClient
	health   healthpb.HealthClient
	returned chan error // what the dummy's handlers returned
	reg      *prometheus.Registry
	logs     *syncBuffer
	spans    *tracetest.SpanRecorder
}

// serve runs the dummy and a health service behind New on an in-memory
// listener.
func serve(t *testing.T) fixture {
	t.Helper()
	f := fixture{returned: make(chan error, 100), reg: prometheus.NewRegistry(), logs: &syncBuffer{}, spans: tracetest.NewSpanRecorder()}
	srv := New(telemetry.Observability{
		Log:            slog.New(slog.NewJSONHandler(f.logs, &slog.HandlerOptions{Level: slog.LevelDebug})),
		Metrics:        f.reg,
		TracerProvider: sdktrace.NewTracerProvider(sdktrace.WithSpanProcessor(f.spans)),
	}, func(s Registrar) {
		pb.RegisterDummyServiceServer(s, dummy{returned: f.returned})
		healthpb.RegisterHealthServer(s, health.NewServer())
	})
	f.conn = testkit.Dial(t, srv)
	f.client, f.health = pb.NewDummyServiceClient(f.conn), healthpb.NewHealthClient(f.conn)
	return f
}

// echoStream calls EchoStream and reads its one response.
func (f fixture) echoStream(ctx context.Context, input string) error {
	stream, err := f.client.EchoStream(ctx, &pb.EchoRequest{Input: input})
	if err != nil {
		return err
	}
	_, err = stream.Recv()
	return err
}

func TestChain_StatusAndMessage(t *testing.T) {
	f := serve(t)
	tests := []struct {
		input    string
		wantCode codes.Code
		wantMsg  string
	}{
		{"hello", codes.OK, ""},
		{"notfound", codes.NotFound, "book 7: not found"},
		{"invalid", codes.InvalidArgument, "invalid input: must be kind"},
		{"error", codes.Internal, domainerr.InternalMessage},
		{"panic", codes.Internal, domainerr.InternalMessage},
	}
	calls := map[string]func(string) error{
		"unary": func(in string) error {
			_, err := f.client.Echo(context.Background(), &pb.EchoRequest{Input: in})
			return err
		},
		// The stream chain has the same steps.
		"stream": func(in string) error { return f.echoStream(context.Background(), in) },
	}
	for kind, call := range calls {
		for _, tt := range tests {
			t.Run(kind+"/"+tt.input, func(t *testing.T) {
				s := status.Convert(call(tt.input))
				if got, want := s.Code(), tt.wantCode; got != want {
					t.Errorf("code: got %s, want %s", got, want)
				}
				if got, want := s.Message(), tt.wantMsg; got != want {
					t.Errorf("message: got %q, want %q", got, want)
				}
			})
		}
	}
}

func TestChain_PanicStaysInTheServerLog(t *testing.T) {
	f := serve(t)
	_, err := f.client.Echo(context.Background(), &pb.EchoRequest{Input: "panic"})
	for _, leak := range []string{panicText, "goroutine", ".go:"} {
		if strings.Contains(err.Error(), leak) {
			t.Errorf("client error %q contains %q", err, leak)
		}
	}
	var logged bool
	for _, rec := range f.logs.records(t) {
		if rec["msg"] == "panic in handler" {
			logged = rec["panic"] == panicText && strings.Contains(rec["stack"].(string), "grpcserver_test.go")
		}
	}
	if !logged {
		t.Errorf("no server log record with the panic and its stack:\n%v", f.logs.records(t))
	}
	// The server survives the panic.
	if _, err := f.client.Echo(context.Background(), &pb.EchoRequest{Input: "still here"}); err != nil {
		t.Errorf("call after the panic: %v", err)
	}
}

func TestChain_MetricsCountByCode(t *testing.T) {
	f := serve(t)
	handled := func(code string) float64 {
		return testkit.Value(t, f.reg, "grpc_server_handled_total", map[string]string{
			"grpc_service": "bookstore.internal.dummy.v1.DummyService", "grpc_method": "Echo", "grpc_code": code,
		})
	}
	for _, code := range []string{"OK", "NotFound", "Internal"} {
		if got := handled(code); got != 0 {
			t.Errorf("%s before any call: got %v, want 0", code, got)
		}
	}
	for _, in := range []string{"a", "notfound", "b", "panic"} {
		f.client.Echo(context.Background(), &pb.EchoRequest{Input: in})
	}
	for code, want := range map[string]float64{"OK": 2, "NotFound": 1, "Internal": 1} {
		if got := handled(code); got != want {
			t.Errorf("grpc_server_handled_total{grpc_code=%q}: got %v, want %v", code, got, want)
		}
	}
	latency := testkit.Value(t, f.reg, "grpc_server_handling_seconds", map[string]string{"grpc_method": "Echo"})
	if got, want := latency, 4.0; got != want {
		t.Errorf("grpc_server_handling_seconds observations: got %v, want %v", got, want)
	}
}

func TestChain_LogsEveryCall(t *testing.T) {
	f := serve(t)
	f.client.Echo(context.Background(), &pb.EchoRequest{Input: "ok"})
	f.client.Echo(context.Background(), &pb.EchoRequest{Input: "notfound"})
	f.client.Echo(context.Background(), &pb.EchoRequest{Input: "error"})

	var calls []map[string]any
	for _, rec := range f.logs.records(t) {
		if rec["msg"] == "finished call" {
			calls = append(calls, rec)
		}
	}
	if len(calls) != 3 {
		t.Fatalf("got %d call records, want 3:\n%v", len(calls), calls)
	}
	for i, want := range []struct{ code, level string }{{"OK", "DEBUG"}, {"NotFound", "WARN"}, {"Internal", "ERROR"}} {
		rec := calls[i]
		if rec["grpc.code"] != want.code || rec["level"] != want.level {
			t.Errorf("call %d: code %v at %v, want %s at %s", i, rec["grpc.code"], rec["level"], want.code, want.level)
		}
		for _, field := range []string{"grpc.service", "grpc.method", "grpc.time_us", "peer.address", "trace_id"} {
			if _, ok := rec[field]; !ok {
				t.Errorf("call %d: record lacks %s: %v", i, field, rec)
			}
		}
		if got, want := rec["grpc.method"], "Echo"; got != want {
			t.Errorf("call %d: grpc.method %v, want %v", i, got, want)
		}
	}
}

// The client's deadline must reach the handler through every interceptor:
// the handler, asleep for an hour, returns when the deadline passes.
func TestChain_DeadlineReachesTheHandler(t *testing.T) {
	f := serve(t)
	ctx, cancel := context.WithTimeout(context.Background(), 50*time.Millisecond)
	defer cancel()
	_, err := f.client.Echo(ctx, &pb.EchoRequest{Input: "sleep 1h"})
	if got, want := status.Code(err), codes.DeadlineExceeded; got != want {
		t.Errorf("client: got %s, want %s", got, want)
	}
	select {
	case err := <-f.returned:
		// Canceled when the client's cancellation arrives before the
		// server's own timer fires.
		if !errors.Is(err, context.DeadlineExceeded) && !errors.Is(err, context.Canceled) {
			t.Errorf("handler returned %v, want its context's end", err)
		}
	case <-time.After(5 * time.Second):
		t.Error("handler still running 5 s after its deadline")
	}
}

// Probes' health checks leave no log record; every other call does, unary
// or stream.
func TestChain_LogsAllButHealthChecks(t *testing.T) {
	f := serve(t)
	for range 3 {
		if _, err := f.health.Check(context.Background(), &healthpb.HealthCheckRequest{}); err != nil {
			t.Fatal(err)
		}
	}
	if err := f.echoStream(context.Background(), "streamed"); err != nil {
		t.Fatal(err)
	}
	// The record is written as the handler returns, which may be after the
	// client has its response.
	var methods []any
	testkit.WaitFor(t, 5*time.Second, "a call record", func() bool {
		methods = nil
		for _, rec := range f.logs.records(t) {
			if rec["msg"] == "finished call" {
				methods = append(methods, rec["grpc.method"])
			}
		}
		return len(methods) > 0
	})
	if len(methods) != 1 || methods[0] != "EchoStream" {
		t.Errorf("call records for methods %v, want only EchoStream", methods)
	}
}

func TestChain_RecordsAServerSpan(t *testing.T) {
	f := serve(t)
	if _, err := f.client.Echo(context.Background(), &pb.EchoRequest{Input: "traced"}); err != nil {
		t.Fatal(err)
	}
	// The server ends its span after it has sent the response, so the span
	// may be recorded a moment after the call returns.
	spans := f.spans.Ended()
	for deadline := time.Now().Add(5 * time.Second); len(spans) == 0 && time.Now().Before(deadline); spans = f.spans.Ended() {
		time.Sleep(5 * time.Millisecond)
	}
	if len(spans) != 1 {
		t.Fatalf("got %d spans, want 1", len(spans))
	}
	if got, want := spans[0].Name(), "bookstore.internal.dummy.v1.DummyService/Echo"; got != want {
		t.Errorf("span name: got %q, want %q", got, want)
	}
}

// rawCodec sends the bytes it is given as a message, as a broken or hostile
// client would.
type rawCodec struct{}

func (rawCodec) Marshal(v any) ([]byte, error)      { return *(v.(*[]byte)), nil }
func (rawCodec) Unmarshal(data []byte, v any) error { *(v.(*[]byte)) = data; return nil }
func (rawCodec) Name() string                       { return "proto" }

// Requests gRPC refuses before the chain (garbage, oversized, unknown
// methods) are counted and logged, once a second at most, where the chain's
// metrics and logs never see them.
func TestRejections_CountedAndLoggedOnce(t *testing.T) {
	f := serve(t)
	rejected := func(code string) float64 {
		return testkit.Value(t, f.reg, "grpc_server_rejected_total", map[string]string{"grpc_code": code})
	}
	for _, code := range []string{"Internal", "ResourceExhausted", "Unimplemented"} {
		if got := rejected(code); got != 0 {
			t.Errorf("%s before any call: got %v, want 0", code, got)
		}
	}
	const echo = "/bookstore.internal.dummy.v1.DummyService/Echo"
	invoke := func(method string, msg []byte) error {
		var reply []byte
		return f.conn.Invoke(context.Background(), method, &msg, &reply, grpc.ForceCodec(rawCodec{}))
	}
	call := func(msg []byte) error { return invoke(echo, msg) }
	garbage := []byte{0xff, 0xff, 0xff, 0xff}
	for range 5 {
		if got := status.Code(call(garbage)); got != codes.Internal {
			t.Fatalf("garbage: got %s, want Internal", got)
		}
	}
	if got := status.Code(call(make([]byte, 5<<20))); got != codes.ResourceExhausted {
		t.Fatalf("5 MiB: got %s, want ResourceExhausted", got)
	}
	for _, method := range []string{"/bookstore.internal.dummy.v1.DummyService/Nope", "/no.Such/Method"} {
		if got := status.Code(invoke(method, nil)); got != codes.Unimplemented {
			t.Fatalf("%s: got %s, want Unimplemented", method, got)
		}
	}
	// The server counts a refusal just after it has answered it.
	for code, want := range map[string]float64{"Internal": 5, "ResourceExhausted": 1, "Unimplemented": 2} {
		testkit.WaitFor(t, 5*time.Second, fmt.Sprintf("grpc_server_rejected_total{grpc_code=%q} = %v", code, want), func() bool {
			return rejected(code) == want
		})
	}
	// The chain never saw them: its counters stay at zero.
	if got := testkit.Value(t, f.reg, "grpc_server_handled_total", map[string]string{"grpc_method": "Echo", "grpc_code": "Internal"}); got != 0 {
		t.Errorf("handled Internal: got %v, want 0", got)
	}
	var records int
	for _, rec := range f.logs.records(t) {
		if strings.HasPrefix(rec["msg"].(string), "call refused before its handler") {
			records++
		}
	}
	if records != 1 {
		t.Errorf("got %d records of refusals within a second, want 1", records)
	}
	// A call that reaches the chain is not a rejection, even when it fails.
	if _, err := f.client.Echo(context.Background(), &pb.EchoRequest{Input: "notfound"}); status.Code(err) != codes.NotFound {
		t.Fatalf("notfound: %v", err)
	}
	testkit.WaitFor(t, 5*time.Second, "the chain counted the NotFound call", func() bool {
		return testkit.Value(t, f.reg, "grpc_server_handled_total", map[string]string{"grpc_method": "Echo", "grpc_code": "NotFound"}) == 1
	})
	// gRPC reports the call's end just after its status is written: give
	// a wrong count the moment it would take to appear.
	time.Sleep(100 * time.Millisecond)
	families, err := f.reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	for _, mf := range families {
		// An unknown method passes the stream chain on its way to be
		// refused: it must not mint series of its own.
		for _, m := range mf.GetMetric() {
			for _, l := range m.GetLabel() {
				if v := l.GetValue(); v == "Nope" || v == "no.Such" {
					t.Errorf("%s has a series for an unknown method: %v", mf.GetName(), m.GetLabel())
				}
			}
		}
		if mf.GetName() != "grpc_server_rejected_total" {
			continue
		}
		var total float64
		for _, m := range mf.GetMetric() {
			total += m.GetCounter().GetValue()
		}
		if total != 8 {
			t.Errorf("rejections after a call the chain handled: got %v, want the 8 before it", total)
		}
	}
}

// Past its bound the server refuses at once, RESOURCE_EXHAUSTED, rather
// than queueing; health checks still answer; capacity comes back when the
// calls in progress end.
func TestMaxInFlight(t *testing.T) {
	const limit = 2
	reg := prometheus.NewRegistry()
	srv := New(telemetry.Observability{Log: slog.New(slog.DiscardHandler), Metrics: reg}, func(s Registrar) {
		pb.RegisterDummyServiceServer(s, dummy{})
		healthpb.RegisterHealthServer(s, health.NewServer())
	}, MaxInFlight(limit)...)
	conn := testkit.Dial(t, srv)
	client := pb.NewDummyServiceClient(conn)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	held := make(chan error, limit)
	for range limit {
		go func() {
			_, err := client.Echo(ctx, &pb.EchoRequest{Input: "sleep 1h"})
			held <- err
		}()
	}
	testkit.WaitFor(t, 5*time.Second, "the bound's calls in progress", func() bool {
		return testkit.Value(t, reg, "grpc_server_started_total", map[string]string{"grpc_method": "Echo"}) == limit
	})
	_, err := client.Echo(context.Background(), &pb.EchoRequest{Input: "one more"})
	if got := status.Code(err); got != codes.ResourceExhausted {
		t.Errorf("a call past the bound: got %s (%v), want ResourceExhausted", got, err)
	}
	if _, err := healthpb.NewHealthClient(conn).Check(context.Background(), &healthpb.HealthCheckRequest{}); err != nil {
		t.Errorf("health check past the bound: %v", err)
	}
	cancel()
	for range limit {
		<-held
	}
	// The chain counts a call after the bound has let it go.
	testkit.WaitFor(t, 5*time.Second, "the held calls ended on the server", func() bool {
		return testkit.Value(t, reg, "grpc_server_handled_total", map[string]string{"grpc_method": "Echo", "grpc_code": "Canceled"}) == limit
	})
	if _, err := client.Echo(context.Background(), &pb.EchoRequest{Input: "after"}); err != nil {
		t.Errorf("a call once the others ended: %v", err)
	}
	if got := testkit.Value(t, reg, "grpc_server_handled_total", map[string]string{"grpc_method": "Echo", "grpc_code": "ResourceExhausted"}); got != 1 {
		t.Errorf("refusals counted: got %v, want 1", got)
	}
}
