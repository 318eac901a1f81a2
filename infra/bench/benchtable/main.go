// Command benchtable turns `go test -bench -benchmem -count N` output into
// Markdown tables: per benchmark, the median time, bytes and allocations
// per operation over the N runs, the spread of the times (min–max), and,
// for a benchmark with a "memory" sibling (the same path over an in-memory
// store), the ratio to it.
//
// Usage: go test -run '^$' -bench . -benchmem -count 6 ./... | go run ./infra/bench/benchtable
package main

import (
	"bufio"
	"fmt"
	"io"
	"os"
	"regexp"
	"slices"
	"strconv"
	"strings"
)

func main() {
	benches, err := parse(os.Stdin)
	if err != nil {
		fmt.Fprintln(os.Stderr, "benchtable:", err)
		os.Exit(1)
	}
	if len(benches) == 0 {
		fmt.Fprintln(os.Stderr, "benchtable: no benchmark results in the input")
		os.Exit(1)
	}
	render(os.Stdout, benches)
}

// bench is one benchmark's runs.
type bench struct {
	pkg, name              string
	ns, bytes, allocs      []float64
	hasMem, hasAllocsPerOp bool
}

// line matches a result line, e.g.
// BenchmarkDecide/allow-2   388262   5696 ns/op   1624 B/op   31 allocs/op
var line = regexp.MustCompile(`^(Benchmark\S+?)(?:-\d+)?\s+\d+\s+([\d.]+) ns/op(?:\s+([\d.]+) B/op)?(?:\s+([\d.]+) allocs/op)?`)

func parse(r io.Reader) ([]*bench, error) {
	var out []*bench
	byName := map[string]*bench{}
	pkg := ""
	sc := bufio.NewScanner(r)
	for sc.Scan() {
		text := sc.Text()
		if p, ok := strings.CutPrefix(text, "pkg: "); ok {
			pkg = strings.TrimSpace(p)
			continue
		}
		m := line.FindStringSubmatch(text)
		if m == nil {
			continue
		}
		key := pkg + " " + m[1]
		b, ok := byName[key]
		if !ok {
			b = &bench{pkg: pkg, name: strings.TrimPrefix(m[1], "Benchmark")}
			byName[key] = b
			out = append(out, b)
		}
		ns, _ := strconv.ParseFloat(m[2], 64)
		b.ns = append(b.ns, ns)
		if m[3] != "" {
			v, _ := strconv.ParseFloat(m[3], 64)
			b.bytes, b.hasMem = append(b.bytes, v), true
		}
		if m[4] != "" {
			v, _ := strconv.ParseFloat(m[4], 64)
			b.allocs, b.hasAllocsPerOp = append(b.allocs, v), true
		}
	}
	return out, sc.Err()
}

func render(w io.Writer, benches []*bench) {
	pkg := ""
	for _, b := range benches {
		if b.pkg != pkg {
			if pkg != "" {
				fmt.Fprintln(w)
			}
			pkg = b.pkg
			fmt.Fprintf(w, "`%s`\n\n", pkg)
			fmt.Fprintln(w, "| benchmark | time/op | min–max | × memory | B/op | allocs/op | runs |")
			fmt.Fprintln(w, "|---|---|---|---|---|---|---|")
		}
		ratio := "—"
		if base := sibling(benches, b, "memory"); base != nil && base != b {
			ratio = fmt.Sprintf("%s×", sig(median(b.ns)/median(base.ns)))
		}
		bytes, allocs := "—", "—"
		if b.hasMem {
			bytes = strconv.FormatFloat(median(b.bytes), 'f', 0, 64)
		}
		if b.hasAllocsPerOp {
			allocs = strconv.FormatFloat(median(b.allocs), 'f', 0, 64)
		}
		fmt.Fprintf(w, "| %s | %s | %s–%s | %s | %s | %s | %d |\n", b.name, duration(median(b.ns)),
			duration(slices.Min(b.ns)), duration(slices.Max(b.ns)), ratio, bytes, allocs, len(b.ns))
	}
}

// sibling finds the benchmark that differs from b only in its last
// path element, which is leaf.
func sibling(benches []*bench, b *bench, leaf string) *bench {
	i := strings.LastIndexByte(b.name, '/')
	if i < 0 {
		return nil
	}
	want := b.name[:i+1] + leaf
	for _, o := range benches {
		if o.pkg == b.pkg && o.name == want {
			return o
		}
	}
	return nil
}

func median(xs []float64) float64 {
	s := slices.Clone(xs)
	slices.Sort(s)
	if len(s)%2 == 1 {
		return s[len(s)/2]
	}
	return (s[len(s)/2-1] + s[len(s)/2]) / 2
}

// duration formats nanoseconds with three significant digits.
func duration(ns float64) string {
	switch {
	case ns >= 1e6:
		return sig(ns/1e6) + " ms"
	case ns >= 1e3:
		return sig(ns/1e3) + " µs"
	default:
		return sig(ns) + " ns"
	}
}

func sig(f float64) string {
	switch {
	case f >= 100:
		return strconv.FormatFloat(f, 'f', 0, 64)
	case f >= 10:
		return strconv.FormatFloat(f, 'f', 1, 64)
	default:
		return strconv.FormatFloat(f, 'f', 2, 64)
	}
}
