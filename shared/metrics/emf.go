package metrics

import (
	"context"
	"encoding/json"
	"io"
	"sync"
	"time"

	"github.com/aws/aws-lambda-go/lambdacontext"
)

// maxDimensionValue is the EMF bound on a dimension value's length.
const maxDimensionValue = 1024

// EMF writes each value as one CloudWatch embedded metric format document,
// a JSON object on a line of its own. In Lambda, stdout goes to the
// function's log group, where CloudWatch Logs extracts the metric: no
// PutMetricData call, no permission and no latency on the request's path.
// The documents never share a line with the slog lines around them, which a
// JSON object with extra text before or after would make unreadable as EMF.
type EMF struct {
	namespace string
	now       func() time.Time

	mu sync.Mutex // one document per Write, and one Write at a time
	w  io.Writer
}

// NewEMF writes to w (os.Stdout in Lambda) into the CloudWatch namespace ns
// (DefaultNamespace when empty).
func NewEMF(w io.Writer, ns string) *EMF {
	if ns == "" {
		ns = DefaultNamespace
	}
	return &EMF{namespace: ns, now: time.Now, w: w}
}

type emfMetric struct {
	Name string `json:"Name"`
	Unit Unit   `json:"Unit"`
}

type emfDirective struct {
	Namespace  string      `json:"Namespace"`
	Dimensions [][]string  `json:"Dimensions"`
	Metrics    []emfMetric `json:"Metrics"`
}

type emfMetadata struct {
	Timestamp         int64          `json:"Timestamp"`
	CloudWatchMetrics []emfDirective `json:"CloudWatchMetrics"`
}

// Record writes one document. The value is the member named after the
// metric; a dimension's value is the member named after the dimension. A
// metric with a dimension has two dimension sets, [[dimension], []], so
// CloudWatch publishes the value both under the dimension and in the total;
// without a dimension value, only the total. The invocation's request ID
// rides along as a plain member (not a dimension, which would make a metric
// per request) to lead from a value to the invocation's log lines. A write
// that fails is dropped: a metric is not worth failing a request for.
func (e *EMF) Record(ctx context.Context, m Metric, value float64, dimension string) {
	doc := map[string]any{m.Name: value}
	sets := [][]string{{}}
	if m.Dimension != "" && dimension != "" {
		if len(dimension) > maxDimensionValue {
			dimension = dimension[:maxDimensionValue]
		}
		doc[m.Dimension] = dimension
		sets = [][]string{{m.Dimension}, {}}
	}
	if lc, ok := lambdacontext.FromContext(ctx); ok {
		doc["requestId"] = lc.AwsRequestID
	}
	doc["_aws"] = emfMetadata{
		Timestamp: e.now().UnixMilli(),
		CloudWatchMetrics: []emfDirective{{
			Namespace:  e.namespace,
			Dimensions: sets,
			Metrics:    []emfMetric{{Name: m.Name, Unit: m.Unit}},
		}},
	}
	line, err := json.Marshal(doc)
	if err != nil {
		return // a NaN or infinite value; CloudWatch would refuse it too
	}
	line = append(line, '\n')
	e.mu.Lock()
	defer e.mu.Unlock()
	_, _ = e.w.Write(line)
}
