package metrics_test

import (
	"bufio"
	"context"
	"encoding/json"
	"os"
	"sync"
	"testing"

	"github.com/fleetclaim/fleetclaim/shared/logging"
	"github.com/fleetclaim/fleetclaim/shared/metrics"
)

// In Lambda, slog lines and EMF documents share stdout, a pipe. Written
// concurrently, every line must still be one JSON object, either a log line
// or an EMF document, or CloudWatch Logs would extract no metric from it.
func TestEMFLinesStandApartFromLogLines(t *testing.T) {
	r, w, err := os.Pipe()
	if err != nil {
		t.Fatal(err)
	}
	log := logging.New(w, "info")
	emf := metrics.NewEMF(w, "fleetclaim/test")
	const each = 300
	var wg sync.WaitGroup
	for g := range 4 {
		wg.Go(func() {
			for i := range each {
				if g%2 == 0 {
					log.Info("provisioning denied", "reason", "serial_mismatch", "i", i)
				} else {
					emf.Record(context.Background(), metrics.RegistrationsDenied, 1, "serial_mismatch")
				}
			}
		})
	}
	go func() { wg.Wait(); _ = w.Close() }()

	var logs, docs int
	sc := bufio.NewScanner(r)
	for sc.Scan() {
		var line map[string]any
		if err := json.Unmarshal(sc.Bytes(), &line); err != nil {
			t.Fatalf("a line is not one JSON object: %q", sc.Text())
		}
		_, isEMF := line["_aws"]
		_, isLog := line["message"]
		switch {
		case isEMF && !isLog:
			docs++
		case isLog && !isEMF:
			logs++
		default:
			t.Fatalf("a line mixes a log line and a metric: %q", sc.Text())
		}
	}
	if err := sc.Err(); err != nil {
		t.Fatal(err)
	}
	if logs != 2*each || docs != 2*each {
		t.Errorf("got %d log lines and %d metric lines, want %d of each", logs, docs, 2*each)
	}
}
