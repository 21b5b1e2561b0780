// Package stripepay is the Stripe adapter of payment.Gateway (stripe-go
// v76), and the handler of Stripe's webhooks, which turns signed provider
// events into payment.Event for the order service.
//
// Nothing here logs the secret key, the webhook secret, an intent's client
// secret or a webhook body (which holds the client secret too). Errors a
// client may see carry fixed messages; Stripe's own text stays in the
// wrapped cause, for logs.
package stripepay

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"regexp"
	"strings"

	"github.com/stripe/stripe-go/v76"
	"github.com/stripe/stripe-go/v76/client"

	"github.com/omnicanal/omnicanal/commerce"
	"github.com/omnicanal/omnicanal/commerce/payment"
)

// MetadataOrderID is the intent metadata key holding the order's id; the
// webhook reads it back.
const MetadataOrderID = "order_id"

// Options tune a Gateway; the zero value talks to api.stripe.com.
type Options struct {
	// APIBase replaces https://api.stripe.com, e.g. with a stripe-mock URL.
	APIBase string
	// HTTPClient defaults to stripe-go's (80 s timeout); the request's
	// context bounds each call anyway.
	HTTPClient *http.Client
	// MaxNetworkRetries is how many times stripe-go retries a failed
	// request (same idempotency key); nil means stripe-go's default (2).
	MaxNetworkRetries *int64
	// Logger receives stripe-go's own messages at debug level (method and
	// path, never the key); nil discards them.
	Logger *slog.Logger
}

// Gateway is payment.Gateway on Stripe's PaymentIntents and Refunds.
type Gateway struct {
	api *client.API
	key string // only to scrub it from provider messages
}

var _ payment.Gateway = (*Gateway)(nil)

// New builds a Gateway with the secret (or restricted) key. The key is
// kept inside stripe-go's client and never logged.
func New(secretKey string, opt Options) (*Gateway, error) {
	if strings.TrimSpace(secretKey) == "" {
		return nil, errors.New("stripepay: empty secret key")
	}
	cfg := &stripe.BackendConfig{
		HTTPClient:        opt.HTTPClient,
		MaxNetworkRetries: opt.MaxNetworkRetries,
		LeveledLogger:     slogLogger{opt.Logger},
	}
	if opt.APIBase != "" {
		base := strings.TrimRight(opt.APIBase, "/")
		cfg.URL = &base
	}
	backends := &stripe.Backends{
		API:     stripe.GetBackendWithConfig(stripe.APIBackend, cfg),
		Connect: stripe.GetBackendWithConfig(stripe.ConnectBackend, cfg),
		Uploads: stripe.GetBackendWithConfig(stripe.UploadsBackend, cfg),
	}
	return &Gateway{api: client.New(secretKey, backends), key: secretKey}, nil
}

// CreateIntent creates a PaymentIntent for the order with automatic
// payment methods; Stripe answers a retry with the same IdempotencyKey
// with the same intent.
func (g *Gateway) CreateIntent(ctx context.Context, req payment.IntentRequest) (payment.Intent, error) {
	if req.Amount.Amount <= 0 {
		return payment.Intent{}, commerce.InvalidInput("amount", "a payment must be of a positive amount")
	}
	if req.Amount.Currency == "" {
		return payment.Intent{}, commerce.InvalidInput("amount", "a payment needs a currency")
	}
	if req.IdempotencyKey == "" {
		return payment.Intent{}, fmt.Errorf("stripepay.CreateIntent: an idempotency key is required")
	}
	p := &stripe.PaymentIntentParams{
		Amount:   stripe.Int64(req.Amount.Amount),
		Currency: stripe.String(strings.ToLower(string(req.Amount.Currency))),
		AutomaticPaymentMethods: &stripe.PaymentIntentAutomaticPaymentMethodsParams{
			Enabled: stripe.Bool(true),
		},
	}
	if req.Description != "" {
		p.Description = stripe.String(req.Description)
	}
	p.Context = ctx
	p.SetIdempotencyKey(req.IdempotencyKey)
	p.AddMetadata(MetadataOrderID, req.OrderID.String())
	pi, err := g.api.PaymentIntents.New(p)
	if err != nil {
		return payment.Intent{}, g.mapError("stripepay.CreateIntent", err)
	}
	return intentOf(pi), nil
}

