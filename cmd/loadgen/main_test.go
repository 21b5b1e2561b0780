package main

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
	"time"
)

func ms(n int) time.Duration { return time.Duration(n) * time.Millisecond }

func TestPercentile(t *testing.T) {
	hundred := make([]time.Duration, 100) // 1 ms … 100 ms
	for i := range hundred {
		hundred[i] = ms(i + 1)
	}
	tests := []struct {
		name   string
		sorted []time.Duration
		p      float64
		want   time.Duration
	}{
		{"empty", nil, 50, 0},
		{"one value is every percentile", []time.Duration{ms(7)}, 99, ms(7)},
		{"one value, p50", []time.Duration{ms(7)}, 50, ms(7)},
		{"p50 of 100", hundred, 50, ms(50)},
		{"p90 of 100", hundred, 90, ms(90)},
		{"p99 of 100", hundred, 99, ms(99)},
		{"p100 is the max", hundred, 100, ms(100)},
		// Nearest rank rounds the rank up: of 10 values, p99 needs the
		// 10th (9.9 → 10), never an interpolation between 9th and 10th.
		{"p99 of 10 is the max", hundred[:10], 99, ms(10)},
		{"p90 of 10", hundred[:10], 90, ms(9)},
		{"p50 of 4 is the 2nd", hundred[:4], 50, ms(2)},
		{"p50 of 5 is the 3rd", hundred[:5], 50, ms(3)},
		{"tiny p is the min", hundred, 0.001, ms(1)},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := percentile(tt.sorted, tt.p); got != tt.want {
				t.Errorf("percentile(%d values, %v) = %v, want %v", len(tt.sorted), tt.p, got, tt.want)
			}
		})
	}
}

func TestCheckURL(t *testing.T) {
	ok := []string{
		"http://127.0.0.1:8080/graphql",
		"http://127.1.2.3/graphql", // all of 127.0.0.0/8 is loopback
		"http://[::1]:18181/graphql",
		"http://localhost:8080/graphql",
		"https://LOCALHOST/graphql",
	}
	refused := []string{
		"http://10.0.0.1:8080/graphql",
		"http://192.168.1.10/graphql",
		"http://0.0.0.0:8080/graphql", // reaches this machine on Linux, but is not a loopback address
		"http://[::]:8080/graphql",
		"http://example.com/graphql",
		"http://127.0.0.1.nip.io/graphql", // a name that resolves to 127.0.0.1 today
		"http://localhost.example.com/graphql",
		"http://2130706433/graphql", // 127.0.0.1 as an integer: not parsed as an IP, refused as a name
		"ftp://127.0.0.1/graphql",
		"127.0.0.1:8080",
		"http://%zz",
		"",
	}
	for _, u := range ok {
		if err := checkURL(u); err != nil {
			t.Errorf("checkURL(%q) = %v, want nil", u, err)
		}
	}
	for _, u := range refused {
		if err := checkURL(u); err == nil {
			t.Errorf("checkURL(%q) = nil, want a refusal", u)
		}
	}
}

// The dialer hook is the second line: whatever a name resolved to, only a
// loopback address is dialled.
func TestLoopbackOnly(t *testing.T) {
	for _, addr := range []string{"127.0.0.1:80", "[::1]:443", "127.9.9.9:1"} {
		if err := loopbackOnly("tcp", addr, nil); err != nil {
			t.Errorf("loopbackOnly(%s) = %v, want nil", addr, err)
		}
	}
	for _, addr := range []string{"10.1.2.3:80", "[2001:db8::1]:443", "0.0.0.0:80", "localhost:80", "garbage"} {
		if err := loopbackOnly("tcp", addr, nil); err == nil {
			t.Errorf("loopbackOnly(%s) = nil, want a refusal", addr)
		}
	}
	// And through a real client: a non-loopback target fails at the dial.
	c := &client{url: "http://192.0.2.1:9/graphql", key: "k"} // TEST-NET-1, never routed
	fresh, err := newClient("http://127.0.0.1:9/graphql", "k", 1, time.Second)
	if err != nil {
		t.Fatal(err)
	}
	c.http = fresh.http
	res := c.send(t.Context(), []byte(`{}`))
	if res.kind != errTransport || !strings.Contains(res.err.Error(), "not a loopback address") {
		t.Errorf("send to 192.0.2.1: got %v, want a refusal by the dialer", res.err)
	}
}

