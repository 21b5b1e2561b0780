package graph

import (
	"context"
	"net"
	"net/http"
	"net/netip"
	"strings"

	"github.com/99designs/gqlgen/graphql"
	"github.com/99designs/gqlgen/graphql/handler"
	"github.com/vektah/gqlparser/v2/ast"
	"github.com/vektah/gqlparser/v2/gqlerror"

	"github.com/omnicanal/omnicanal/commerce"
	"github.com/omnicanal/omnicanal/commerce/channel"
	"github.com/omnicanal/omnicanal/commerce/customer"
	"github.com/omnicanal/omnicanal/commerce/ratelimit"
	"github.com/omnicanal/omnicanal/commerce/staff"
)

// Bearer-token authentication, for staff and customers. A staff tool sends
// `Authorization: Bearer st_…`, a storefront, app or kiosk acting for a
// signed-in shopper `Authorization: Bearer ct_…` (over a websocket: an
// "Authorization" entry in the connection_init payload). The token is
// verified once per request and who it acts for is put in the context:
// the staff principal, found by services with commerce.RequireRole, or the
// customer id, found with commerce.CustomerFrom. Resolvers never decide
// permissions from it.
//
// The prefix tells the kinds apart without a lookup. Other schemes and
// tokens of no known prefix are left alone, for an authenticator of their
// own, so one header can carry any kind.

// AuthorizationHeader carries a staff or customer token.
const AuthorizationHeader = "Authorization"

// bearerToken returns the token of an Authorization value, "" when it holds
// no bearer token.
func bearerToken(authorization string) string {
	scheme, token, ok := strings.Cut(strings.TrimSpace(authorization), " ")
	if !ok || !strings.EqualFold(scheme, "Bearer") {
		return ""
	}
	return strings.TrimSpace(token)
}

// authenticate resolves a staff or customer token into ctx. Without the
// service of its kind (a server or a test that does not offer staff access
// or customer accounts) a token is refused rather than ignored: a client
// that sends one expects to act as staff or as a customer, and silently
// serving it as anonymous would only confuse it.
func authenticate(ctx context.Context, staffSvc *staff.Service, customers *customer.Service, token string) (context.Context, error) {
	switch {
	case strings.HasPrefix(token, staff.TokenPrefix):
		if staffSvc == nil {
			return ctx, commerce.Errorf(commerce.ErrUnauthenticated, "staff tokens are not accepted here")
		}
		p, err := staffSvc.Authenticate(ctx, token)
		if err != nil {
			return ctx, err
		}
		return commerce.WithPrincipal(ctx, p), nil
	case strings.HasPrefix(token, customer.TokenPrefix):
		if customers == nil {
			return ctx, commerce.Errorf(commerce.ErrUnauthenticated, "customer tokens are not accepted here")
		}
		id, err := customers.Authenticate(ctx, token)
		if err != nil {
			return ctx, err
		}
		return commerce.WithCustomer(ctx, id), nil
	}
	return ctx, nil // not ours
}

// authenticateBearer reads the Authorization header. Like a bad channel
// key, a bad token is remembered rather than answered here: authGate turns
// it into a request error in the response shape the client negotiated.
func authenticateBearer(staffSvc *staff.Service, customers *customer.Service, next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if token := bearerToken(r.Header.Get(AuthorizationHeader)); token != "" {
			ctx, err := authenticate(r.Context(), staffSvc, customers, token)
			if err != nil {
				ctx = context.WithValue(ctx, authErrKey{}, err)
			}
			r = r.WithContext(ctx)
		}
		next.ServeHTTP(w, r)
	})
}

type authErrKey struct{}

// authenticateInit is the websocket counterpart of authenticateBearer, for
// the connection_init payload. A bad token refuses the connection.
func authenticateInit(ctx context.Context, staffSvc *staff.Service, customers *customer.Service, payload map[string]any) (context.Context, error) {
	auth, _ := payload[AuthorizationHeader].(string)
	if auth == "" {
		auth, _ = payload["authorization"].(string)
	}
	token := bearerToken(auth)
	if token == "" {
		return ctx, nil
	}
	return authenticate(ctx, staffSvc, customers, token)
}

// authGate fails the whole request when its token was bad: the client
// asked to act as staff or as a customer and must not get an anonymous
// answer.
type authGate struct{}

var _ interface {
	graphql.HandlerExtension
	graphql.OperationContextMutator
} = authGate{}