// GetIntent reads an intent's current state.
func (g *Gateway) GetIntent(ctx context.Context, intentID string) (payment.Intent, error) {
	if err := checkID(intentID); err != nil {
		return payment.Intent{}, err
	}
	p := &stripe.PaymentIntentParams{}
	p.Context = ctx
	pi, err := g.api.PaymentIntents.Get(intentID, p)
	if err != nil {
		return payment.Intent{}, g.mapError("stripepay.GetIntent", err)
	}
	return intentOf(pi), nil
}

// CancelIntent voids an intent that has not been captured.
func (g *Gateway) CancelIntent(ctx context.Context, intentID, idempotencyKey string) (payment.Intent, error) {
	if err := checkID(intentID); err != nil {
		return payment.Intent{}, err
	}
	p := &stripe.PaymentIntentCancelParams{}
	p.Context = ctx
	if idempotencyKey != "" {
		p.SetIdempotencyKey(idempotencyKey)
	}
	pi, err := g.api.PaymentIntents.Cancel(intentID, p)
	if err != nil {
		return payment.Intent{}, g.mapError("stripepay.CancelIntent", err)
	}
	return intentOf(pi), nil
}

// stripeRefundReasons are the only reasons Stripe's refund API takes; any
// other reason travels as metadata.
var stripeRefundReasons = map[string]bool{"duplicate": true, "fraudulent": true, "requested_by_customer": true}

// Refund gives back part or all of a captured intent.
func (g *Gateway) Refund(ctx context.Context, req payment.RefundRequest) (payment.Refund, error) {
	if err := checkID(req.IntentID); err != nil {
		return payment.Refund{}, err
	}
	if req.Amount.Amount <= 0 {
		return payment.Refund{}, commerce.InvalidInput("amount", "a refund must be of a positive amount")
	}
	if req.IdempotencyKey == "" {
		return payment.Refund{}, fmt.Errorf("stripepay.Refund: an idempotency key is required")
	}
	p := &stripe.RefundParams{
		PaymentIntent: stripe.String(req.IntentID),
		Amount:        stripe.Int64(req.Amount.Amount),
	}
	if stripeRefundReasons[req.Reason] {
		p.Reason = stripe.String(req.Reason)
	} else if req.Reason != "" {
		p.AddMetadata("reason", req.Reason)
	}
	p.Context = ctx
	p.SetIdempotencyKey(req.IdempotencyKey)
	r, err := g.api.Refunds.New(p)
	if err != nil {
		return payment.Refund{}, g.mapError("stripepay.Refund", err)
	}
	return payment.Refund{
		ID:     r.ID,
		Status: string(r.Status),
		Amount: money(r.Amount, r.Currency),
	}, nil
}

func checkID(id string) error {
	if strings.TrimSpace(id) == "" {
		return commerce.InvalidInput("intentId", "no payment intent given")
	}
	return nil
}

func intentOf(pi *stripe.PaymentIntent) payment.Intent {
	return payment.Intent{
		ID:           pi.ID,
		ClientSecret: pi.ClientSecret,
		Status:       payment.IntentStatus(pi.Status),
		Amount:       money(pi.Amount, pi.Currency),
		Received:     money(pi.AmountReceived, pi.Currency),
	}
}

func money(amount int64, c stripe.Currency) commerce.Money {
	return commerce.Money{Amount: amount, Currency: commerce.Currency(strings.ToUpper(string(c)))}
}

