package server

import (
	"net/http"
	"strconv"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"
)

// metrics are the server's Prometheus metrics, in a registry of its own
// so that several servers (tests) do not collide.
type metrics struct {
	reg      *prometheus.Registry
	requests *prometheus.CounterVec
	latency  *prometheus.HistogramVec
	// decisions counts the door's decisions, one per face (or per photo
	// refused as a whole), by result and refusal reason.
	decisions *prometheus.CounterVec
	handler   http.Handler
}

func newMetrics(g interface{ Size() (people, faces int) }, lim *limiter) *metrics {
	m := &metrics{
		reg: prometheus.NewRegistry(),
		requests: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "facerec_http_requests_total",
			Help: "HTTP requests answered, by route, method and status.",
		}, []string{"route", "method", "status"}),
		latency: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name: "facerec_http_request_duration_seconds",
			Help: "Time to answer an HTTP request, by route and method.",
			// From a cache-warm healthz to a large photo on a busy server.
			Buckets: []float64{.001, .0025, .005, .01, .025, .05, .1, .25, .5, 1, 2.5, 5, 10, 30},
		}, []string{"route", "method"}),
		decisions: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "facerec_decisions_total",
			Help: "Identification and verification decisions, one per face: result known, unknown or refused (with its reason).",
		}, []string{"result", "reason"}),
	}
	for _, r := range []string{"known", "unknown"} {
		m.decisions.WithLabelValues(r, "") // shown at 0 from the start
	}
	m.reg.MustRegister(m.requests, m.latency, m.decisions,
		prometheus.NewGaugeFunc(prometheus.GaugeOpts{
			Name: "facerec_gallery_people", Help: "People enrolled in the gallery.",
		}, func() float64 { p, _ := g.Size(); return float64(p) }),
		prometheus.NewGaugeFunc(prometheus.GaugeOpts{
			Name: "facerec_gallery_faces", Help: "Face descriptors in the gallery.",
		}, func() float64 { _, f := g.Size(); return float64(f) }),
		prometheus.NewGaugeFunc(prometheus.GaugeOpts{
			Name: "facerec_recognitions_in_flight", Help: "Photos being decoded and recognised now.",
		}, func() float64 { return float64(lim.inFlight.Load()) }),
		prometheus.NewGaugeFunc(prometheus.GaugeOpts{
			Name: "facerec_recognitions_waiting", Help: "Photos waiting for a recognition slot now.",
		}, func() float64 { return float64(lim.waiting.Load()) }),
		prometheus.NewCounterFunc(prometheus.CounterOpts{
			Name: "facerec_busy_rejections_total", Help: "Requests turned away with 503 busy.",
		}, func() float64 { return float64(lim.rejected.Load()) }),
		collectors.NewGoCollector(),
		collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}),
	)
	m.handler = promhttp.HandlerFor(m.reg, promhttp.HandlerOpts{})
	return m
}

// methodLabel bounds the method label to the methods HTTP defines, so
// that clients cannot grow the metrics without limit.
func methodLabel(m string) string {
	switch m {
	case http.MethodGet, http.MethodHead, http.MethodPost, http.MethodPut, http.MethodPatch,
		http.MethodDelete, http.MethodOptions, http.MethodConnect, http.MethodTrace:
		return m
	}
	return "OTHER"
}

func (m *metrics) observe(route, method string, status int, d time.Duration) {
	method = methodLabel(method)
	m.requests.WithLabelValues(route, method, strconv.Itoa(status)).Inc()
	m.latency.WithLabelValues(route, method).Observe(d.Seconds())
}

// decision counts one decision.
func (m *metrics) decision(result, reason string) {
	m.decisions.WithLabelValues(result, reason).Inc()
}

func (m *metrics) serve(w http.ResponseWriter, r *http.Request) error {
	m.handler.ServeHTTP(w, r)
	return nil
}
