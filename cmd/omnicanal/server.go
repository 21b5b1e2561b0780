package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"runtime/debug"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/omnicanal/omnicanal/admin"
	"github.com/omnicanal/omnicanal/admin/bulk"
	"github.com/omnicanal/omnicanal/commerce/cart"
	"github.com/omnicanal/omnicanal/commerce/catalog"
	"github.com/omnicanal/omnicanal/commerce/channel"
	"github.com/omnicanal/omnicanal/commerce/customer"
	"github.com/omnicanal/omnicanal/commerce/demo"
	"github.com/omnicanal/omnicanal/commerce/inventory"
	"github.com/omnicanal/omnicanal/commerce/location"
	"github.com/omnicanal/omnicanal/commerce/offer"
	"github.com/omnicanal/omnicanal/commerce/order"
	"github.com/omnicanal/omnicanal/commerce/outbox"
	"github.com/omnicanal/omnicanal/commerce/payment"
	"github.com/omnicanal/omnicanal/commerce/pickup"
	"github.com/omnicanal/omnicanal/commerce/returns"
	"github.com/omnicanal/omnicanal/commerce/staff"
	"github.com/omnicanal/omnicanal/graph"
	"github.com/omnicanal/omnicanal/internal/reqid"
	"github.com/omnicanal/omnicanal/migrations"
	stripepay "github.com/omnicanal/omnicanal/payments/stripe"
	"github.com/omnicanal/omnicanal/search"
	"github.com/omnicanal/omnicanal/web"
)

// app holds the services of one process, built once from the pool.
type app struct {
	graph.Services
	Indexer *search.Indexer
	Outbox  *outbox.Service
	// Live feeds the cartUpdated subscriptions of this instance from the
	// database's notifications; runServe runs it.
	Live *cart.Hub
	// PickupLive feeds the stores' live pickup queues (pickupQueueUpdated).
	PickupLive *pickup.Hub
	// Cache answers anonymous catalog reads for CacheTTL; nil when off.
	Cache *graph.Cache
	// Payments is the Stripe gateway, nil (online payment unavailable)
	// without STRIPE_SECRET_KEY. PaymentEvents receives the verified
	// webhook events; the orders wiring sets it in newApp, and while it
	// is nil /webhooks/stripe answers 503 (Stripe retries).
	Payments      payment.Gateway
	PaymentEvents payment.EventHandler
}

// newApp builds the services over pool; cartOpts go to the cart service.
func newApp(cfg Config, pool *pgxpool.Pool, log *slog.Logger, cartOpts ...cart.Option) *app {
	svc := graph.Services{
		Channels:     channel.NewService(pool),
		Locations:    location.NewService(pool),
		Catalog:      catalog.NewService(pool),
		Inventory:    inventory.NewService(pool),
		SearchEngine: newSearchEngine(cfg, pool),
		Customers:    customer.NewService(pool),
		Offers:       offer.NewService(pool),
	}
	// Carts are priced with the offers of the offers store, which also
	// tells which offers are used up (see the assertion below).
	live := cart.NewHub(pool, log)
	svc.Carts = cart.NewService(pool, svc.Offers, append([]cart.Option{cart.WithHub(live)}, cartOpts...)...)
	// Online payment needs the Stripe gateway; without STRIPE_SECRET_KEY
	// the order service refuses ONLINE checkouts with a clear error.
	var gateway payment.Gateway
	if cfg.StripeSecretKey != "" {
		g, err := stripepay.New(cfg.StripeSecretKey, stripepay.Options{APIBase: cfg.StripeAPIBase, Logger: log})
		if err != nil {
			log.Error("online payment unavailable", "err", err)
		} else {
			gateway = g
		}
	}
	// Orders: checkout reserves stock and counts offer uses.
	orderOpts := []order.Option{order.WithOffers(svc.Offers), order.WithLogger(log)}
	if gateway != nil {
		orderOpts = append(orderOpts, order.WithGateway(gateway))
	}
	svc.Orders = order.NewService(pool, svc.Carts, svc.Inventory, orderOpts...)
	// Returns restock the receiving store and refund through the orders.
	svc.Returns = returns.NewService(pool, svc.Orders, svc.Inventory, svc.Offers, log)
	pickupLive := pickup.NewHub(pool, log)
	svc.Pickup = pickup.NewService(pool, svc.Orders, svc.Inventory, pickup.WithHub(pickupLive), pickup.WithLogger(log))
	a := &app{
		Services: svc,
		Indexer:  &search.Indexer{Catalog: svc.Catalog, Engine: svc.SearchEngine},
		Outbox:   outbox.NewService(pool),
		Live:     live,

		PickupLive: pickupLive,
	}
	if cfg.CacheTTL > 0 {
		a.Cache = graph.NewCache(cfg.CacheTTL, 2000)
	}
	a.Payments = gateway
	// Verified Stripe webhooks move orders (paid, failed, refunded).
	a.PaymentEvents = svc.Orders
	return a
}

