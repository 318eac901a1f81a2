package metrics

import (
	"context"
	"encoding/json"
	"math"
	"net/http"
	"sync"
)

// Tally keeps statistics of every value in memory: the local stack records
// into one and serves it as a page, so a developer sees the metrics the
// deployed stack would publish without an AWS account.
type Tally struct {
	namespace string

	mu     sync.Mutex
	series map[seriesKey]*Stats
}

type seriesKey struct{ name, dimension string }

// Stats summarizes the values of one series, as CloudWatch's statistics do.
type Stats struct {
	Count int64   `json:"count"`
	Sum   float64 `json:"sum"`
	Min   float64 `json:"min"`
	Max   float64 `json:"max"`
}

func (s *Stats) add(v float64) {
	if s.Count == 0 {
		s.Min, s.Max = v, v
	}
	s.Count++
	s.Sum += v
	s.Min, s.Max = math.Min(s.Min, v), math.Max(s.Max, v)
}

// NewTally returns an empty tally labelled with namespace ns.
func NewTally(ns string) *Tally {
	if ns == "" {
		ns = DefaultNamespace
	}
	return &Tally{namespace: ns, series: map[seriesKey]*Stats{}}
}

// Record adds value to m's total and, given a dimension value, to that
// value's series: the same two series EMF publishes.
func (t *Tally) Record(_ context.Context, m Metric, value float64, dimension string) {
	if math.IsNaN(value) || math.IsInf(value, 0) {
		return
	}
	t.mu.Lock()
	defer t.mu.Unlock()
	keys := []seriesKey{{m.Name, ""}}
	if m.Dimension != "" && dimension != "" {
		keys = append(keys, seriesKey{m.Name, dimension})
	}
	for _, k := range keys {
		s := t.series[k]
		if s == nil {
			s = &Stats{}
			t.series[k] = s
		}
		s.add(value)
	}
}

// Get returns the statistics of m's total (dimension "") or of one of its
// dimension's values.
func (t *Tally) Get(m Metric, dimension string) Stats {
	t.mu.Lock()
	defer t.mu.Unlock()
	if s := t.series[seriesKey{m.Name, dimension}]; s != nil {
		return *s
	}
	return Stats{}
}

// Page is the document Tally serves.
type Page struct {
	Namespace string       `json:"namespace"`
	Metrics   []PageMetric `json:"metrics"`
}

// PageMetric is one metric of All on the page: its total and, for a metric
// with a dimension, the statistics of each value seen.
type PageMetric struct {
	Name        string           `json:"name"`
	Unit        Unit             `json:"unit"`
	Description string           `json:"description"`
	Total       Stats            `json:"total"`
	Dimension   string           `json:"dimension,omitempty"`
	Values      map[string]Stats `json:"values,omitempty"`
}

// Snapshot lists every metric of All, recorded or not, in All's order, so
// that the page shows what exists as well as what happened.
func (t *Tally) Snapshot() Page {
	t.mu.Lock()
	defer t.mu.Unlock()
	p := Page{Namespace: t.namespace, Metrics: make([]PageMetric, 0, len(All))}
	for _, m := range All {
		pm := PageMetric{Name: m.Name, Unit: m.Unit, Description: m.Description, Dimension: m.Dimension}
		if s := t.series[seriesKey{m.Name, ""}]; s != nil {
			pm.Total = *s
		}
		if m.Dimension != "" {
			pm.Values = map[string]Stats{}
			for k, s := range t.series {
				if k.name == m.Name && k.dimension != "" {
					pm.Values[k.dimension] = *s
				}
			}
		}
		p.Metrics = append(p.Metrics, pm)
	}
	return p
}

// ServeHTTP serves the snapshot as JSON to GET and HEAD.
func (t *Tally) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if r.Method != http.MethodGet && r.Method != http.MethodHead {
		w.Header().Set("Allow", "GET, HEAD")
		http.Error(w, "method not allowed", http.StatusMethodNotAllowed)
		return
	}
	b, err := json.MarshalIndent(t.Snapshot(), "", "  ")
	if err != nil {
		http.Error(w, "internal error", http.StatusInternalServerError)
		return
	}
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Cache-Control", "no-store")
	_, _ = w.Write(append(b, '\n'))
}
