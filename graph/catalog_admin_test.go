package graph_test

import (
	"bytes"
	"encoding/json"
	"fmt"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/coder/websocket"
	"github.com/coder/websocket/wsjson"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/omnicanal/omnicanal/commerce"
	"github.com/omnicanal/omnicanal/commerce/demo"
	"github.com/omnicanal/omnicanal/commerce/staff"
	"github.com/omnicanal/omnicanal/graph"
)

// staffServer is the real handler with staff authentication, and a token
// for each role.
type staffServer struct {
	*server
	pool                           *pgxpool.Pool
	admin, merchandiser, associate string
}

func newStaffServer(t *testing.T) *staffServer {
	t.Helper()
	pool := demoDB(t)
	svc := staff.NewService(pool)
	s := &staffServer{pool: pool, server: newServer(t, services(pool), func(o *graph.Options) { o.Staff = svc })}
	for role, dst := range map[commerce.Role]*string{commerce.RoleAdmin: &s.admin, commerce.RoleMerchandiser: &s.merchandiser, commerce.RoleAssociate: &s.associate} {
		in := staff.Input{Email: string(role) + "@maison-sentier.example", Name: string(role), Role: role}
		if role == commerce.RoleAssociate {
			in.LocationIDs = []commerce.ID{demo.LocationID(demo.CodeParis)}
		}
		st, err := svc.CreateStaff(t.Context(), in)
		if err != nil {
			t.Fatal(err)
		}
		if *dst, err = svc.IssueToken(t.Context(), st.ID, time.Hour); err != nil {
			t.Fatal(err)
		}
	}
	return s
}

// postAs sends an operation with a bearer token.
func (s *staffServer) postAs(t *testing.T, token, key, query string, vars map[string]any) *response {
	t.Helper()
	body, _ := json.Marshal(map[string]any{"query": query, "variables": vars})
	req, _ := http.NewRequest(http.MethodPost, s.URL, bytes.NewReader(body))
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Accept", "application/graphql-response+json")
	req.Header.Set(graph.ChannelKeyHeader, key)
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	return do(t, req)
}

// at walks a response's data: at(r.Data, "productCreate", "product", "id").
func at(v any, path ...any) any {
	for _, p := range path {
		switch k := p.(type) {
		case string:
			m, _ := v.(map[string]any)
			v = m[k]
		case int:
			l, _ := v.([]any)
			if k >= len(l) {
				return nil
			}
			v = l[k]
		}
	}
	return v
}

const productCreate = `mutation($input: ProductCreateInput!, $key: String) {
  productCreate(input: $input, idempotencyKey: $key) {
    product { id handle status title variants { sku title price { amount currencyCode } compareAtPrice { amount } } }
    userErrors { field message code }
  }
}`

func createInput(handle string) map[string]any {
	return map[string]any{
		"handle": handle, "title": "Espadrille " + handle, "brand": "Brand " + handle, "status": "ACTIVE",
		"options": []any{map[string]any{"name": "Taille", "values": []any{"40", "41"}}},
		"variants": []any{
			map[string]any{"sku": strings.ToUpper(handle) + "-40", "options": []any{map[string]any{"name": "Taille", "value": "40"}},
				"prices": []any{map[string]any{"currencyCode": "EUR", "amount": "49.00", "compareAtAmount": "59.00"}}},
			map[string]any{"sku": strings.ToUpper(handle) + "-41", "options": []any{map[string]any{"name": "Taille", "value": "41"}},
				"prices": []any{map[string]any{"currencyCode": "EUR", "amount": "49.00"}}},
		},
		"channelIds": []any{demo.ChannelID(demo.KeyWebEU).String()},
	}
}

