package graph_test

import (
	"fmt"
	"slices"
	"testing"

	"github.com/omnicanal/omnicanal/commerce"
	"github.com/omnicanal/omnicanal/commerce/demo"
	"github.com/omnicanal/omnicanal/commerce/offer"
	"github.com/omnicanal/omnicanal/commerce/staff"
	"github.com/omnicanal/omnicanal/graph"
)

// newOfferServer is newStaffServer with the offer service wired in.
func newOfferServer(t *testing.T) *staffServer {
	t.Helper()
	s := newStaffServer(t)
	svc := services(s.pool)
	svc.Offers = offer.NewService(s.pool)
	s.server = newServer(t, svc, func(o *graph.Options) { o.Staff = staff.NewService(s.pool) })
	return s
}

const offerFields = `id version title kind target priority stackable percentOff amount { amount currencyCode }
  buyQuantity getQuantity tiers { minSubtotal { amount currencyCode } amountOff { amount currencyCode } }
  appliesTo { productIds categoryIds }
  conditions { minSubtotal { amount currencyCode } startsAt endsAt code requireSignedIn segments channels }
  variesByChannel usageLimit usageLimitPerCustomer usageCount disabledAt`

const offerCreate = `mutation($input: OfferCreateInput!, $key: String) {
  offerCreate(input: $input, idempotencyKey: $key) { offer { ` + offerFields + ` } userErrors { field message code } }
}`

const offerUpdate = `mutation($id: ID!, $input: OfferUpdateInput!) {
  offerUpdate(id: $id, input: $input) { offer { ` + offerFields + ` } userErrors { field message code } }
}`

const offerDisable = `mutation($id: ID!) {
  offerDisable(id: $id) { offer { id version disabledAt } userErrors { field message code } }
}`

const offersQuery = `query($first: Int, $after: String, $live: Boolean) {
  offers(first: $first, after: $after, liveOnly: $live) {
    edges { cursor node { id title version conditions { code channels } variesByChannel } }
    pageInfo { hasNextPage hasPreviousPage endCursor }
  }
}`

func offerInput(title string) map[string]any {
	return map[string]any{"title": title, "kind": "PERCENTAGE_OFF", "target": "LINES", "percentOff": "20"}
}

// userErrorFields returns each user error's field path (as JSON) and code.
func userErrorFields(t *testing.T, errs any) map[string]string {
	t.Helper()
	got := map[string]string{}
	for _, e := range errs.([]any) {
		if at(e, "message") == "" {
			t.Errorf("user error without a message: %v", e)
		}
		got[mustJSON(at(e, "field"))] = at(e, "code").(string)
	}
	return got
}

func TestOfferOperationsNeedAMerchandiserToken(t *testing.T) {
	s := newOfferServer(t)
	vars := map[string]any{"input": offerInput("Soldes")}
	for _, c := range []struct{ name, token, code string }{
		{"no token", "", commerce.ErrUnauthenticated},
		{"associate", s.associate, commerce.ErrForbidden},
	} {
		if r := s.postAs(t, c.token, demo.KeyWebEU, offerCreate, vars); r.code() != c.code || at(r.Data, "offerCreate") != nil {
			t.Errorf("offerCreate, %s: want a top-level %s, got %s", c.name, c.code, r.Raw)
		}
		if r := s.postAs(t, c.token, demo.KeyWebEU, offersQuery, nil); r.code() != c.code {
			t.Errorf("offers, %s: want a top-level %s, got %s", c.name, c.code, r.Raw)
		}
	}
	for _, token := range []string{s.merchandiser, s.admin} {
		r := s.postAs(t, token, demo.KeyWebEU, offerCreate, vars).ok(t)
		if at(r.Data, "offerCreate", "offer", "id") == nil || len(at(r.Data, "offerCreate", "userErrors").([]any)) != 0 {
			t.Errorf("allowed role: %s", r.Raw)
		}
	}
	r := s.postAs(t, s.admin, demo.KeyWebEU, offersQuery, nil).ok(t)
	if n := len(at(r.Data, "offers", "edges").([]any)); n != 2 {
		t.Errorf("%d offers listed, want 2: %s", n, r.Raw)
	}
}

