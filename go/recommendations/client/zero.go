package client

import (
	"context"
	"sort"
	"strings"

	grpcprom "github.com/grpc-ecosystem/go-grpc-middleware/providers/prometheus"
	"github.com/prometheus/client_golang/prometheus"
	dto "github.com/prometheus/client_model/go"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	pb "github.com/onlinebooks/bookstore/proto/bookstore/recommendations/v1"
)

// go-grpc-middleware's client metrics have no InitializeMetrics, as its
// server metrics do, so a client's series appear only with its first call,
// and a rate over them is "no data" until then. zeroFilled fills that gap
// without knowing the library's internals: a scratch copy of the metrics
// records the calls a client makes (Recommend, ending OK, UNAVAILABLE or
// DEADLINE_EXCEEDED), and each series that produced is served at zero
// until the real one exists.
type zeroFilled struct {
	*grpcprom.ClientMetrics
	zeros map[string]prometheus.Metric // by seriesKey
}

// zeroCodes are the ends of a call whose series start at zero: success,
// and the two failures the page turns into its notice.
var zeroCodes = []codes.Code{codes.OK, codes.Unavailable, codes.DeadlineExceeded}

func newZeroFilled(newMetrics func() *grpcprom.ClientMetrics) *zeroFilled {
	scratch := newMetrics()
	record := scratch.UnaryClientInterceptor()
	for _, code := range zeroCodes {
		record(context.Background(), pb.RecommendationsService_Recommend_FullMethodName, nil, nil, nil,
			func(context.Context, string, any, any, *grpc.ClientConn, ...grpc.CallOption) error {
				return status.Error(code, "")
			})
	}
	z := &zeroFilled{ClientMetrics: newMetrics(), zeros: map[string]prometheus.Metric{}}
	for _, m := range collect(scratch) {
		var out dto.Metric
		if m.Write(&out) == nil {
			z.zeros[seriesKey(m)] = zeroMetric{desc: m.Desc(), labels: out.GetLabel(), histogram: out.GetHistogram()}
		}
	}
	return z
}

// Collect sends the real series, and the zero of each that has none yet.
func (z *zeroFilled) Collect(ch chan<- prometheus.Metric) {
	seen := map[string]bool{}
	for _, m := range collect(z.ClientMetrics) {
		seen[seriesKey(m)] = true
		ch <- m
	}
	for key, m := range z.zeros {
		if !seen[key] {
			ch <- m
		}
	}
}

func collect(c prometheus.Collector) []prometheus.Metric {
	ch := make(chan prometheus.Metric)
	go func() {
		c.Collect(ch)
		close(ch)
	}()
	var ms []prometheus.Metric
	for m := range ch {
		ms = append(ms, m)
	}
	return ms
}

// seriesKey names a series: its metric and its labels.
func seriesKey(m prometheus.Metric) string {
	var out dto.Metric
	if m.Write(&out) != nil {
		return ""
	}
	pairs := make([]string, 0, len(out.GetLabel()))
	for _, l := range out.GetLabel() {
		pairs = append(pairs, l.GetName()+"="+l.GetValue())
	}
	sort.Strings(pairs)
	return m.Desc().String() + "{" + strings.Join(pairs, ",") + "}"
}

// zeroMetric is a series with nothing counted: a counter at 0, or a
// histogram (when histogram gives its buckets) with no observations.
type zeroMetric struct {
	desc      *prometheus.Desc
	labels    []*dto.LabelPair
	histogram *dto.Histogram
}

func (z zeroMetric) Desc() *prometheus.Desc { return z.desc }

func (z zeroMetric) Write(out *dto.Metric) error {
	out.Label = z.labels
	if z.histogram == nil {
		out.Counter = &dto.Counter{Value: new(float64)}
		return nil
	}
	h := &dto.Histogram{SampleCount: new(uint64), SampleSum: new(float64)}
	for _, b := range z.histogram.GetBucket() {
		h.Bucket = append(h.Bucket, &dto.Bucket{UpperBound: b.UpperBound, CumulativeCount: new(uint64)})
	}
	out.Histogram = h
	return nil
}