func TestStaffMutationsNeedAMerchandiserToken(t *testing.T) {
	s := newStaffServer(t)
	vars := map[string]any{"input": createInput("test-espadrille-roles")}
	forged := staff.TokenPrefix + strings.Repeat("A", 43)
	cases := []struct {
		name, token, code string
	}{
		{"no token", "", commerce.ErrUnauthenticated},
		{"unknown token", forged, commerce.ErrUnauthenticated},
		{"malformed token", "st_nope", commerce.ErrUnauthenticated},
		{"associate", s.associate, commerce.ErrForbidden},
	}
	for _, c := range cases {
		r := s.postAs(t, c.token, demo.KeyWebEU, productCreate, vars)
		if r.code() != c.code || at(r.Data, "productCreate") != nil {
			t.Errorf("%s: want a top-level %s, got %d %s", c.name, c.code, r.Status, r.Raw)
		}
	}
	// A bad staff token fails the whole request, queries included: the
	// client asked to act as staff and must not get an anonymous answer.
	r := s.postAs(t, forged, demo.KeyWebEU, `{ channel { name } }`, nil)
	if r.code() != commerce.ErrUnauthenticated || r.Data != nil {
		t.Errorf("query with a bad token: %d %s", r.Status, r.Raw)
	}
	// Other bearer tokens (customer sessions) are not the staff layer's.
	req, _ := http.NewRequest(http.MethodPost, s.URL, strings.NewReader(`{"query":"{ channel { name } }"}`))
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set(graph.ChannelKeyHeader, demo.KeyWebEU)
	req.Header.Set("Authorization", "Bearer cs_some_customer_session")
	do(t, req).ok(t)
	// Without a staff service, staff tokens are refused, not ignored.
	plain := newServer(t, services(s.pool))
	body, _ := json.Marshal(map[string]any{"query": productCreate, "variables": vars})
	req, _ = http.NewRequest(http.MethodPost, plain.URL, bytes.NewReader(body))
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set(graph.ChannelKeyHeader, demo.KeyWebEU)
	req.Header.Set("Authorization", "Bearer "+s.merchandiser)
	if r := do(t, req); r.code() != commerce.ErrUnauthenticated {
		t.Errorf("staff token without a staff service: %s", r.Raw)
	}

	for i, token := range []string{s.merchandiser, s.admin} {
		vars["input"] = createInput(fmt.Sprintf("test-espadrille-%d", i))
		r := s.postAs(t, token, demo.KeyWebEU, productCreate, vars).ok(t)
		if errs := at(r.Data, "productCreate", "userErrors").([]any); len(errs) != 0 || at(r.Data, "productCreate", "product", "id") == nil {
			t.Errorf("allowed role: %s", r.Raw)
		}
	}
	if strings.Contains(s.logs.String(), s.merchandiser) || strings.Contains(s.logs.String(), forged) {
		t.Error("a token was logged")
	}
}

func TestProductCreateReportsUserErrors(t *testing.T) {
	s := newStaffServer(t)
	in := createInput("test-espadrille-erreurs")
	in["handle"] = "Espadrille Erreurs"
	at(in, "variants", 0, "prices", 0).(map[string]any)["amount"] = "-49.00"
	at(in, "variants", 1, "prices", 0).(map[string]any)["currencyCode"] = "EURO"
	r := s.postAs(t, s.merchandiser, demo.KeyWebEU, productCreate, map[string]any{"input": in}).ok(t)
	if at(r.Data, "productCreate", "product") != nil {
		t.Errorf("a product despite errors: %s", r.Raw)
	}
	got := map[string]string{}
	for _, e := range at(r.Data, "productCreate", "userErrors").([]any) {
		path, _ := json.Marshal(at(e, "field"))
		got[string(path)] = at(e, "code").(string)
		if at(e, "message") == "" {
			t.Errorf("user error without a message: %v", e)
		}
	}
	want := map[string]string{
		`["input","handle"]`:                                   commerce.ErrInvalidInput,
		`["input","variants","0","prices","0","amount"]`:       commerce.ErrInvalidInput,
		`["input","variants","1","prices","0","currencyCode"]`: commerce.ErrInvalidInput,
	}
	for f, code := range want {
		if got[f] != code {
			t.Errorf("user errors %v lack %s on %s", got, code, f)
		}
	}

	// A SKU another product has is a CONFLICT on that variant's sku.
	in = createInput("test-espadrille-conflit")
	at(in, "variants", 1).(map[string]any)["sku"] = demo.Generate().Products[0].Variants[0].SKU
	r = s.postAs(t, s.merchandiser, demo.KeyWebEU, productCreate, map[string]any{"input": in}).ok(t)
	errs := at(r.Data, "productCreate", "userErrors").([]any)
	if len(errs) != 1 || at(errs[0], "code") != commerce.ErrConflict || mustJSON(at(errs[0], "field")) != `["input","variants","1","sku"]` {
		t.Errorf("duplicate SKU: %s", r.Raw)
	}
	var n int
	if err := s.pool.QueryRow(t.Context(), `SELECT count(*) FROM products WHERE handle LIKE 'test-espadrille-%'`).Scan(&n); err != nil || n != 0 {
		t.Errorf("failed creates left %d products (%v)", n, err)
	}
}