func (authGate) ExtensionName() string                   { return "AuthGate" }
func (authGate) Validate(graphql.ExecutableSchema) error { return nil }
func (authGate) MutateOperationContext(ctx context.Context, _ *graphql.OperationContext) *gqlerror.Error {
	if err, _ := ctx.Value(authErrKey{}).(error); err != nil {
		// Passed through the error presenter like channelGate's errors:
		// UNAUTHENTICATED keeps its code, a database failure becomes an
		// internal error logged with the request id.
		return graphql.DefaultErrorPresenter(ctx, err)
	}
	return nil
}

// withClient puts the client's key in the request context, for services
// that rate-limit per client (sign-in, cart handoff codes). The key is the
// client's address (see clientAddr), and for IPv6 its /64 network: one
// subscriber usually holds a whole /64 and could otherwise take a fresh
// address, and a fresh allowance, for every attempt.
func withClient(trusted []netip.Prefix, next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		key := clientKey(clientAddr(r.RemoteAddr, r.Header.Values("X-Forwarded-For"), trusted))
		next.ServeHTTP(w, r.WithContext(ratelimit.WithClient(r.Context(), key)))
	})
}

// clientAddr returns the address of the client behind remoteAddr (the
// connection's peer, "192.0.2.1:5678"). Behind a load balancer the peer is
// the balancer, and the client is in X-Forwarded-For (forwarded, one value
// per header line, each a comma-separated list), to which every proxy
// appends the address it received the request from. Anyone can send that
// header, so it is believed only as far as trusted proxies vouch for it:
// with the peer trusted, the list is read from the right, skipping trusted
// proxies, and the first address that is not one is the client (whatever
// stands left of it was written by the client, and may be forged). With
// the peer untrusted (or no proxy trusted, the default), the header is
// ignored and the peer is the client. A malformed entry ends the walk at
// the last trusted hop, which then stands for the client: a proxy that
// wrote garbage cannot be read further.
func clientAddr(remoteAddr string, forwarded []string, trusted []netip.Prefix) string {
	host, _, err := net.SplitHostPort(remoteAddr)
	if err != nil {
		host = remoteAddr
	}
	peer, err := netip.ParseAddr(host)
	if err != nil || !isTrusted(peer, trusted) {
		return host
	}
	var hops []string
	for _, line := range forwarded {
		hops = append(hops, strings.Split(line, ",")...)
	}
	client := peer
	for i := len(hops) - 1; i >= 0; i-- {
		addr, err := parseHop(hops[i])
		if err != nil {
			break
		}
		client = addr
		if !isTrusted(addr, trusted) {
			break
		}
	}
	return client.String()
}

// parseHop reads one X-Forwarded-For entry: an address, possibly with a
// port ("192.0.2.1:5678", "[2001:db8::1]:443"), as some proxies write.
func parseHop(s string) (netip.Addr, error) {
	s = strings.TrimSpace(s)
	if ap, err := netip.ParseAddrPort(s); err == nil {
		return ap.Addr().Unmap(), nil
	}
	addr, err := netip.ParseAddr(strings.Trim(s, "[]"))
	return addr.Unmap(), err
}

func isTrusted(addr netip.Addr, trusted []netip.Prefix) bool {
	addr = addr.Unmap().WithZone("")
	for _, p := range trusted {
		if p.Contains(addr) {
			return true
		}
	}
	return false
}

// clientKey turns a client address ("192.0.2.1", "2001:db8::1") into a
// rate-limit key.
func clientKey(host string) string {
	addr, err := netip.ParseAddr(host)
	if err != nil {
		return host
	}
	addr = addr.Unmap().WithZone("")
	if addr.Is6() {
		return netip.PrefixFrom(addr, 64).Masked().String()
	}
	return addr.String()
}

// useAuth installs staff and customer authentication on the server, and gives each
// root field of a mutation its own loaders. Mutations run one after the
// other; without fresh loaders, the second mutation of a document touching
// the same product would return what the first one's payload had cached.
func useAuth(srv *handler.Server, svc Services) {
	srv.Use(authGate{})
	srv.AroundRootFields(func(ctx context.Context, next graphql.RootResolver) graphql.Marshaler {
		if oc := graphql.GetOperationContext(ctx); oc.Operation != nil && oc.Operation.Operation == ast.Mutation {
			ctx = withLoaders(ctx, newLoaders(svc, channel.FromContext(ctx)))
		}
		return next(ctx)
	})
}
