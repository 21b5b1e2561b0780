package cart_test

import (
	"context"
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/omnicanal/omnicanal/commerce"
	"github.com/omnicanal/omnicanal/commerce/cart"
	"github.com/omnicanal/omnicanal/commerce/channel"
	"github.com/omnicanal/omnicanal/commerce/demo"
)

// The merge rule (merge.go): quantities add up, capped; a line keeps the
// channel that added its variant first; codes are unioned; the customer's
// pickup store wins; the guest cart is left MERGED, empty and pointing to
// the customer's; its token is refused with a message that says why; the
// merge is announced on "cart_merged".
func TestMergeRule(t *testing.T) {
	e := newEnv(t, nil)
	vs := stocked(t, 4, 10)
	alice := e.customer(t)
	kiosk := e.on(t, demo.KeyKioskParis)
	web := commerce.WithCustomer(e.on(t, demo.KeyWebEU), alice)

	// The guest starts at the kiosk; alice's own cart is filled later, online.
	g, gt, err := e.svc.CreateCart(kiosk, cart.CreateInput{Lines: []cart.LineInput{{VariantID: vs[0], Quantity: 3}, {VariantID: vs[1], Quantity: 1}, {VariantID: vs[3], Quantity: 5}}})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := e.svc.SetDiscountCodes(kiosk, g.ID, gt, []string{"bienvenue", "KIOSK10"}, nil); err != nil {
		t.Fatal(err)
	}
	paris := demo.LocationID(demo.CodeParis)
	// Set directly: Paris lacks some of these lines, which is beside the point.
	if _, err := e.pool.Exec(t.Context(), `UPDATE carts SET pickup_location_id = $2 WHERE id = $1`, g.ID, paris); err != nil {
		t.Fatal(err)
	}
	c, _, err := e.svc.CreateCart(web, cart.CreateInput{Lines: []cart.LineInput{{VariantID: vs[0], Quantity: 2}, {VariantID: vs[2], Quantity: 1}, {VariantID: vs[3], Quantity: 1}}})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := e.svc.SetDiscountCodes(web, c.ID, "", []string{"BIENVENUE"}, nil); err != nil {
		t.Fatal(err)
	}
	// One line close to the cap: 9998 + 5 is capped at 9999.
	if _, err := e.pool.Exec(t.Context(), `UPDATE cart_lines SET quantity = 9998 WHERE cart_id = $1 AND variant_id = $2`, c.ID, vs[3]); err != nil {
		t.Fatal(err)
	}
	before, err := e.svc.FindCart(web, c.ID, "")
	if err != nil {
		t.Fatal(err)
	}

	listener := e.listen(t, "cart_merged")

	// Alice signs in at the kiosk and claims the guest cart.
	m, err := e.svc.SetBuyerIdentity(commerce.WithCustomer(kiosk, alice), g.ID, gt, nil)
	if err != nil {
		t.Fatal(err)
	}
	if m.ID != c.ID || m.Version != before.Version+1 || m.Status != cart.Active {
		t.Fatalf("merged into %s v%d %s, want alice's cart %s v%d", m.ID, m.Version, m.Status, c.ID, before.Version+1)
	}
	want := map[commerce.ID]struct {
		quantity int
		kind     channel.Kind
	}{vs[0]: {5, channel.Kiosk}, vs[1]: {1, channel.Kiosk}, vs[2]: {1, channel.Web}, vs[3]: {cart.MaxQuantity, channel.Kiosk}}
	if len(m.Lines) != len(want) {
		t.Fatalf("%d lines, want %d", len(m.Lines), len(want))
	}
	for _, l := range m.Lines {
		w := want[l.Variant.ID]
		if l.Quantity != w.quantity || l.AddedBy.Kind != w.kind {
			t.Errorf("%s: %d from %s, want %d from %s", l.Variant.SKU, l.Quantity, l.AddedBy.Kind, w.quantity, w.kind)
		}
	}
	codes := []string{}
	for _, d := range m.DiscountCodes {
		codes = append(codes, d.Code)
	}
	if strings.Join(codes, ",") != "BIENVENUE,KIOSK10" {
		t.Errorf("codes %v", codes)
	}
	if m.PickupLocationID == nil || *m.PickupLocationID != paris {
		t.Errorf("pickup store %v", m.PickupLocationID)
	}

	// The guest cart: merged, empty, alice's, pointing to her cart.
	old, err := e.svc.FindCart(web, g.ID, "")
	if err != nil || old.Status != cart.Merged || len(old.Lines) != 0 || old.MergedIntoID == nil || *old.MergedIntoID != c.ID {
		t.Fatalf("the guest cart after the merge: %v %+v", err, old)
	}
	// Its token is refused, saying why.
	_, err = e.svc.AddLines(kiosk, g.ID, gt, []cart.LineInput{{VariantID: vs[0], Quantity: 1}}, nil)
	if code(err) != commerce.ErrNotFound || !strings.Contains(err.Error(), "merged") {
		t.Fatalf("an edit with the guest token after the merge: %v", err)
	}
	if _, err := e.svc.FindCart(kiosk, g.ID, gt); code(err) != commerce.ErrNotFound || !strings.Contains(err.Error(), "sign in") {
		t.Fatalf("a read with the guest token after the merge: %v", err)
	}

	ctx, cancel := context.WithTimeout(t.Context(), 5*time.Second)
	defer cancel()
	n, err := listener.Conn().WaitForNotification(ctx)
	if err != nil {
		t.Fatal(err)
	}
	var event map[string]commerce.ID
	if err := json.Unmarshal([]byte(n.Payload), &event); err != nil || event["from"] != g.ID || event["into"] != c.ID {
		t.Fatalf("cart_merged event %q: %v", n.Payload, err)
	}
}