func TestStaffMutationsChangeWhatChannelsSee(t *testing.T) {
	s := newStaffServer(t)
	r := s.postAs(t, s.merchandiser, demo.KeyWebEU, productCreate, map[string]any{"input": createInput("espadrille-canal"), "key": "k1"}).ok(t)
	id, _ := at(r.Data, "productCreate", "product", "id").(string)
	if at(r.Data, "productCreate", "product", "status") != "ACTIVE" ||
		mustJSON(at(r.Data, "productCreate", "product", "variants", 0, "price")) != `{"amount":"49.00","currencyCode":"EUR"}` ||
		mustJSON(at(r.Data, "productCreate", "product", "variants", 0, "compareAtPrice")) != `{"amount":"59.00"}` {
		t.Fatalf("created: %s", r.Raw)
	}
	// The same key again: the same product, not a second one.
	again := s.postAs(t, s.merchandiser, demo.KeyWebEU, productCreate, map[string]any{"input": createInput("espadrille-canal"), "key": "k1"}).ok(t)
	if at(again.Data, "productCreate", "product", "id") != id {
		t.Errorf("retry with the key: %s", again.Raw)
	}

	const listing = `query($brand: String!) { products(filter: { brands: [$brand] }) { totalCount nodes { handle } } }`
	count := func(key string) float64 {
		t.Helper()
		r := s.post(t, key, listing, map[string]any{"brand": "Brand espadrille-canal"}).ok(t)
		return at(r.Data, "products", "totalCount").(float64)
	}
	if count(demo.KeyWebEU) != 1 || count(demo.KeyKioskParis) != 0 {
		t.Fatalf("before: web %v, kiosk %v", count(demo.KeyWebEU), count(demo.KeyKioskParis))
	}
	r = s.postAs(t, s.merchandiser, demo.KeyWebEU, `mutation($id: ID!, $channels: [ID!]!) {
		productPublicationSet(id: $id, channelIds: $channels) { product { handle } userErrors { field code } } }`,
		map[string]any{"id": id, "channels": []string{demo.ChannelID(demo.KeyKioskParis).String()}}).ok(t)
	if len(at(r.Data, "productPublicationSet", "userErrors").([]any)) != 0 {
		t.Fatalf("publication: %s", r.Raw)
	}
	if count(demo.KeyWebEU) != 0 || count(demo.KeyKioskParis) != 1 {
		t.Errorf("after: web %v, kiosk %v", count(demo.KeyWebEU), count(demo.KeyKioskParis))
	}

	// Two mutations of one document on the same product: the second
	// payload shows the second change, not what the first one loaded.
	variantID := func() string {
		var v string
		if err := s.pool.QueryRow(t.Context(), `SELECT id::text FROM variants WHERE sku = 'ESPADRILLE-CANAL-40'`).Scan(&v); err != nil {
			t.Fatal(err)
		}
		return v
	}()
	r = s.postAs(t, s.merchandiser, demo.KeyKioskParis, `mutation($id: ID!, $v: ID!) {
		first: productPricesSet(productId: $id, prices: [{ variantId: $v, currencyCode: "EUR", amount: "39.00" }]) {
			product { variants { sku price { amount } } } userErrors { field code } }
		second: productPricesSet(productId: $id, prices: [{ variantId: $v, currencyCode: "EUR", amount: "29.00" }]) {
			product { variants { sku price { amount } } } userErrors { field code } }
		upsert: productVariantsUpsert(productId: $id, variants: [{ sku: "ESPADRILLE-CANAL-41", weightGrams: 420, title: "Quarante et un" }]) {
			product { variants { title weightGrams } } userErrors { field code } }
		update: productUpdate(id: $id, input: { title: "Espadrille d'été", status: ARCHIVED }) {
			product { title status } userErrors { field code } }
		bad: productPricesSet(productId: $id, prices: [{ variantId: $v, currencyCode: "EUR", amount: "9", compareAtAmount: "5" }]) {
			product { id } userErrors { field code } }
	}`, map[string]any{"id": id, "v": variantID}).ok(t)
	if at(r.Data, "first", "product", "variants", 0, "price", "amount") != "39.00" ||
		at(r.Data, "second", "product", "variants", 0, "price", "amount") != "29.00" {
		t.Errorf("prices: %s", r.Raw)
	}
	if at(r.Data, "upsert", "product", "variants", 1, "title") != "Quarante et un" || at(r.Data, "upsert", "product", "variants", 1, "weightGrams") != 420.0 {
		t.Errorf("upsert: %s", r.Raw)
	}
	if at(r.Data, "update", "product", "status") != "ARCHIVED" || at(r.Data, "update", "product", "title") != "Espadrille d'été" {
		t.Errorf("update: %s", r.Raw)
	}
	if mustJSON(at(r.Data, "bad", "userErrors")) != `[{"code":"INVALID_INPUT","field":["prices","0","compareAtAmount"]}]` || at(r.Data, "bad", "product") != nil {
		t.Errorf("bad price: %s", r.Raw)
	}
	// Archived: gone from every channel at once.
	if count(demo.KeyKioskParis) != 0 {
		t.Error("an archived product is still listed")
	}
	var version int
	if err := s.pool.QueryRow(t.Context(), `SELECT version FROM products WHERE id = $1`, id).Scan(&version); err != nil || version != 6 {
		t.Errorf("version after create and five changes: %d (%v), want 6", version, err)
	}
	r = s.postAs(t, s.merchandiser, demo.KeyWebEU, `mutation($v: ID!) {
		productVariantDelete(id: $v) { product { variants { sku } } userErrors { field code } }
		missing: productArchive(id: "00000000-0000-0000-0000-000000000000") { product { id } userErrors { field code } } }`,
		map[string]any{"v": variantID}).ok(t)
	if mustJSON(at(r.Data, "productVariantDelete", "product", "variants")) != `[{"sku":"ESPADRILLE-CANAL-41"}]` ||
		mustJSON(at(r.Data, "missing", "userErrors")) != `[{"code":"NOT_FOUND","field":["id"]}]` {
		t.Errorf("delete and not found: %s", r.Raw)
	}
}

