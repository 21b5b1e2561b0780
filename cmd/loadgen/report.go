package main

import (
	"bufio"
	"bytes"
	"context"
	"fmt"
	"io"
	"math"
	"os"
	"slices"
	"strconv"
	"sync"
	"time"
)

// percentile returns the nearest-rank p-th percentile (0 < p ≤ 100) of
// sorted: the smallest value with at least p% of the values at or below it.
// Nearest rank never interpolates, so every figure reported is a latency
// some request really had. It returns 0 for no values.
func percentile(sorted []time.Duration, p float64) time.Duration {
	if len(sorted) == 0 {
		return 0
	}
	rank := int(math.Ceil(p / 100 * float64(len(sorted))))
	rank = max(1, min(rank, len(sorted)))
	return sorted[rank-1]
}

// report is what a run prints; its JSON form is for scripts.
type report struct {
	Operation   string  `json:"operation"`
	URL         string  `json:"url"`
	Connections int     `json:"connections"`
	WarmupSec   float64 `json:"warmupSeconds"`
	MeasuredSec float64 `json:"measuredSeconds"`
	Requests    int     `json:"requests"`
	RPS         float64 `json:"requestsPerSecond"`
	Errors      int     `json:"errors"`
	ErrorsBy    struct {
		Transport int `json:"transport"`
		Status    int `json:"status"`
		GraphQL   int `json:"graphql"`
	} `json:"errorsByKind"`
	ErrorExamples []string `json:"errorExamples,omitempty"`
	LatencyMs     struct {
		P50 float64 `json:"p50"`
		P90 float64 `json:"p90"`
		P99 float64 `json:"p99"`
		Max float64 `json:"max"`
	} `json:"latencyMs"`
	BytesPerResponse int64     `json:"bytesPerResponse"`
	RSS              *rssStats `json:"serverRss,omitempty"`
}

func newReport(cfg config, res *loadResult, rss *rssStats) *report {
	r := &report{
		Operation:   cfg.op,
		URL:         cfg.url,
		Connections: cfg.conns,
		WarmupSec:   res.from.Sub(res.start).Seconds(),
		MeasuredSec: res.to.Sub(res.from).Seconds(),
		Requests:    res.requests(),
		RSS:         rss,
	}
	if r.MeasuredSec > 0 {
		r.RPS = float64(r.Requests) / r.MeasuredSec
	}
	r.ErrorsBy.Transport, r.ErrorsBy.Status, r.ErrorsBy.GraphQL = res.errors[errTransport], res.errors[errStatus], res.errors[errGraphQL]
	r.Errors = r.ErrorsBy.Transport + r.ErrorsBy.Status + r.ErrorsBy.GraphQL
	for _, e := range res.firstErr[1:] {
		if e != "" {
			r.ErrorExamples = append(r.ErrorExamples, e)
		}
	}
	// Latency percentiles are over the successful requests: an error
	// answered in a microsecond must not make the server look fast.
	lat := slices.Clone(res.latencies)
	slices.Sort(lat)
	ms := func(d time.Duration) float64 { return math.Round(float64(d)/1e4) / 100 }
	r.LatencyMs.P50, r.LatencyMs.P90, r.LatencyMs.P99 = ms(percentile(lat, 50)), ms(percentile(lat, 90)), ms(percentile(lat, 99))
	if len(lat) > 0 {
		r.LatencyMs.Max = ms(lat[len(lat)-1])
		r.BytesPerResponse = res.bytes / int64(len(lat))
	}
	return r
}

