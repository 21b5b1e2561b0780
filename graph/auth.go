package graph

import (
	"context"
	"net/http"
	"strings"

	"github.com/99designs/gqlgen/graphql"
	"github.com/99designs/gqlgen/graphql/handler"
	"github.com/vektah/gqlparser/v2/ast"
	"github.com/vektah/gqlparser/v2/gqlerror"

	"github.com/omnicanal/omnicanal/commerce"
	"github.com/omnicanal/omnicanal/commerce/channel"
	"github.com/omnicanal/omnicanal/commerce/staff"
)

// Staff authentication. A staff tool sends `Authorization: Bearer st_…`
// (over a websocket: an "Authorization" entry in the connection_init
// payload); the token is verified once per request and the principal it
// acts for is put in the context, where services find it with
// commerce.RequireRole. Resolvers never look at it.
//
// Only bearer tokens with the staff prefix are ours: other schemes and
// other tokens (customer sessions, later) are left for their own
// authenticator, so one header can carry either kind.

// AuthorizationHeader carries a staff token.
const AuthorizationHeader = "Authorization"

// staffToken returns the staff token of an Authorization value, if it
// holds one.
func staffToken(authorization string) (string, bool) {
	scheme, token, ok := strings.Cut(strings.TrimSpace(authorization), " ")
	if !ok || !strings.EqualFold(scheme, "Bearer") {
		return "", false
	}
	token = strings.TrimSpace(token)
	return token, strings.HasPrefix(token, staff.TokenPrefix)
}

// authenticate resolves a staff token into ctx. Without a staff service
// (a server or a test that does not offer staff access) every staff token
// is refused rather than ignored: a client that sends one expects to act as
// staff, and silently serving it as anonymous would only confuse it.
func authenticate(ctx context.Context, staffSvc *staff.Service, token string) (context.Context, error) {
	if staffSvc == nil {
		return ctx, commerce.Errorf(commerce.ErrUnauthenticated, "staff tokens are not accepted here")
	}
	p, err := staffSvc.Authenticate(ctx, token)
	if err != nil {
		return ctx, err
	}
	return commerce.WithPrincipal(ctx, p), nil
}

// authenticateStaff reads the Authorization header. Like a bad channel key,
// a bad token is remembered rather than answered here: staffGate turns it
// into a request error in the response shape the client negotiated.
func authenticateStaff(staffSvc *staff.Service, next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if token, ok := staffToken(r.Header.Get(AuthorizationHeader)); ok {
			ctx, err := authenticate(r.Context(), staffSvc, token)
			if err != nil {
				ctx = context.WithValue(ctx, staffErrKey{}, err)
			}
			r = r.WithContext(ctx)
		}
		next.ServeHTTP(w, r)
	})
}

type staffErrKey struct{}

// authenticateInit is the websocket counterpart of authenticateStaff, for
// the connection_init payload. A bad token refuses the connection.
func authenticateInit(ctx context.Context, staffSvc *staff.Service, payload map[string]any) (context.Context, error) {
	auth, _ := payload[AuthorizationHeader].(string)
	if auth == "" {
		auth, _ = payload["authorization"].(string)
	}
	token, ok := staffToken(auth)
	if !ok {
		return ctx, nil
	}
	return authenticate(ctx, staffSvc, token)
}

// staffGate fails the whole request when its staff token was bad: the
// client asked to act as staff and must not get an anonymous answer.
type staffGate struct{}

var _ interface {
	graphql.HandlerExtension
	graphql.OperationContextMutator
} = staffGate{}

func (staffGate) ExtensionName() string                   { return "StaffGate" }
func (staffGate) Validate(graphql.ExecutableSchema) error { return nil }
func (staffGate) MutateOperationContext(ctx context.Context, _ *graphql.OperationContext) *gqlerror.Error {
	if err, _ := ctx.Value(staffErrKey{}).(error); err != nil {
		// Passed through the error presenter like channelGate's errors:
		// UNAUTHENTICATED keeps its code, a database failure becomes an
		// internal error logged with the request id.
		return graphql.DefaultErrorPresenter(ctx, err)
	}
	return nil
}

// useStaff installs staff authentication on the server, and gives each
// root field of a mutation its own loaders. Mutations run one after the
// other; without fresh loaders, the second mutation of a document touching
// the same product would return what the first one's payload had cached.
func useStaff(srv *handler.Server, svc Services) {
	srv.Use(staffGate{})
	srv.AroundRootFields(func(ctx context.Context, next graphql.RootResolver) graphql.Marshaler {
		if oc := graphql.GetOperationContext(ctx); oc.Operation != nil && oc.Operation.Operation == ast.Mutation {
			ctx = withLoaders(ctx, newLoaders(svc, channel.FromContext(ctx)))
		}
		return next(ctx)
	})
}
