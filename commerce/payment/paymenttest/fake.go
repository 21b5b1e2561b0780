// Package paymenttest is an in-process payment.Gateway for tests of the
// code that calls one (orders, the API): it counts calls, honours
// idempotency keys like the provider does, and lets a test set what an
// intent's status is. The real adapter is tested against stripe-mock.
package paymenttest

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"sync/atomic"

	"github.com/omnicanal/omnicanal/commerce"
	"github.com/omnicanal/omnicanal/commerce/payment"
)

// Gateway is a fake payment.Gateway. The zero value is not usable: use New.
type Gateway struct {
	mu      sync.Mutex
	intents map[string]*payment.Intent // by id
	byKey   map[string]string          // idempotency key → intent id
	refunds map[string]payment.Refund  // idempotency key → refund
	n       int

	// Counters of calls that did something new (a replay by idempotency
	// key is counted in the Replays counters instead).
	CreateCalls, CreateReplays, GetCalls, CancelCalls, RefundCalls, RefundReplays atomic.Int64
	// Fail makes every call fail while set.
	Fail atomic.Bool
}

// New returns an empty fake gateway.
func New() *Gateway {
	return &Gateway{intents: map[string]*payment.Intent{}, byKey: map[string]string{}, refunds: map[string]payment.Refund{}}
}

var _ payment.Gateway = (*Gateway)(nil)

// ErrUnavailable is what every call returns while Fail is set.
var ErrUnavailable = errors.New("paymenttest: provider unavailable")

func (g *Gateway) CreateIntent(_ context.Context, req payment.IntentRequest) (payment.Intent, error) {
	if g.Fail.Load() {
		return payment.Intent{}, ErrUnavailable
	}
	g.mu.Lock()
	defer g.mu.Unlock()
	if id, ok := g.byKey[req.IdempotencyKey]; ok && req.IdempotencyKey != "" {
		g.CreateReplays.Add(1)
		return *g.intents[id], nil
	}
	g.CreateCalls.Add(1)
	g.n++
	id := fmt.Sprintf("pi_fake_%d", g.n)
	in := &payment.Intent{ID: id, ClientSecret: id + "_secret_" + fmt.Sprint(g.n*7919), Status: payment.RequiresPaymentMethod,
		Amount: req.Amount, Received: commerce.Money{Currency: req.Amount.Currency}}
	g.intents[id] = in
	if req.IdempotencyKey != "" {
		g.byKey[req.IdempotencyKey] = id
	}
	return *in, nil
}

func (g *Gateway) GetIntent(_ context.Context, id string) (payment.Intent, error) {
	if g.Fail.Load() {
		return payment.Intent{}, ErrUnavailable
	}
	g.GetCalls.Add(1)
	g.mu.Lock()
	defer g.mu.Unlock()
	in, ok := g.intents[id]
	if !ok {
		return payment.Intent{}, fmt.Errorf("paymenttest: no intent %s", id)
	}
	return *in, nil
}

func (g *Gateway) CancelIntent(_ context.Context, id, _ string) (payment.Intent, error) {
	if g.Fail.Load() {
		return payment.Intent{}, ErrUnavailable
	}
	g.mu.Lock()
	defer g.mu.Unlock()
	in, ok := g.intents[id]
	if !ok {
		return payment.Intent{}, fmt.Errorf("paymenttest: no intent %s", id)
	}
	if in.Status == payment.Succeeded {
		return payment.Intent{}, fmt.Errorf("paymenttest: intent %s succeeded and cannot be cancelled", id)
	}
	if in.Status != payment.Canceled {
		g.CancelCalls.Add(1)
		in.Status = payment.Canceled
	}
	return *in, nil
}

func (g *Gateway) Refund(_ context.Context, req payment.RefundRequest) (payment.Refund, error) {
	if g.Fail.Load() {
		return payment.Refund{}, ErrUnavailable
	}
	g.mu.Lock()
	defer g.mu.Unlock()
	if r, ok := g.refunds[req.IdempotencyKey]; ok && req.IdempotencyKey != "" {
		g.RefundReplays.Add(1)
		return r, nil
	}
	in, ok := g.intents[req.IntentID]
	if !ok || in.Status != payment.Succeeded {
		return payment.Refund{}, fmt.Errorf("paymenttest: intent %s has nothing to refund", req.IntentID)
	}
	g.RefundCalls.Add(1)
	r := payment.Refund{ID: fmt.Sprintf("re_fake_%d", g.RefundCalls.Load()), Status: "succeeded", Amount: req.Amount}
	g.refunds[req.IdempotencyKey] = r
	return r, nil
}

// Succeed marks the intent paid in full, as if the shopper confirmed it,
// and returns it.
func (g *Gateway) Succeed(id string) payment.Intent {
	return g.set(id, func(in *payment.Intent) { in.Status, in.Received = payment.Succeeded, in.Amount })
}

// SetStatus sets the intent's status.
func (g *Gateway) SetStatus(id string, st payment.IntentStatus) payment.Intent {
	return g.set(id, func(in *payment.Intent) { in.Status = st })
}

func (g *Gateway) set(id string, f func(*payment.Intent)) payment.Intent {
	g.mu.Lock()
	defer g.mu.Unlock()
	in, ok := g.intents[id]
	if !ok {
		panic("paymenttest: no intent " + id)
	}
	f(in)
	return *in
}

// Intent returns the intent as the provider has it.
func (g *Gateway) Intent(id string) (payment.Intent, bool) {
	g.mu.Lock()
	defer g.mu.Unlock()
	in, ok := g.intents[id]
	if !ok {
		return payment.Intent{}, false
	}
	return *in, true
}
