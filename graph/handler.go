package graph

import (
	"context"
	"log/slog"
	"net/http"
	"net/netip"
	"time"

	"github.com/99designs/gqlgen/graphql"
	"github.com/99designs/gqlgen/graphql/handler"
	"github.com/99designs/gqlgen/graphql/handler/extension"
	"github.com/99designs/gqlgen/graphql/handler/lru"
	"github.com/99designs/gqlgen/graphql/handler/transport"
	"github.com/coder/websocket"
	"github.com/vektah/gqlparser/v2/ast"

	"github.com/omnicanal/omnicanal/commerce/channel"
	"github.com/omnicanal/omnicanal/commerce/staff"
	"github.com/omnicanal/omnicanal/graph/generated"
)

// ChannelKeyHeader names the sales channel of a request.
const ChannelKeyHeader = "X-Channel-Key"

// Limits protect the server from expensive or oversized operations.
type Limits struct {
	MaxComplexity int           // summed field cost, lists weighted by `first`
	MaxDepth      int           // nesting of fields, introspection excluded
	MaxTokens     int           // lexer tokens in one document
	MaxBodyBytes  int64         // request body size
	Timeout       time.Duration // one query or mutation, end to end
	// Operations executing at once, queries and mutations each on their
	// own (0: three queries and eight mutations per CPU); see inFlight.
	MaxQueriesInFlight, MaxMutationsInFlight int
}

// Options configure the GraphQL handler.
type Options struct {
	Limits
	Introspection bool // allow __schema / __type queries (on in development)
	Logger        *slog.Logger
	// Cache, when set, answers anonymous catalog reads from memory for a
	// short while; see Cache.
	Cache *Cache
	// Staff verifies staff bearer tokens (see auth.go) and signs staff in
	// (staffSignIn); nil refuses both.
	Staff *staff.Service
	// TrustedProxies are the load balancers and proxies whose
	// X-Forwarded-For header is believed when telling clients apart for
	// rate limits (see clientAddr); none by default.
	TrustedProxies []netip.Prefix
}

// NewHandler returns the /graphql HTTP handler: GET and POST as the
// GraphQL-over-HTTP specification says, and the graphql-transport-ws
// websocket protocol for subscriptions.
func NewHandler(svc Services, opts Options) http.Handler {
	cfg := generated.Config{Resolvers: &Resolver{Services: svc, staff: opts.Staff}}
	setComplexity(&cfg.Complexity)
	srv := handler.New(generated.NewExecutableSchema(cfg))

	srv.AddTransport(transport.Websocket{
		KeepAlivePingInterval: 15 * time.Second,
		InitTimeout:           10 * time.Second,
		PayloadReadLimit:      &opts.MaxBodyBytes,
		Implementation: transport.CoderWebsocketImplementation{AcceptOptions: websocket.AcceptOptions{
			// Websocket clients authenticate with keys and tokens in the
			// connection_init payload, never with cookies, so a page on
			// another origin (a storefront's own domain) gains nothing
			// it could not get with its own key.
			OriginPatterns: []string{"*"},
		}},
		InitFunc: func(ctx context.Context, payload transport.InitPayload) (context.Context, *transport.InitPayload, error) {
			ctx, err := authenticateInit(ctx, opts.Staff, svc.Customers, payload)
			if err != nil {
				return ctx, nil, err
			}
			key, _ := payload[ChannelKeyHeader].(string)
			if key == "" {
				key, _ = payload["channelKey"].(string)
			}
			if key == "" {
				return ctx, nil, nil // the HTTP middleware may have resolved the header
			}
			ch, err := svc.Channels.FindChannelByKey(ctx, key)
			if err != nil {
				return ctx, nil, err
			}
			return channel.NewContext(ctx, ch), nil, nil
		},
	})
	srv.AddTransport(httpTransport{maxBodyBytes: opts.MaxBodyBytes, inFlight: newInFlight(opts.MaxQueriesInFlight, opts.MaxMutationsInFlight)})

	srv.SetQueryCache(lru.New[*ast.QueryDocument](1000))
	srv.SetParserTokenLimit(opts.MaxTokens)
	if opts.Introspection {
		srv.Use(extension.Introspection{})
	}
	srv.Use(extension.FixedComplexityLimit(opts.MaxComplexity))
	srv.Use(depthLimit{max: opts.MaxDepth})
	srv.Use(channelGate{})
	useAuth(srv, svc)
	srv.AroundOperations(func(ctx context.Context, next graphql.OperationHandler) graphql.ResponseHandler {
		return next(withLoaders(ctx, newLoaders(svc, channel.FromContext(ctx))))
	})
	srv.AroundResponses(func(ctx context.Context, next graphql.ResponseHandler) *graphql.Response {
		// A subscription is one operation that lives as long as its socket:
		// each push must see the catalog, stock and prices of its moment,
		// not what the operation's loaders cached at the first one.
		if !graphql.HasOperationContext(ctx) {
			return next(ctx)
		}
		if oc := graphql.GetOperationContext(ctx); oc.Operation != nil && oc.Operation.Operation == ast.Subscription {
			ctx = withLoaders(ctx, newLoaders(svc, channel.FromContext(ctx)))
		}
		return next(ctx)
	})
	srv.SetErrorPresenter(presentError(opts.Logger))
	srv.SetRecoverFunc(recoverPanic(opts.Logger))

	var h http.Handler = resolveChannel(svc.Channels, opts.Timeout, withClient(opts.TrustedProxies, authenticateBearer(opts.Staff, svc.Customers, srv)))
	if opts.Cache != nil {
		// A hit needs no in-flight slot (see inFlight): it executes nothing.
		opts.Cache.maxBody = opts.MaxBodyBytes
		h = opts.Cache.middleware(h)
	}
	return h
}

// resolveChannel reads the X-Channel-Key header into the request context.
// A bad key is not rejected here but remembered: channelGate turns it into a
// GraphQL error, so the client gets it in the shape it negotiated.
func resolveChannel(channels *channel.Service, timeout time.Duration, next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		ctx := r.Context()
		if r.Header.Get("Upgrade") == "" && timeout > 0 {
			// Subscriptions live as long as the socket; everything else is
			// bounded so a slow query cannot hold a connection forever.
			var cancel context.CancelFunc
			ctx, cancel = context.WithTimeout(ctx, timeout)
			defer cancel()
		}
		if key := r.Header.Get(ChannelKeyHeader); key != "" {
			ch, err := channels.FindChannelByKey(ctx, key)
			if err != nil {
				ctx = context.WithValue(ctx, channelErrKey{}, err)
			} else {
				ctx = channel.NewContext(ctx, ch)
			}
		}
		next.ServeHTTP(w, r.WithContext(ctx))
	})
}

type channelErrKey struct{}