func TestOfferCreateUpdateDisable(t *testing.T) {
	s := newOfferServer(t)
	in := map[string]any{
		"title": "10 € dès 50 € en caisse", "kind": "AMOUNT_OFF", "target": "ORDER", "priority": 5, "stackable": true,
		"amount":     map[string]any{"amount": "10", "currencyCode": "eur"},
		"appliesTo":  map[string]any{"categoryIds": []any{demo.CategoryID("sandales").String()}},
		"conditions": map[string]any{"minSubtotal": map[string]any{"amount": "50.00", "currencyCode": "EUR"}, "code": "Caisse10", "channels": []any{"POS", "KIOSK"}},
		"usageLimit": 100,
	}
	r := s.postAs(t, s.merchandiser, demo.KeyWebEU, offerCreate, map[string]any{"input": in}).ok(t)
	o := at(r.Data, "offerCreate", "offer")
	id, _ := at(o, "id").(string)
	if at(o, "version") != 1.0 || at(o, "kind") != "AMOUNT_OFF" || at(o, "target") != "ORDER" ||
		mustJSON(at(o, "amount")) != `{"amount":"10.00","currencyCode":"EUR"}` ||
		at(o, "conditions", "code") != "Caisse10" || mustJSON(at(o, "conditions", "channels")) != `["KIOSK","POS"]` ||
		at(o, "variesByChannel") != true || at(o, "usageLimit") != 100.0 || at(o, "usageLimitPerCustomer") != nil ||
		at(o, "percentOff") != nil || at(o, "usageCount") != 0.0 || at(o, "disabledAt") != nil {
		t.Fatalf("created: %s", r.Raw)
	}

	// A left-out field keeps its value; null removes it.
	r = s.postAs(t, s.merchandiser, demo.KeyWebEU, offerUpdate, map[string]any{"id": id, "input": map[string]any{
		"title": "10 € dès 50 €", "usageLimit": nil, "conditions": map[string]any{"channels": nil, "code": nil},
	}}).ok(t)
	o = at(r.Data, "offerUpdate", "offer")
	if at(o, "version") != 2.0 || at(o, "title") != "10 € dès 50 €" || at(o, "variesByChannel") != false ||
		at(o, "conditions", "code") != nil || at(o, "usageLimit") != nil || at(o, "priority") != 5.0 ||
		mustJSON(at(o, "conditions", "minSubtotal")) != `{"amount":"50.00","currencyCode":"EUR"}` ||
		len(at(o, "appliesTo", "categoryIds").([]any)) != 1 {
		t.Errorf("updated: %s", r.Raw)
	}
	// Changing the kind replaces the kind's parameters.
	r = s.postAs(t, s.merchandiser, demo.KeyWebEU, offerUpdate, map[string]any{"id": id, "input": map[string]any{
		"kind": "PERCENTAGE_OFF", "target": "LINES", "percentOff": "12.5",
	}}).ok(t)
	o = at(r.Data, "offerUpdate", "offer")
	if at(o, "version") != 3.0 || at(o, "percentOff") != "12.5" || at(o, "amount") != nil {
		t.Errorf("kind changed: %s", r.Raw)
	}
	// The same values again make no new version.
	r = s.postAs(t, s.merchandiser, demo.KeyWebEU, offerUpdate, map[string]any{"id": id, "input": map[string]any{"percentOff": "12.50"}}).ok(t)
	if at(r.Data, "offerUpdate", "offer", "version") != 3.0 {
		t.Errorf("no-op update: %s", r.Raw)
	}
	var versions int
	if err := s.pool.QueryRow(t.Context(), `SELECT count(*) FROM offer_versions WHERE offer_id = $1`, id).Scan(&versions); err != nil || versions != 3 {
		t.Errorf("%d versions kept (%v), want 3", versions, err)
	}

	r = s.postAs(t, s.merchandiser, demo.KeyWebEU, offerDisable, map[string]any{"id": id}).ok(t)
	if at(r.Data, "offerDisable", "offer", "disabledAt") == nil || at(r.Data, "offerDisable", "offer", "version") != 3.0 {
		t.Errorf("disabled: %s", r.Raw)
	}
	r = s.postAs(t, s.merchandiser, demo.KeyWebEU, offerUpdate, map[string]any{"id": id, "input": map[string]any{"title": "Retour"}}).ok(t)
	if got := userErrorFields(t, at(r.Data, "offerUpdate", "userErrors")); got[`["id"]`] != commerce.ErrConflict || at(r.Data, "offerUpdate", "offer") != nil {
		t.Errorf("update of a disabled offer: %s", r.Raw)
	}
	r = s.postAs(t, s.merchandiser, demo.KeyWebEU, `query($id: ID!) { offer(id: $id) { title version disabledAt } missing: offer(id: "`+commerce.NewID().String()+`") { id } }`,
		map[string]any{"id": id}).ok(t)
	if at(r.Data, "offer", "title") != "10 € dès 50 €" || at(r.Data, "offer", "disabledAt") == nil || at(r.Data, "missing") != nil {
		t.Errorf("offer query: %s", r.Raw)
	}
}

