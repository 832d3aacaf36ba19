package lifecycle

import (
	"context"
	"sync"

	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/health"
	healthpb "google.golang.org/grpc/health/grpc_health_v1"
	"google.golang.org/grpc/status"
)

// Health is grpc-go's health service whose Watch streams end at shutdown,
// once each has told its client NOT_SERVING. grpc-go's own keeps them open
// after Shutdown, and a server's GracefulStop waits for every open stream,
// so one watching client held a drain until its grace ran out. grpc-go
// offers no option for it; this wraps its server rather than rewriting it.
type Health struct {
	*health.Server
	draining chan struct{} // closed by Shutdown
	once     sync.Once
}

// NewHealth returns a Health whose services are all SERVING.
func NewHealth() *Health {
	return &Health{Server: health.NewServer(), draining: make(chan struct{})}
}

// Shutdown sets every service NOT_SERVING, tells the watchers, and then
// ends their streams.
func (h *Health) Shutdown() {
	h.Server.Shutdown()
	h.once.Do(func() { close(h.draining) })
}

// Resume does nothing once Shutdown has begun the drain: it cannot be
// undone, and a watcher told SERVING again would hold it.
func (h *Health) Resume() {
	select {
	case <-h.draining:
	default:
		h.Server.Resume()
	}
}

// Watch is grpc-go's Watch, ended with UNAVAILABLE once the server drains
// and the client has been told it is not serving.
func (h *Health) Watch(req *healthpb.HealthCheckRequest, stream healthpb.Health_WatchServer) error {
	ctx, cancel := context.WithCancel(stream.Context())
	defer cancel()
	// Until its first status is sent, the client is taken to believe the
	// service serves, so it is not ended before it hears otherwise.
	w := &watch{Health_WatchServer: stream, ctx: ctx, cancel: cancel, draining: h.draining, serving: true}
	go w.endOnDrain()
	err := h.Server.Watch(req, w)
	if w.ended() {
		return status.Error(codes.Unavailable, "server shutting down")
	}
	return err
}

// watch is one Watch stream, as the wrapped health server sees it: its
// context ends when the server drains, after the last status it sent was
// not SERVING.
type watch struct {
	healthpb.Health_WatchServer
	ctx      context.Context
	cancel   context.CancelFunc
	draining <-chan struct{}

	mu      sync.Mutex
	serving bool // the last status sent was SERVING, or none was sent yet
	done    bool // ended by the drain
}

func (w *watch) Context() context.Context { return w.ctx }

// Send holds the lock across the send, so the drain never ends the stream
// while a status is on its way.
func (w *watch) Send(m *healthpb.HealthCheckResponse) error {
	w.mu.Lock()
	defer w.mu.Unlock()
	err := w.Health_WatchServer.Send(m)
	w.serving = m.GetStatus() == healthpb.HealthCheckResponse_SERVING
	select {
	case <-w.draining:
		w.endLocked()
	default:
	}
	return err
}

// endOnDrain ends the stream when the drain begins, if the client already
// knows the service is not serving; otherwise Send ends it once it does.
func (w *watch) endOnDrain() {
	select {
	case <-w.draining:
		w.endUnlessServing()
	case <-w.ctx.Done():
	}
}

func (w *watch) endUnlessServing() {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.endLocked()
}

func (w *watch) endLocked() {
	if !w.serving && !w.done {
		w.done = true
		w.cancel()
	}
}

func (w *watch) ended() bool {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.done
}