// mapError turns a Stripe failure into what the domain understands:
//   - a declined card or a request Stripe refuses → PAYMENT_FAILED, with a
//     fixed message (Stripe's text and codes stay in the cause, for logs);
//   - an unknown intent → NOT_FOUND;
//   - a key reused with other parameters → CONFLICT;
//   - a bad key, rate limiting, Stripe's 5xx or the network → a wrapped
//     error, INTERNAL to clients: nothing they can fix.
func (g *Gateway) mapError(op string, err error) error {
	var se *stripe.Error
	if !errors.As(err, &se) {
		return fmt.Errorf("%s: %w", op, err)
	}
	err = sanitize(se, g.key)
	switch {
	case se.HTTPStatusCode >= 500 || se.Type == stripe.ErrorTypeAPI:
		return fmt.Errorf("%s: stripe unavailable: %w", op, err)
	case se.HTTPStatusCode == http.StatusUnauthorized || se.HTTPStatusCode == http.StatusForbidden:
		return fmt.Errorf("%s: stripe refused the API key: %w", op, err)
	case se.HTTPStatusCode == http.StatusTooManyRequests || se.Code == stripe.ErrorCodeRateLimit:
		return fmt.Errorf("%s: stripe rate limit: %w", op, err)
	case se.Type == stripe.ErrorTypeIdempotency:
		return &commerce.Error{Code: commerce.ErrConflict, Message: "this payment request conflicts with an earlier one", Err: fmt.Errorf("%s: %w", op, err)}
	case se.Type == stripe.ErrorTypeCard:
		return &commerce.Error{Code: commerce.ErrPaymentFailed, Message: "the payment was declined", Err: fmt.Errorf("%s: %w", op, err)}
	case se.Code == stripe.ErrorCodeResourceMissing || se.HTTPStatusCode == http.StatusNotFound:
		return &commerce.Error{Code: commerce.ErrNotFound, Message: "payment not found", Err: fmt.Errorf("%s: %w", op, err)}
	case se.Type == stripe.ErrorTypeInvalidRequest:
		return &commerce.Error{Code: commerce.ErrPaymentFailed, Message: "the payment provider refused the request", Err: fmt.Errorf("%s: %w", op, err)}
	default:
		return fmt.Errorf("%s: %w", op, err)
	}
}

// slogLogger hands stripe-go's progress messages (method, host and path of
// each request, retries) to slog at debug level. Its Debugf prints whole
// response bodies and its Errorf whole error objects, both of which may hold
// an intent's client secret: those are dropped. The errors are returned to
// the caller anyway, sanitized (see providerError).
type slogLogger struct{ log *slog.Logger }

func (l slogLogger) Infof(format string, v ...any) {
	if l.log != nil {
		l.log.Debug("stripe: " + fmt.Sprintf(format, v...))
	}
}
func (l slogLogger) Warnf(format string, v ...any) { l.Infof(format, v...) }
func (slogLogger) Debugf(string, ...any)           {}
func (slogLogger) Errorf(string, ...any)           {}

// providerError is a Stripe API error reduced to what is safe to log: a
// *stripe.Error's own text is its JSON, which may embed the payment
// intent, client secret included.
type providerError struct {
	status      int
	typ         stripe.ErrorType
	code        stripe.ErrorCode
	declineCode stripe.DeclineCode
	param       string
	msg         string
	requestID   string
	err         *stripe.Error
}

func (e *providerError) Error() string {
	var b strings.Builder
	fmt.Fprintf(&b, "stripe %d %s", e.status, e.typ)
	if e.code != "" {
		fmt.Fprintf(&b, " code=%s", e.code)
	}
	if e.declineCode != "" {
		fmt.Fprintf(&b, " decline_code=%s", e.declineCode)
	}
	if e.param != "" {
		fmt.Fprintf(&b, " param=%s", e.param)
	}
	if e.requestID != "" {
		fmt.Fprintf(&b, " request_id=%s", e.requestID)
	}
	if e.msg != "" {
		fmt.Fprintf(&b, ": %s", e.msg)
	}
	return b.String()
}

// Unwrap lets callers reach the *stripe.Error with errors.As.
func (e *providerError) Unwrap() error { return e.err }

// keyPattern matches Stripe API keys and bearer credentials, which an
// "invalid API key" message may echo (Stripe partly masked, stripe-mock
// whole).
var keyPattern = regexp.MustCompile(`\b(sk|rk|pk)_(test|live)_[A-Za-z0-9*]+|(?i:bearer)\s+\S+`)

func sanitize(se *stripe.Error, key string) *providerError {
	msg := strings.ReplaceAll(se.Msg, key, "[redacted key]")
	msg = keyPattern.ReplaceAllString(msg, "[redacted key]")
	// The *stripe.Error stays reachable through Unwrap: scrub it too, so
	// that even its JSON dump is safe to log. It is this call's own copy.
	se.Msg = msg
	if se.PaymentIntent != nil {
		se.PaymentIntent.ClientSecret = ""
	}
	if se.SetupIntent != nil {
		se.SetupIntent.ClientSecret = ""
	}
	return &providerError{
		status: se.HTTPStatusCode, typ: se.Type, code: se.Code, declineCode: se.DeclineCode,
		param: se.Param, msg: msg, requestID: se.RequestID, err: se,
	}
}