func TestOfferUserErrorsNameTheirFields(t *testing.T) {
	s := newOfferServer(t)
	in := map[string]any{"title": "Paliers", "kind": "TIERED", "percentOff": "12.345",
		"tiers": []any{
			map[string]any{"minSubtotal": map[string]any{"amount": "50", "currencyCode": "EUR"}, "amountOff": map[string]any{"amount": "5", "currencyCode": "EURO"}},
			map[string]any{"minSubtotal": map[string]any{"amount": "cent", "currencyCode": "EUR"}, "amountOff": map[string]any{"amount": "15", "currencyCode": "EUR"}},
		}}
	r := s.postAs(t, s.merchandiser, demo.KeyWebEU, offerCreate, map[string]any{"input": in}).ok(t)
	got := userErrorFields(t, at(r.Data, "offerCreate", "userErrors"))
	want := map[string]string{
		`["input","percentOff"]`:                           commerce.ErrInvalidInput,
		`["input","tiers","0","amountOff","currencyCode"]`: commerce.ErrInvalidInput,
		`["input","tiers","1","minSubtotal","amount"]`:     commerce.ErrInvalidInput,
	}
	if !maps(got, want) || at(r.Data, "offerCreate", "offer") != nil {
		t.Errorf("user errors %v, want %v", got, want)
	}
	// The engine's own checks come back the same way.
	in = map[string]any{"title": "Par client", "kind": "FREE_SHIPPING", "usageLimitPerCustomer": 1,
		"conditions": map[string]any{"requireSignedIn": true, "startsAt": "2030-01-02T00:00:00Z", "endsAt": "2030-01-01T00:00:00Z"}}
	r = s.postAs(t, s.merchandiser, demo.KeyWebEU, offerCreate, map[string]any{"input": in}).ok(t)
	if got := userErrorFields(t, at(r.Data, "offerCreate", "userErrors")); got[`["input","conditions","endsAt"]`] != commerce.ErrInvalidInput {
		t.Errorf("window: %v", got)
	}

	// A code another live offer has, whatever its case, is a CONFLICT.
	s.postAs(t, s.merchandiser, demo.KeyWebEU, offerCreate, map[string]any{"input": withOfferCode(offerInput("A"), "BIENVENUE")}).ok(t)
	r = s.postAs(t, s.merchandiser, demo.KeyWebEU, offerCreate, map[string]any{"input": withOfferCode(offerInput("B"), "bienvenue")}).ok(t)
	if got := userErrorFields(t, at(r.Data, "offerCreate", "userErrors")); got[`["input","conditions","code"]`] != commerce.ErrConflict {
		t.Errorf("duplicate code: %s", r.Raw)
	}
	r = s.postAs(t, s.merchandiser, demo.KeyWebEU, offerUpdate, map[string]any{"id": commerce.NewID().String(), "input": map[string]any{"title": "x"}}).ok(t)
	if got := userErrorFields(t, at(r.Data, "offerUpdate", "userErrors")); got[`["id"]`] != commerce.ErrNotFound {
		t.Errorf("unknown offer: %s", r.Raw)
	}
	r = s.postAs(t, s.merchandiser, demo.KeyWebEU, offerDisable, map[string]any{"id": commerce.NewID().String()}).ok(t)
	if got := userErrorFields(t, at(r.Data, "offerDisable", "userErrors")); got[`["id"]`] != commerce.ErrNotFound {
		t.Errorf("disable unknown offer: %s", r.Raw)
	}
	var n int
	if err := s.pool.QueryRow(t.Context(), `SELECT count(*) FROM offers`).Scan(&n); err != nil || n != 1 {
		t.Errorf("%d offers (%v), want only the valid one", n, err)
	}
}