// The offers store gives carts its usage limits; cart.Service finds them
// by a type assertion, so a signature drift would silently drop them.
var _ cart.UsageLimits = (*offer.Service)(nil)

// orderExpiryEvery is how often each instance expires unpaid orders.
const orderExpiryEvery = 15 * time.Second

// runLive runs the live-update hubs (carts, pickup queues) until ctx ends.
func (a *app) runLive(ctx context.Context) error {
	pickupDone := make(chan error, 1)
	go func() { pickupDone <- a.PickupLive.Run(ctx) }()
	return errors.Join(a.Live.Run(ctx), <-pickupDone)
}

// runOrderExpiry expires the orders whose online payment did not complete
// in time, every orderExpiryEvery until ctx ends. Every instance runs it:
// orders are taken under row locks with SKIP LOCKED, so instances share
// the work without doing it twice.
func (a *app) runOrderExpiry(ctx context.Context, log *slog.Logger) {
	t := time.NewTicker(orderExpiryEvery)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case now := <-t.C:
			n, err := a.Orders.ExpireUnpaid(ctx, now)
			if err != nil && ctx.Err() == nil {
				log.Error("order expiry", "err", err)
			}
			if n > 0 {
				log.Info("orders expired", "count", n)
			}
			// Pickups not collected within their store's hold period.
			n, err = a.Pickup.ExpireUncollected(ctx, now)
			if err != nil && ctx.Err() == nil {
				log.Error("pickup expiry", "err", err)
			}
			if n > 0 {
				log.Info("pickups expired", "count", n)
			}
		}
	}
}

// newSearchEngine picks Meilisearch when it is configured and the Postgres
// engine otherwise.
func newSearchEngine(cfg Config, pool *pgxpool.Pool) search.Engine {
	if cfg.MeiliURL != "" {
		return search.NewMeili(cfg.MeiliURL, cfg.MeiliAPIKey, cfg.MeiliIndex)
	}
	return search.NewPostgres(pool)
}

// indexWorker drains the search queue of the outbox into the engine. Every
// instance runs one; the outbox keeps them off each other's products.
func (a *app) indexWorker(pool *pgxpool.Pool, log *slog.Logger) *outbox.Worker {
	w := &outbox.Worker{Queue: outbox.Search, Handle: a.Indexer.Index, Outbox: a.Outbox, Pool: pool, Logger: log}
	// Every catalog, price, stock or publication change queues a search
	// update in its transaction, and the queue's NOTIFY reaches every
	// instance at commit: the moment cached answers, and the catalog data
	// carts keep for their lines, go stale. The carts' data holds no stock,
	// so a stock change alone (a checkout taking a store's last unit) leaves
	// it: purging it there made checkouts read their lines' catalog data
	// again and again under load (docs/performance.md, issue 5).
	w.Notified = func(kind string) {
		if a.Cache != nil {
			a.Cache.Purge()
		}
		if kind != outbox.StockOnly {
			a.Carts.PurgeCatalog()
		}
	}
	return w
}

// newHandler wires every HTTP route of the server.
func newHandler(cfg Config, a *app, pool *pgxpool.Pool, log *slog.Logger) http.Handler {
	svc := a.Services
	staffSvc := staff.NewService(pool)
	mux := http.NewServeMux()
	mux.Handle("/graphql", graph.NewHandler(svc, graph.Options{
		Limits:        cfg.GraphQL,
		Introspection: cfg.GraphiQL,
		Logger:        log,
		Staff:         staffSvc,
		Cache:         a.Cache,

		// Whose X-Forwarded-For tells clients apart for rate limits.
		TrustedProxies: cfg.TrustedProxies,
	}))
	if cfg.GraphiQL {
		mux.Handle("GET /graphiql", web.GraphiQL("/graphql", map[string]string{graph.ChannelKeyHeader: demo.KeyWebEU}))
	}
	mux.HandleFunc("GET /healthz", func(w http.ResponseWriter, _ *http.Request) {
		writeJSON(w, http.StatusOK, map[string]string{"status": "ok"})
	})
	mux.HandleFunc("GET /readyz", func(w http.ResponseWriter, r *http.Request) {
		if err := ready(r.Context(), pool); err != nil {
			log.WarnContext(r.Context(), "not ready", "err", err)
			writeJSON(w, http.StatusServiceUnavailable, map[string]string{"status": "unavailable", "reason": err.Error()})
			return
		}
		writeJSON(w, http.StatusOK, map[string]string{"status": "ok"})
	})
	// The catalog feed (bearer-token API, not a page): more specific than
	// /admin/, so it is served outside the admin UI's handler.
	mux.Handle(bulk.Path, bulk.New(svc.Catalog, staffSvc, log))
	mux.Handle(bulk.StockPath, bulk.NewStock(svc.Inventory, staffSvc, log))
	mux.Handle("/admin/", http.StripPrefix("/admin", admin.Handler()))
	if cfg.StripeWebhookSecret != "" {
		mux.Handle(stripepay.WebhookPath, stripepay.NewWebhookHandler(cfg.StripeWebhookSecret, a.PaymentEvents, log))
	}
	// The QR images of cart handoff codes (the API's qrCodeUrl); the kiosk
	// page itself is a static file, at /kiosk/.
	mux.Handle(web.HandoffQRPath, web.HandoffQR())
	mux.Handle(web.PickupQRPath, web.PickupQR())
	mux.Handle("/", web.Static())
	return reqid.Middleware(accessLog(log, recoverHTTP(log, mux)))
}