func (r *report) print(w io.Writer) {
	fmt.Fprintf(w, "operation    %s, %d connections, %.1fs measured after %.1fs warm-up\n", r.Operation, r.Connections, r.MeasuredSec, r.WarmupSec)
	fmt.Fprintf(w, "requests     %d (%.1f/s)\n", r.Requests, r.RPS)
	fmt.Fprintf(w, "errors       %d (transport %d, HTTP status %d, GraphQL %d)\n", r.Errors, r.ErrorsBy.Transport, r.ErrorsBy.Status, r.ErrorsBy.GraphQL)
	for _, e := range r.ErrorExamples {
		fmt.Fprintf(w, "             e.g. %s\n", e)
	}
	fmt.Fprintf(w, "latency      p50 %.2f ms, p90 %.2f ms, p99 %.2f ms, max %.2f ms\n", r.LatencyMs.P50, r.LatencyMs.P90, r.LatencyMs.P99, r.LatencyMs.Max)
	fmt.Fprintf(w, "response     %d bytes\n", r.BytesPerResponse)
	if r.RSS != nil {
		fmt.Fprintf(w, "server RSS   pid %d: max %.1f MiB, mean %.1f MiB over %d samples; peak since start (VmHWM) %.1f MiB\n",
			r.RSS.PID, r.RSS.MaxMiB, r.RSS.MeanMiB, r.RSS.Samples, r.RSS.PeakMiB)
	}
}

// rssSampler reads a process's resident set size every tick.
type rssSampler struct {
	pid  int
	mu   sync.Mutex
	kibs []int64
	done chan struct{}
	stop context.CancelFunc
}

type rssStats struct {
	PID     int     `json:"pid"`
	Samples int     `json:"samples"`
	MaxMiB  float64 `json:"maxMiB"`
	MeanMiB float64 `json:"meanMiB"`
	PeakMiB float64 `json:"peakSinceStartMiB"`
}

// startRSS checks that the process can be read. Sampling itself starts with
// the measured window (begin): warm-up samples would understate a heap that
// grows under load.
func startRSS(pid int) (*rssSampler, error) {
	if _, err := readStatus(pid, "VmRSS"); err != nil {
		return nil, fmt.Errorf("--pid %d: %w", pid, err)
	}
	return &rssSampler{pid: pid}, nil
}

// begin starts sampling every period, until result is called.
func (s *rssSampler) begin(ctx context.Context, period time.Duration) {
	if s == nil {
		return
	}
	ctx, s.stop = context.WithCancel(ctx)
	s.done = make(chan struct{})
	go func() {
		defer close(s.done)
		t := time.NewTicker(period)
		defer t.Stop()
		for {
			if kib, err := readStatus(s.pid, "VmRSS"); err == nil {
				s.mu.Lock()
				s.kibs = append(s.kibs, kib)
				s.mu.Unlock()
			}
			select {
			case <-ctx.Done():
				return
			case <-t.C:
			}
		}
	}()
}

// result stops sampling and summarises the samples; nil without a sampler.
func (s *rssSampler) result() *rssStats {
	if s == nil {
		return nil
	}
	if s.stop != nil {
		s.stop()
		<-s.done
	}
	st := &rssStats{PID: s.pid, Samples: len(s.kibs)}
	var sum int64
	for _, k := range s.kibs {
		sum += k
		st.MaxMiB = max(st.MaxMiB, float64(k)/1024)
	}
	if len(s.kibs) > 0 {
		st.MeanMiB = float64(sum) / float64(len(s.kibs)) / 1024
	}
	if hwm, err := readStatus(s.pid, "VmHWM"); err == nil {
		st.PeakMiB = float64(hwm) / 1024
	}
	return st
}

// readStatus returns a "kB" field of /proc/<pid>/status, in KiB.
func readStatus(pid int, field string) (int64, error) {
	f, err := os.Open("/proc/" + strconv.Itoa(pid) + "/status")
	if err != nil {
		return 0, err
	}
	defer f.Close()
	return statusField(f, field)
}

// statusField finds "field:   1234 kB" in a /proc status file.
func statusField(r io.Reader, field string) (int64, error) {
	sc := bufio.NewScanner(r)
	prefix := []byte(field + ":")
	for sc.Scan() {
		line := sc.Bytes()
		if !bytes.HasPrefix(line, prefix) {
			continue
		}
		fields := bytes.Fields(line[len(prefix):])
		if len(fields) != 2 || string(fields[1]) != "kB" {
			return 0, fmt.Errorf("unexpected %s line %q", field, line)
		}
		return strconv.ParseInt(string(fields[0]), 10, 64)
	}
	if err := sc.Err(); err != nil {
		return 0, err
	}
	return 0, fmt.Errorf("no %s in the process status", field)
}