func TestNewClientRefusesRemoteURL(t *testing.T) {
	if _, err := newClient("http://example.com/graphql", "k", 1, time.Second); err == nil {
		t.Fatal("newClient accepted a remote URL")
	}
}

func TestStatusField(t *testing.T) {
	status := "Name:\tomnicanal\nVmPeak:\t 1300000 kB\nVmHWM:\t   51234 kB\nVmRSS:\t   48000 kB\nThreads:\t9\n"
	for field, want := range map[string]int64{"VmRSS": 48000, "VmHWM": 51234} {
		got, err := statusField(strings.NewReader(status), field)
		if err != nil || got != want {
			t.Errorf("statusField(%s) = %d, %v; want %d", field, got, err, want)
		}
	}
	if _, err := statusField(strings.NewReader(status), "VmSwap"); err == nil {
		t.Error("statusField found a missing field")
	}
	if _, err := statusField(strings.NewReader("VmRSS:\t12 MB\n"), "VmRSS"); err == nil {
		t.Error("statusField accepted a unit other than kB")
	}
}

func TestGraphQLErrors(t *testing.T) {
	for raw, wantErr := range map[string]bool{
		`{"data":{"products":{"nodes":[]}}}`:                                                                   false,
		`{"data":{"product":{"description":"no \"errors\" here"}}}`:                                            false, // the word alone is not an error
		`{"errors":[],"data":{}}`:                                                                              false,
		`{"errors":[{"message":"boom","extensions":{"code":"INTERNAL"}}]}`:                                     true,
		`{"data":null,"errors":[{"message":"bad","extensions":{"code":"X"}}]}`:                                 true,
		`{"data":{"a":1},"errors":[{"message":"partial","path":["a","b"]}]}`:                                   true,
		`not json but mentions "errors"`:                                                                       true,
		`{"data":{"cartLinesAdd":{"cart":{"id":"c"},"userErrors":[]}}}`:                                        false,
		`{"data":{"cartLinesAdd":{"cart":null,"userErrors":[{"message":"none left","code":"OUT_OF_STOCK"}]}}}`: true,
	} {
		if err := graphQLErrors([]byte(raw)); (err != nil) != wantErr {
			t.Errorf("graphQLErrors(%s) = %v, want error %v", raw, err, wantErr)
		}
	}
}

// fakeServer answers like /graphql: the handles query, and every fifth
// other request with a GraphQL error and every seventh with a 500.
func fakeServer(t *testing.T) (*httptest.Server, *atomic.Int64) {
	t.Helper()
	var n atomic.Int64
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Header.Get("X-Channel-Key") != "pk_test" {
			http.Error(w, "no key", http.StatusBadRequest)
			return
		}
		body, _ := io.ReadAll(r.Body)
		var req struct {
			Query     string
			Variables map[string]any
		}
		if err := json.Unmarshal(body, &req); err != nil {
			http.Error(w, "bad json", http.StatusBadRequest)
			return
		}
		if strings.Contains(req.Query, "nodes { handle }") {
			w.Write([]byte(`{"data":{"products":{"nodes":[{"handle":"a"},{"handle":"b"}]}}}`))
			return
		}
		switch k := n.Add(1); {
		case k%7 == 0:
			w.WriteHeader(http.StatusInternalServerError)
		case k%5 == 0:
			w.Write([]byte(`{"errors":[{"message":"nope","extensions":{"code":"INTERNAL"}}]}`))
		default:
			time.Sleep(time.Millisecond)
			w.Write([]byte(`{"data":{"product":{"handle":"a"}}}`))
		}
	}))
	t.Cleanup(srv.Close)
	return srv, &n
}