// ready reports whether this instance can serve: the database answers and
// its schema is the one this build expects.
func ready(ctx context.Context, pool *pgxpool.Pool) error {
	ctx, cancel := context.WithTimeout(ctx, 2*time.Second)
	defer cancel()
	if err := pool.Ping(ctx); err != nil {
		return errors.New("database unreachable")
	}
	pending, err := migrations.Pending(ctx, pool)
	if err != nil {
		return errors.New("cannot read the schema version")
	}
	if len(pending) > 0 {
		return fmt.Errorf("schema out of date: %d migration(s) pending", len(pending))
	}
	return nil
}

// serveHTTP runs the HTTP server until ctx is cancelled, then shuts down
// gracefully: it stops accepting, lets requests in flight finish within
// the shutdown timeout and closes websockets.
func serveHTTP(ctx context.Context, cfg Config, handler http.Handler, log *slog.Logger, started func(addr net.Addr)) error {
	ln, err := net.Listen("tcp", cfg.Addr)
	if err != nil {
		return fmt.Errorf("listen on %s: %w", cfg.Addr, err)
	}
	// Hijacked connections (websockets) are not tracked by Shutdown; their
	// contexts derive from base, which is cancelled when shutdown starts.
	base, cancelBase := context.WithCancel(context.WithoutCancel(ctx))
	defer cancelBase()
	srv := &http.Server{
		Handler:           handler,
		ReadHeaderTimeout: 10 * time.Second,
		ReadTimeout:       30 * time.Second,
		IdleTimeout:       120 * time.Second,
		MaxHeaderBytes:    64 << 10,
		BaseContext:       func(net.Listener) context.Context { return base },
		ErrorLog:          slog.NewLogLogger(log.Handler(), slog.LevelWarn),
	}
	srv.RegisterOnShutdown(cancelBase)
	if started != nil {
		started(ln.Addr())
	}
	errc := make(chan error, 1)
	go func() { errc <- srv.Serve(ln) }()
	select {
	case err := <-errc:
		return err
	case <-ctx.Done():
	}
	log.Info("shutting down", "timeout", cfg.ShutdownTimeout)
	sctx, cancel := context.WithTimeout(context.Background(), cfg.ShutdownTimeout)
	defer cancel()
	if err := srv.Shutdown(sctx); err != nil {
		return fmt.Errorf("shutdown: %w", err)
	}
	return nil
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(v)
}

type statusRecorder struct {
	http.ResponseWriter
	status int
}

func (s *statusRecorder) WriteHeader(code int) {
	if s.status == 0 {
		s.status = code
	}
	s.ResponseWriter.WriteHeader(code)
}

// Unwrap lets http.ResponseController reach Hijack for websockets.
func (s *statusRecorder) Unwrap() http.ResponseWriter { return s.ResponseWriter }

func accessLog(log *slog.Logger, next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		start := time.Now()
		rec := &statusRecorder{ResponseWriter: w}
		next.ServeHTTP(rec, r)
		if rec.status == 0 {
			rec.status = http.StatusOK
		}
		// The query string is left out: it may carry a GraphQL query with
		// variables a shopper typed.
		log.LogAttrs(r.Context(), slog.LevelDebug, "http", slog.String("method", r.Method),
			slog.String("path", r.URL.Path), slog.Int("status", rec.status),
			slog.Duration("duration", time.Since(start)), slog.String("request_id", reqid.FromContext(r.Context())))
	})
}

// recoverHTTP answers a panic outside GraphQL (which recovers its own) with
// a bare 500, logged with its stack, instead of dropping the connection.
func recoverHTTP(log *slog.Logger, next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		defer func() {
			if v := recover(); v != nil {
				if v == http.ErrAbortHandler {
					panic(v)
				}
				log.ErrorContext(r.Context(), "http: panic", "panic", fmt.Sprint(v),
					"request_id", reqid.FromContext(r.Context()), "stack", string(debug.Stack()))
				http.Error(w, "internal error", http.StatusInternalServerError)
			}
		}()
		next.ServeHTTP(w, r)
	})
}