func withOfferCode(in map[string]any, code string) map[string]any {
	in["conditions"] = map[string]any{"code": code}
	return in
}

func maps(got, want map[string]string) bool {
	for k, v := range want {
		if got[k] != v {
			return false
		}
	}
	return len(got) == len(want)
}

func TestOffersPagesAndIdempotentCreate(t *testing.T) {
	s := newOfferServer(t)
	var made []string
	for i := range 5 {
		r := s.postAs(t, s.merchandiser, demo.KeyWebEU, offerCreate, map[string]any{"input": offerInput(fmt.Sprint("Offre ", i)), "key": fmt.Sprint("k", i)}).ok(t)
		made = append(made, at(r.Data, "offerCreate", "offer", "id").(string))
	}
	// A retry with the same key returns the same offer.
	r := s.postAs(t, s.merchandiser, demo.KeyWebEU, offerCreate, map[string]any{"input": offerInput("Offre 0"), "key": "k0"}).ok(t)
	if at(r.Data, "offerCreate", "offer", "id") != made[0] {
		t.Errorf("retry: %s", r.Raw)
	}
	s.postAs(t, s.merchandiser, demo.KeyWebEU, offerDisable, map[string]any{"id": made[4]}).ok(t)

	var seen []string
	vars := map[string]any{"first": 2}
	for page := 0; ; page++ {
		r := s.postAs(t, s.merchandiser, demo.KeyWebEU, offersQuery, vars).ok(t)
		for _, e := range at(r.Data, "offers", "edges").([]any) {
			seen = append(seen, at(e, "node", "id").(string))
			if at(e, "node", "version") != 1.0 || at(e, "node", "variesByChannel") != false {
				t.Errorf("node: %v", e)
			}
		}
		if at(r.Data, "offers", "pageInfo", "hasPreviousPage") != (page > 0) {
			t.Errorf("page %d: %s", page, r.Raw)
		}
		if at(r.Data, "offers", "pageInfo", "hasNextPage") != true {
			break
		}
		vars["after"] = at(r.Data, "offers", "pageInfo", "endCursor")
	}
	slices.Reverse(made)
	if !slices.Equal(seen, made) {
		t.Errorf("pages gave %v, want newest first %v", seen, made)
	}
	r = s.postAs(t, s.merchandiser, demo.KeyWebEU, offersQuery, map[string]any{"live": true}).ok(t)
	if n := len(at(r.Data, "offers", "edges").([]any)); n != 4 {
		t.Errorf("%d live offers, want 4", n)
	}
	r = s.postAs(t, s.merchandiser, demo.KeyWebEU, offersQuery, map[string]any{"after": "bm9wZQ"})
	if r.code() != commerce.ErrInvalidInput {
		t.Errorf("bad cursor: %s", r.Raw)
	}
}