// A whole run against a loopback server: it stops by itself, leaves the
// warm-up out, counts non-200 answers and GraphQL errors as errors.
func TestRun(t *testing.T) {
	srv, _ := fakeServer(t)
	var out, errOut bytes.Buffer
	err := run([]string{"--url", srv.URL, "--op", "product", "--key", "pk_test", "--c", "4",
		"--warmup", "100ms", "--d", "400ms", "--json"}, &out, &errOut)
	if err != nil {
		t.Fatalf("run: %v\n%s", err, errOut.String())
	}
	var rep report
	if err := json.Unmarshal(out.Bytes(), &rep); err != nil {
		t.Fatalf("%v: %s", err, out.String())
	}
	if rep.Requests == 0 || rep.RPS <= 0 {
		t.Fatalf("no requests measured: %s", out.String())
	}
	if rep.MeasuredSec < 0.35 || rep.MeasuredSec > 0.45 {
		t.Errorf("measured %.3fs, want the 0.4s window", rep.MeasuredSec)
	}
	if rep.ErrorsBy.Status == 0 || rep.ErrorsBy.GraphQL == 0 || rep.ErrorsBy.Transport != 0 {
		t.Errorf("errors by kind %+v, want some HTTP status and GraphQL errors and no transport errors", rep.ErrorsBy)
	}
	if rep.LatencyMs.P50 < 1 || rep.LatencyMs.Max < rep.LatencyMs.P99 || rep.LatencyMs.P99 < rep.LatencyMs.P50 {
		t.Errorf("latencies %+v: want p50 ≥ 1 ms (the server sleeps) and p50 ≤ p99 ≤ max", rep.LatencyMs)
	}
}

// With -n the run stops after that many measured requests.
func TestRunRequestCount(t *testing.T) {
	srv, _ := fakeServer(t)
	var out bytes.Buffer
	err := run([]string{"--url", srv.URL, "--op", "listing", "--key", "pk_test", "--c", "3",
		"--warmup", "0s", "--d", "30s", "--n", "50", "--json"}, &out, io.Discard)
	if err != nil {
		t.Fatal(err)
	}
	var rep report
	if err := json.Unmarshal(out.Bytes(), &rep); err != nil {
		t.Fatal(err)
	}
	if rep.Requests != 50 || rep.MeasuredSec >= 30 {
		t.Errorf("got %d requests in %.1fs, want exactly 50 well before 30s", rep.Requests, rep.MeasuredSec)
	}
}

func TestFlagsRefuseUnbounded(t *testing.T) {
	for _, args := range [][]string{
		{"--d", "0s"},
		{"--d", "2h"},
		{"--c", "0"},
		{"--c", "100000"},
		{"--n", "-1"},
		{"--op", "nope"},
		{"--url", "http://example.com/graphql"},
	} {
		if _, err := parseFlags(args, io.Discard); err == nil {
			t.Errorf("parseFlags(%q) accepted", args)
		}
	}
	if _, err := parseFlags(nil, io.Discard); err != nil {
		t.Errorf("the defaults are refused: %v", err)
	}
}

func TestOperationsEncode(t *testing.T) {
	for name, op := range operations {
		if !strings.Contains(op.query, "{") {
			t.Errorf("%s: query %q", name, op.query)
		}
	}
	bodies, err := operation{query: "query($q: String!) { x(q: $q) }", vars: rotate("q", "a", "b")}.bodies(context.Background(), nil)
	if err != nil || len(bodies) != 2 || !bytes.Contains(bodies[1], []byte(`"variables":{"q":"b"}`)) {
		t.Errorf("rotate: %q, %v", bodies, err)
	}
}

// An operation with perConn gives each connection its own bodies, which
// that connection sends in order; the others share one list.
func TestConnBodies(t *testing.T) {
	op := operation{query: "mutation($c: Int!, $k: Int!) { x(c: $c, k: $k) }",
		perConn: func(_ context.Context, _ *client, conn, conns int) ([]map[string]any, error) {
			if conns != 3 {
				t.Errorf("conns %d, want 3", conns)
			}
			return []map[string]any{{"c": conn, "k": 0}, {"c": conn, "k": 1}}, nil
		}}
	bodies, err := op.connBodies(context.Background(), nil, 3)
	if err != nil || len(bodies) != 3 || len(bodies[2]) != 2 || !bytes.Contains(bodies[2][1], []byte(`{"c":2,"k":1}`)) {
		t.Fatalf("perConn: %q, %v", bodies, err)
	}
	shared, err := operation{query: "{ x }"}.connBodies(context.Background(), nil, 3)
	if err != nil || len(shared) != 1 || len(shared[0]) != 1 {
		t.Errorf("shared: %q, %v", shared, err)
	}
}
