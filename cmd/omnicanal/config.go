package main

import (
	"errors"
	"flag"
	"fmt"
	"log/slog"
	"net/netip"
	"net/url"
	"os"
	"strconv"
	"strings"
	"time"

	"github.com/omnicanal/omnicanal/graph"
)

// Config is every setting of the server, read from the environment (and a
// few flags) and validated in one place. Secrets may be given as NAME_FILE,
// a path to a file holding the value, so they need not sit in the environment.
type Config struct {
	Addr        string // OMNICANAL_ADDR / --addr
	DataDir     string // OMNICANAL_DATA_DIR / --data-dir
	DatabaseURL string // DATABASE_URL

	MeiliURL    string // MEILI_URL
	MeiliAPIKey string // MEILI_API_KEY
	MeiliIndex  string // MEILI_INDEX

	// Online payment needs StripeSecretKey; without it orders get no
	// payment gateway and refuse ONLINE payment. /webhooks/stripe is
	// served only with StripeWebhookSecret. StripeAPIBase points the
	// client elsewhere, e.g. at stripe-mock (docs/payments.md).
	StripeSecretKey     string // STRIPE_SECRET_KEY
	StripeWebhookSecret string // STRIPE_WEBHOOK_SECRET
	StripeAPIBase       string // STRIPE_API_BASE: default https://api.stripe.com

	LogLevel  slog.Level // OMNICANAL_LOG_LEVEL
	LogFormat string     // OMNICANAL_LOG_FORMAT: text or json

	GraphQL  graph.Limits
	CacheTTL time.Duration // OMNICANAL_GRAPHQL_CACHE_TTL: anonymous catalog reads; 0 turns it off
	GraphiQL bool          // OMNICANAL_GRAPHIQL: serve /graphiql and allow introspection

	// TrustedProxies are the load balancers and proxies in front of the
	// server whose X-Forwarded-For is believed when rate limits tell clients
	// apart; empty (the default) trusts nobody and keys limits by the
	// connection's peer.
	TrustedProxies []netip.Prefix // TRUSTED_PROXIES: comma-separated CIDRs or addresses

	ShutdownTimeout time.Duration // OMNICANAL_SHUTDOWN_TIMEOUT
}

// defaults differ between `serve` (production) and `dev`.
func defaultConfig(dev bool) Config {
	c := Config{
		Addr:       ":8080",
		DataDir:    ".data",
		MeiliIndex: "products",
		LogLevel:   slog.LevelInfo,
		LogFormat:  "json",
		GraphQL: graph.Limits{
			MaxComplexity: 20000,
			MaxDepth:      12,
			MaxTokens:     10000,
			MaxBodyBytes:  1 << 20,
			Timeout:       10 * time.Second,
		},
		CacheTTL:        2 * time.Second,
		ShutdownTimeout: 20 * time.Second,
	}
	if dev {
		c.Addr = "localhost:8080"
		c.LogFormat = "text"
		c.GraphiQL = true
	}
	return c
}