// Over a websocket the staff token travels in connection_init, like the
// channel key; a bad one refuses the connection.
func TestWebsocketStaffToken(t *testing.T) {
	s := newStaffServer(t)
	dial := func(token string) (*websocket.Conn, error) { return dialWithToken(t, s.URL, token) }
	if _, err := dial(staff.TokenPrefix + strings.Repeat("B", 43)); err == nil {
		t.Error("a bad staff token was accepted over a websocket")
	}
	conn, err := dial(s.merchandiser)
	if err != nil {
		t.Fatalf("a good staff token was refused: %v", err)
	}
	ctx := t.Context()
	if err := wsjson.Write(ctx, conn, map[string]any{"type": "subscribe", "id": "1", "payload": map[string]any{
		"query": `mutation { productArchive(id: "` + demo.ProductID(demo.HandleRunningShoe).String() + `") { product { status } userErrors { code } } }`}}); err != nil {
		t.Fatal(err)
	}
	var m struct {
		Type    string
		Payload map[string]any
	}
	if err := wsjson.Read(ctx, conn, &m); err != nil || m.Type != "next" || at(m.Payload, "data", "productArchive", "product", "status") != "ARCHIVED" {
		t.Errorf("mutation over the websocket: %+v %v", m, err)
	}
}

type errUnexpected string

func (e errUnexpected) Error() string { return "unexpected message " + string(e) }

// dialWithToken opens a graphql-transport-ws connection to s, sends
// connection_init with the web channel key and the bearer token, and
// returns the connection once acknowledged (an error if refused).
func dialWithToken(t *testing.T, url, token string) (*websocket.Conn, error) {
	t.Helper()
	ctx := t.Context()
	conn, _, err := websocket.Dial(ctx, "ws"+strings.TrimPrefix(url, "http"), &websocket.DialOptions{Subprotocols: []string{"graphql-transport-ws"}})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { conn.CloseNow() })
	if err := wsjson.Write(ctx, conn, map[string]any{"type": "connection_init", "payload": map[string]any{
		graph.ChannelKeyHeader: demo.KeyWebEU, "Authorization": "Bearer " + token}}); err != nil {
		t.Fatal(err)
	}
	var m struct{ Type string }
	if err := wsjson.Read(ctx, conn, &m); err != nil {
		return nil, err
	}
	if m.Type != "connection_ack" {
		return nil, errUnexpected(m.Type)
	}
	return conn, nil
}