// Guest cart edits racing the merge, and edits of the customer's cart at
// the same time: every add that succeeded is in the customer's cart at the
// end, unit for unit, and every add that failed failed with the clear
// "merged" error. A merge that read the guest lines before locking, or an
// add that landed in the guest cart after its lines moved, shows up here
// as missing units.
func TestMergeRacingEditsLosesNothing(t *testing.T) {
	e := newEnv(t, nil)
	vs := stocked(t, 12, 40)
	for round := range 4 {
		t.Run(fmt.Sprint("round ", round), func(t *testing.T) {
			alice := e.customer(t)
			phone := e.on(t, demo.KeyMobileEU)
			laptop := commerce.WithCustomer(e.on(t, demo.KeyWebEU), alice)
			g, gt, err := e.svc.CreateCart(phone, cart.CreateInput{Lines: []cart.LineInput{{VariantID: vs[0], Quantity: 1}}})
			if err != nil {
				t.Fatal(err)
			}
			ac, _, err := e.svc.CreateCart(laptop, cart.CreateInput{Lines: []cart.LineInput{{VariantID: vs[0], Quantity: 1}}})
			if err != nil {
				t.Fatal(err)
			}
			expect := map[commerce.ID]int{vs[0]: 2}
			var mu sync.Mutex
			added := func(v commerce.ID) {
				mu.Lock()
				expect[v]++
				mu.Unlock()
			}
			var (
				wg       sync.WaitGroup
				start    = make(chan struct{})
				refused  int
				mergedAt = 10 + rand.IntN(20) // the merge starts among the adds
				target   commerce.ID
			)
			// 4 guest devices and 2 customer devices, 15 single-unit adds
			// each, of variants shared by both carts and of their own.
			for d := range 6 {
				wg.Go(func() {
					<-start
					for i := range 15 {
						v := vs[(d*5+i)%len(vs)]
						var err error
						if d < 4 {
							_, err = e.svc.AddLines(phone, g.ID, gt, []cart.LineInput{{VariantID: v, Quantity: 1}}, nil)
						} else {
							_, err = e.svc.AddLines(laptop, ac.ID, "", []cart.LineInput{{VariantID: v, Quantity: 1}}, nil)
						}
						switch {
						case err == nil:
							added(v)
						case d < 4 && code(err) == commerce.ErrNotFound && strings.Contains(err.Error(), "merged"):
							mu.Lock()
							refused++
							mu.Unlock()
						default:
							t.Errorf("device %d add %d: %v", d, i, err)
						}
					}
				})
			}
			wg.Go(func() {
				<-start
				time.Sleep(time.Duration(mergedAt) * time.Millisecond)
				m, err := e.svc.SetBuyerIdentity(commerce.WithCustomer(phone, alice), g.ID, gt, nil)
				if err != nil {
					t.Errorf("merge: %v", err)
					return
				}
				target = m.ID
			})
			close(start)
			wg.Wait()
			if t.Failed() {
				return
			}
			final, err := e.svc.FindCart(laptop, target, "")
			if err != nil {
				t.Fatal(err)
			}
			got := map[commerce.ID]int{}
			for _, l := range final.Lines {
				got[l.Variant.ID] = l.Quantity
			}
			for v, n := range expect {
				if got[v] != n {
					t.Errorf("variant %s: %d units in the customer's cart, %d added successfully", v, got[v], n)
				}
			}
			if len(got) != len(expect) {
				t.Errorf("%d lines, want %d", len(got), len(expect))
			}
			var left int
			if err := e.pool.QueryRow(t.Context(), `SELECT count(*) FROM cart_lines WHERE cart_id = $1`, g.ID).Scan(&left); err != nil || left != 0 {
				t.Errorf("%d lines left in the merged guest cart (%v)", left, err)
			}
			t.Logf("merge after ~%d ms: %d guest adds refused after it", mergedAt, refused)
		})
	}
}

// Signed in, a customer finds their one active cart without its id.
func TestFindCustomerCart(t *testing.T) {
	e := newEnv(t, nil)
	alice := e.customer(t)
	web := e.on(t, demo.KeyWebEU)
	if _, err := e.svc.FindCustomerCart(web); code(err) != commerce.ErrUnauthenticated {
		t.Fatalf("a guest: %v", err)
	}
	asAlice := commerce.WithCustomer(web, alice)
	if _, err := e.svc.FindCustomerCart(asAlice); code(err) != commerce.ErrNotFound {
		t.Fatalf("no cart yet: %v", err)
	}
	c, _, err := e.svc.CreateCart(commerce.WithCustomer(e.on(t, demo.KeyMobileEU), alice), cart.CreateInput{})
	if err != nil {
		t.Fatal(err)
	}
	if got, err := e.svc.FindCustomerCart(asAlice); err != nil || got.ID != c.ID {
		t.Fatalf("alice's cart on another device: %v", err)
	}
}