// loadConfig reads the environment (getenv) over the defaults, then the
// command-line flags over both.
func loadConfig(dev bool, args []string, getenv func(string) string) (Config, error) {
	c := defaultConfig(dev)
	r := envReader{getenv: getenv}
	r.str("OMNICANAL_ADDR", &c.Addr)
	r.str("OMNICANAL_DATA_DIR", &c.DataDir)
	r.secret("DATABASE_URL", &c.DatabaseURL)
	r.str("MEILI_URL", &c.MeiliURL)
	r.secret("MEILI_API_KEY", &c.MeiliAPIKey)
	r.str("MEILI_INDEX", &c.MeiliIndex)
	r.secret("STRIPE_SECRET_KEY", &c.StripeSecretKey)
	r.secret("STRIPE_WEBHOOK_SECRET", &c.StripeWebhookSecret)
	r.str("STRIPE_API_BASE", &c.StripeAPIBase)
	if v := getenv("OMNICANAL_LOG_LEVEL"); v != "" {
		if err := c.LogLevel.UnmarshalText([]byte(v)); err != nil {
			r.errs = append(r.errs, fmt.Errorf("OMNICANAL_LOG_LEVEL: %q is not debug, info, warn or error", v))
		}
	}
	r.str("OMNICANAL_LOG_FORMAT", &c.LogFormat)
	r.integer("OMNICANAL_GRAPHQL_MAX_COMPLEXITY", &c.GraphQL.MaxComplexity)
	r.integer("OMNICANAL_GRAPHQL_MAX_DEPTH", &c.GraphQL.MaxDepth)
	r.integer("OMNICANAL_GRAPHQL_MAX_TOKENS", &c.GraphQL.MaxTokens)
	r.integer("OMNICANAL_GRAPHQL_MAX_QUERIES_IN_FLIGHT", &c.GraphQL.MaxQueriesInFlight)
	r.integer("OMNICANAL_GRAPHQL_MAX_MUTATIONS_IN_FLIGHT", &c.GraphQL.MaxMutationsInFlight)
	if getenv("OMNICANAL_GRAPHQL_MAX_IN_FLIGHT") != "" {
		// Not silently ignored: the operator meant to bound something.
		r.errs = append(r.errs, errors.New("OMNICANAL_GRAPHQL_MAX_IN_FLIGHT is now two settings: OMNICANAL_GRAPHQL_MAX_QUERIES_IN_FLIGHT and OMNICANAL_GRAPHQL_MAX_MUTATIONS_IN_FLIGHT"))
	}
	var body int
	body = int(c.GraphQL.MaxBodyBytes)
	r.integer("OMNICANAL_GRAPHQL_MAX_BODY_BYTES", &body)
	c.GraphQL.MaxBodyBytes = int64(body)
	r.duration("OMNICANAL_GRAPHQL_TIMEOUT", &c.GraphQL.Timeout)
	r.boolean("OMNICANAL_GRAPHIQL", &c.GraphiQL)
	r.duration("OMNICANAL_GRAPHQL_CACHE_TTL", &c.CacheTTL)
	r.duration("OMNICANAL_SHUTDOWN_TIMEOUT", &c.ShutdownTimeout)
	if v := getenv("TRUSTED_PROXIES"); v != "" {
		var err error
		if c.TrustedProxies, err = parseTrustedProxies(v); err != nil {
			r.errs = append(r.errs, fmt.Errorf("TRUSTED_PROXIES: %w", err))
		}
	}

	fs := flag.NewFlagSet("omnicanal", flag.ContinueOnError)
	fs.StringVar(&c.Addr, "addr", c.Addr, "listen address (OMNICANAL_ADDR)")
	fs.StringVar(&c.DataDir, "data-dir", c.DataDir, "data folder, home of the private dev Postgres (OMNICANAL_DATA_DIR)")
	if err := fs.Parse(args); err != nil {
		return c, err
	}
	if fs.NArg() > 0 {
		r.errs = append(r.errs, fmt.Errorf("unexpected arguments: %s", strings.Join(fs.Args(), " ")))
	}
	return c, errors.Join(append(r.errs, c.validate())...)
}

func (c Config) validate() error {
	var errs []error
	if strings.TrimSpace(c.Addr) == "" {
		errs = append(errs, errors.New("OMNICANAL_ADDR must not be empty"))
	}
	if strings.TrimSpace(c.DataDir) == "" {
		errs = append(errs, errors.New("OMNICANAL_DATA_DIR must not be empty"))
	}
	if c.LogFormat != "text" && c.LogFormat != "json" {
		errs = append(errs, fmt.Errorf("OMNICANAL_LOG_FORMAT: %q is not text or json", c.LogFormat))
	}
	for name, u := range map[string]string{"DATABASE_URL": c.DatabaseURL, "MEILI_URL": c.MeiliURL} {
		if u == "" {
			continue
		}
		if p, err := url.Parse(u); err != nil || p.Scheme == "" {
			errs = append(errs, fmt.Errorf("%s is not a URL", name)) // the value may hold a password: never echo it
		}
	}
	if c.StripeAPIBase != "" {
		if p, err := url.Parse(c.StripeAPIBase); err != nil || (p.Scheme != "http" && p.Scheme != "https") || p.Host == "" {
			errs = append(errs, errors.New("STRIPE_API_BASE is not an http(s) URL"))
		}
	}
	l := c.GraphQL
	if l.MaxComplexity <= 0 || l.MaxDepth <= 0 || l.MaxTokens <= 0 || l.MaxBodyBytes <= 0 || l.Timeout <= 0 || l.MaxQueriesInFlight < 0 || l.MaxMutationsInFlight < 0 {
		errs = append(errs, errors.New("OMNICANAL_GRAPHQL_* limits must be positive"))
	}
	if c.CacheTTL < 0 {
		errs = append(errs, errors.New("OMNICANAL_GRAPHQL_CACHE_TTL must not be negative"))
	}
	if c.ShutdownTimeout <= 0 {
		errs = append(errs, errors.New("OMNICANAL_SHUTDOWN_TIMEOUT must be positive"))
	}
	return errors.Join(errs...)
}

