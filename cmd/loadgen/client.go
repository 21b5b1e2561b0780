package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"syscall"
	"time"
)

// checkURL refuses anything but http(s) to a loopback address or the name
// localhost. Other names are refused outright, even ones that resolve to
// 127.0.0.1 today: what they resolve to can change. The dialer checks the
// address again (loopbackOnly), so neither DNS nor anything else can take a
// connection off this machine.
func checkURL(raw string) error {
	u, err := url.Parse(raw)
	if err != nil {
		return fmt.Errorf("--url: %w", err)
	}
	if u.Scheme != "http" && u.Scheme != "https" {
		return fmt.Errorf("--url %q: the scheme must be http or https", raw)
	}
	host := u.Hostname()
	if strings.EqualFold(host, "localhost") {
		return nil
	}
	if ip := net.ParseIP(host); ip != nil && ip.IsLoopback() {
		return nil
	}
	return fmt.Errorf("--url %q: only loopback addresses (127.0.0.0/8, ::1, localhost) may be loaded", raw)
}

// loopbackOnly is the dialer's Control hook: it sees the resolved address of
// every connection and refuses any that is not loopback.
func loopbackOnly(_, address string, _ syscall.RawConn) error {
	host, _, err := net.SplitHostPort(address)
	if err != nil {
		return err
	}
	if ip := net.ParseIP(host); ip == nil || !ip.IsLoopback() {
		return fmt.Errorf("refusing to connect to %s: not a loopback address", address)
	}
	return nil
}

// client sends GraphQL requests over a pool of exactly conns keep-alive
// connections.
type client struct {
	url, key string
	http     *http.Client

	setupMu  sync.Mutex
	variants []string // cartAdd's variants, fetched once
}

func newClient(rawURL, key string, conns int, timeout time.Duration) (*client, error) {
	if err := checkURL(rawURL); err != nil {
		return nil, err
	}
	dialer := &net.Dialer{Timeout: 5 * time.Second, KeepAlive: 30 * time.Second, Control: loopbackOnly}
	tr := &http.Transport{
		DialContext: dialer.DialContext,
		// One connection per worker, kept open between requests: the
		// figures are of the server, not of TCP handshakes.
		MaxConnsPerHost:     conns,
		MaxIdleConns:        conns,
		MaxIdleConnsPerHost: conns,
		IdleConnTimeout:     time.Minute,
		DisableCompression:  true,
		ForceAttemptHTTP2:   false,
	}
	return &client{
		url: rawURL,
		key: key,
		http: &http.Client{
			Transport: tr,
			Timeout:   timeout,
			// A redirect could lead anywhere; the dialer would refuse a
			// non-loopback target anyway, but an answer that redirects is
			// a misconfiguration to report, not to follow.
			CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
		},
	}, nil
}

func (c *client) close() { c.http.CloseIdleConnections() }

// result is the outcome of one request.
type result struct {
	body []byte
	err  error // nil, or why the request counts as an error
	kind errKind
}

type errKind int

const (
	errNone      errKind = iota
	errTransport         // no HTTP response (refused, reset, timeout)
	errStatus            // an HTTP status other than 200
	errGraphQL           // 200 with a non-empty "errors" array
)

// send posts body and classifies the answer. Reading the whole body matters
// beyond the error check: only a fully read body lets the connection be
// reused.
func (c *client) send(ctx context.Context, body []byte) result {
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, c.url, bytes.NewReader(body))
	if err != nil {
		return result{err: err, kind: errTransport}
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Accept", "application/graphql-response+json, application/json;q=0.9")
	req.Header.Set("X-Channel-Key", c.key)
	res, err := c.http.Do(req)
	if err != nil {
		return result{err: err, kind: errTransport}
	}
	defer res.Body.Close()
	raw, err := io.ReadAll(res.Body)
	if err != nil {
		return result{err: err, kind: errTransport}
	}
	if res.StatusCode != http.StatusOK {
		return result{body: raw, err: fmt.Errorf("HTTP %d: %s", res.StatusCode, snippet(raw)), kind: errStatus}
	}
	if err := graphQLErrors(raw); err != nil {
		return result{body: raw, err: err, kind: errGraphQL}
	}
	return result{body: raw}
}

// graphQLErrors returns the first error of a response that has any: an
// entry of its "errors", or of a mutation payload's "userErrors" (a refused
// cart change is not a served request). The full decode only runs when the
// text "errors" or "userErrors":[{ appears at all, which keeps the load
// generator's own CPU use low on a machine it shares with the server.
func graphQLErrors(raw []byte) error {
	if bytes.Contains(raw, []byte(`"userErrors":[{`)) {
		if err := userErrors(raw); err != nil {
			return err
		}
	}
	if !bytes.Contains(raw, []byte(`"errors"`)) {
		return nil
	}
	var r struct {
		Errors []struct {
			Message    string         `json:"message"`
			Extensions map[string]any `json:"extensions"`
		} `json:"errors"`
	}
	if err := json.Unmarshal(raw, &r); err != nil {
		return fmt.Errorf("response is not JSON: %s", snippet(raw))
	}
	if len(r.Errors) == 0 {
		return nil
	}
	e := r.Errors[0]
	if code, ok := e.Extensions["code"].(string); ok {
		return fmt.Errorf("GraphQL error %s: %s", code, e.Message)
	}
	return errors.New("GraphQL error: " + e.Message)
}

// userErrors returns the first entry of a "userErrors" array found in the
// response's data, one level under "data" (a mutation's payload).
func userErrors(raw []byte) error {
	var r struct {
		Data map[string]struct {
			UserErrors []struct {
				Message string `json:"message"`
				Code    string `json:"code"`
			} `json:"userErrors"`
		} `json:"data"`
	}
	if err := json.Unmarshal(raw, &r); err != nil {
		return fmt.Errorf("response is not JSON: %s", snippet(raw))
	}
	for _, p := range r.Data {
		if len(p.UserErrors) > 0 {
			e := p.UserErrors[0]
			return fmt.Errorf("user error %s: %s", e.Code, e.Message)
		}
	}
	return nil
}

func snippet(b []byte) string {
	const limit = 200
	if len(b) > limit {
		return string(b[:limit]) + "…"
	}
	return string(b)
}