// LogValue lets the config be logged whole without leaking a secret.
func (c Config) LogValue() slog.Value {
	return slog.GroupValue(
		slog.String("addr", c.Addr),
		slog.String("data_dir", c.DataDir),
		slog.String("database_url", redactURL(c.DatabaseURL)),
		slog.String("meili_url", redactURL(c.MeiliURL)),
		slog.Bool("meili_api_key_set", c.MeiliAPIKey != ""),
		slog.String("meili_index", c.MeiliIndex),
		slog.Bool("stripe_secret_key_set", c.StripeSecretKey != ""),
		slog.Bool("stripe_webhook_secret_set", c.StripeWebhookSecret != ""),
		slog.String("stripe_api_base", redactURL(c.StripeAPIBase)),
		slog.String("log_level", c.LogLevel.String()),
		slog.String("log_format", c.LogFormat),
		slog.Int("graphql_max_complexity", c.GraphQL.MaxComplexity),
		slog.Int("graphql_max_depth", c.GraphQL.MaxDepth),
		slog.Int("graphql_max_tokens", c.GraphQL.MaxTokens),
		slog.Int64("graphql_max_body_bytes", c.GraphQL.MaxBodyBytes),
		slog.Duration("graphql_timeout", c.GraphQL.Timeout),
		slog.Int("graphql_max_queries_in_flight", c.GraphQL.MaxQueriesInFlight),
		slog.Int("graphql_max_mutations_in_flight", c.GraphQL.MaxMutationsInFlight),
		slog.Bool("graphiql", c.GraphiQL),
		slog.Duration("graphql_cache_ttl", c.CacheTTL),
		slog.Any("trusted_proxies", c.TrustedProxies),
	)
}

// parseTrustedProxies reads a comma-separated list of CIDRs ("10.0.0.0/8,
// 2001:db8::/32"); a bare address stands for itself alone. A prefix with
// host bits set ("10.0.0.1/8") is refused rather than guessed at: it is
// more likely a typo than a wish to trust the whole network.
func parseTrustedProxies(s string) ([]netip.Prefix, error) {
	var out []netip.Prefix
	for _, f := range strings.Split(s, ",") {
		f = strings.TrimSpace(f)
		if f == "" {
			continue
		}
		if !strings.Contains(f, "/") {
			a, err := netip.ParseAddr(f)
			if err != nil {
				return nil, fmt.Errorf("%q is not a CIDR or an IP address", f)
			}
			a = a.Unmap()
			out = append(out, netip.PrefixFrom(a, a.BitLen()))
			continue
		}
		p, err := netip.ParsePrefix(f)
		if err != nil {
			return nil, fmt.Errorf("%q is not a CIDR such as 10.0.0.0/8", f)
		}
		if p != p.Masked() {
			return nil, fmt.Errorf("%q has host bits set; did you mean %s?", f, p.Masked())
		}
		out = append(out, p)
	}
	return out, nil
}

// redactURL hides the password of a connection URL (and its query, which
// may carry one too).
func redactURL(s string) string {
	if s == "" {
		return ""
	}
	u, err := url.Parse(s)
	if err != nil {
		return "[unparsable]"
	}
	if _, has := u.User.Password(); has {
		u.User = url.UserPassword(u.User.Username(), "redacted")
	}
	if u.RawQuery != "" {
		u.RawQuery = "redacted"
	}
	return u.String()
}

type envReader struct {
	getenv func(string) string
	errs   []error
}

func (r *envReader) str(name string, dst *string) {
	if v := r.getenv(name); v != "" {
		*dst = v
	}
}

// secret reads NAME, or the file named by NAME_FILE.
func (r *envReader) secret(name string, dst *string) {
	path := r.getenv(name + "_FILE")
	if path == "" {
		r.str(name, dst)
		return
	}
	if r.getenv(name) != "" {
		r.errs = append(r.errs, fmt.Errorf("set %s or %s_FILE, not both", name, name))
		return
	}
	b, err := os.ReadFile(path)
	if err != nil {
		r.errs = append(r.errs, fmt.Errorf("%s_FILE: %w", name, err))
		return
	}
	*dst = strings.TrimSpace(string(b))
}

func (r *envReader) integer(name string, dst *int) {
	if v := r.getenv(name); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil {
			r.errs = append(r.errs, fmt.Errorf("%s: %q is not an integer", name, v))
			return
		}
		*dst = n
	}
}

func (r *envReader) duration(name string, dst *time.Duration) {
	if v := r.getenv(name); v != "" {
		d, err := time.ParseDuration(v)
		if err != nil {
			r.errs = append(r.errs, fmt.Errorf("%s: %q is not a duration such as 10s", name, v))
			return
		}
		*dst = d
	}
}

func (r *envReader) boolean(name string, dst *bool) {
	if v := r.getenv(name); v != "" {
		b, err := strconv.ParseBool(v)
		if err != nil {
			r.errs = append(r.errs, fmt.Errorf("%s: %q is not true or false", name, v))
			return
		}
		*dst = b
	}
}
