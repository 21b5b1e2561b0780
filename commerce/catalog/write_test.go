package catalog_test

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"sync"
	"testing"

	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/omnicanal/omnicanal/commerce"
	"github.com/omnicanal/omnicanal/commerce/catalog"
	"github.com/omnicanal/omnicanal/commerce/commercetest"
	"github.com/omnicanal/omnicanal/commerce/demo"
	"github.com/omnicanal/omnicanal/commerce/staff"
)

func TestMain(m *testing.M) { commercetest.Main(m) }

func seedDemo(ctx context.Context, pool *pgxpool.Pool) error {
	_, err := demo.Seed(ctx, pool)
	return err
}

// demoDB is a fresh database holding the demo catalog.
func demoDB(t *testing.T) *pgxpool.Pool {
	t.Helper()
	return commercetest.NewDB(t, commercetest.WithSeed("demo", seedDemo))
}

// as returns a context acting for a new staff user with that role.
func as(t *testing.T, pool *pgxpool.Pool, role commerce.Role) context.Context {
	t.Helper()
	in := staff.Input{Email: fmt.Sprintf("%s-%s@example.com", role, commerce.NewID()), Name: string(role), Role: role}
	if role == commerce.RoleAssociate {
		in.LocationIDs = []commerce.ID{demo.LocationID(demo.CodeParis)}
	}
	st, err := staff.NewService(pool).CreateStaff(t.Context(), in)
	if err != nil {
		t.Fatal(err)
	}
	return commerce.WithPrincipal(t.Context(), commerce.Principal{StaffID: st.ID, Role: st.Role, LocationIDs: st.LocationIDs})
}

func ptr[T any](v T) *T { return &v }

var (
	webEU    = demo.ChannelID(demo.KeyWebEU)
	kioskPar = demo.ChannelID(demo.KeyKioskParis)
)

// newProduct is a valid input for a product with two variants.
func newProduct(handle string) catalog.ProductInput {
	return catalog.ProductInput{
		Handle:      ptr(handle),
		Title:       ptr("Sandale " + handle),
		Description: ptr("Une sandale d'été."),
		Brand:       ptr("Sentier"),
		Status:      ptr(catalog.Active),
		Attributes:  map[string]string{"Matière": "Cuir"},
		Options:     []catalog.OptionInput{{Name: "Taille", Values: []string{"40", "41"}}},
		Variants: []catalog.VariantInput{
			{SKU: ptr(handle + "-40"), Barcode: ptr("4006381333931"), Options: []catalog.OptionValue{{Name: "Taille", Value: "40"}},
				Prices: []catalog.PriceInput{{CurrencyCode: "EUR", Amount: "59.90", CompareAt: ptr("79.90")}, {CurrencyCode: "cad", Amount: "89"}}},
			{SKU: ptr(handle + "-41"), Options: []catalog.OptionValue{{Name: "Taille", Value: "41"}},
				Prices: []catalog.PriceInput{{CurrencyCode: "EUR", Amount: "59.90"}}},
		},
		CategoryIDs:   []commerce.ID{demo.CategoryID("sandales")},
		CollectionIDs: []commerce.ID{demo.CollectionID(demo.CollectionNew)},
		Media:         []catalog.MediaInput{{URL: "https://cdn.example.com/sandale.jpg", Alt: "Sandale"}},
		ChannelIDs:    []commerce.ID{webEU},
	}
}

// tracked reads what every write must change together: the product's
// version and its search outbox rows.
type tracked struct{ version, outbox int }

func track(t *testing.T, pool *pgxpool.Pool, id commerce.ID) tracked {
	t.Helper()
	var tr tracked
	err := pool.QueryRow(t.Context(), `SELECT coalesce((SELECT version FROM products WHERE id = $1), 0),
		(SELECT count(*) FROM outbox WHERE queue = 'search' AND aggregate_id = $1)`, id).Scan(&tr.version, &tr.outbox)
	if err != nil {
		t.Fatal(err)
	}
	return tr
}

// wantBump checks that exactly one change was recorded since before.
func wantBump(t *testing.T, pool *pgxpool.Pool, id commerce.ID, before tracked, what string) tracked {
	t.Helper()
	after := track(t, pool, id)
	if after.version != before.version+1 || after.outbox != before.outbox+1 {
		t.Errorf("%s: version %d → %d and outbox %d → %d, want one bump and one row", what, before.version, after.version, before.outbox, after.outbox)
	}
	return after
}

func wantNoBump(t *testing.T, pool *pgxpool.Pool, id commerce.ID, before tracked, what string) {
	t.Helper()
	if after := track(t, pool, id); after != before {
		t.Errorf("%s: version %d → %d and outbox %d → %d, want nothing", what, before.version, after.version, before.outbox, after.outbox)
	}
}

// wantInputError checks that err holds an input error with that code on
// that field.
func wantInputError(t *testing.T, err error, code, field string) {
	t.Helper()
	errs := catalog.InputErrors(err)
	if errs == nil {
		t.Fatalf("want %s on %s, got %v", code, field, err)
	}
	for _, e := range errs {
		if e.Code == code && e.Field == field {
			return
		}
	}
	t.Errorf("want %s on %q, got %v", code, field, err)
}

func TestWritesNeedAMerchandiserOrAnAdmin(t *testing.T) {
	pool := demoDB(t)
	cat := catalog.NewService(pool)
	id := demo.ProductID(demo.HandleRunningShoe)
	variant := demo.VariantID(demo.Generate().Product(demo.HandleRunningShoe).Variants[0].SKU)
	before := track(t, pool, id)
	writes := map[string]func(ctx context.Context) error{
		"CreateProduct": func(ctx context.Context) error {
			_, err := cat.CreateProduct(ctx, newProduct("interdit"), "")
			return err
		},
		"UpdateProduct": func(ctx context.Context) error {
			_, err := cat.UpdateProduct(ctx, id, catalog.ProductInput{Title: ptr("x")})
			return err
		},
		"ArchiveProduct": func(ctx context.Context) error { _, err := cat.ArchiveProduct(ctx, id); return err },
		"UpsertVariants": func(ctx context.Context) error {
			_, err := cat.UpsertVariants(ctx, id, []catalog.VariantInput{{ID: &variant, Title: ptr("x")}})
			return err
		},
		"DeleteVariant": func(ctx context.Context) error { _, err := cat.DeleteVariant(ctx, variant); return err },
		"SetPrices": func(ctx context.Context) error {
			_, err := cat.SetPrices(ctx, id, []catalog.VariantPriceInput{{VariantID: variant, PriceInput: catalog.PriceInput{CurrencyCode: "EUR", Amount: "1"}}})
			return err
		},
		"SetPublication": func(ctx context.Context) error { _, err := cat.SetPublication(ctx, id, nil); return err },
		"ImportProduct": func(ctx context.Context) error {
			_, _, err := cat.ImportProduct(ctx, newProduct("interdit"))
			return err
		},
	}
	associate := as(t, pool, commerce.RoleAssociate)
	for name, write := range writes {
		if code := commerce.ErrorCode(write(t.Context())); code != commerce.ErrUnauthenticated {
			t.Errorf("%s without a principal: %s, want UNAUTHENTICATED", name, code)
		}
		if code := commerce.ErrorCode(write(associate)); code != commerce.ErrForbidden {
			t.Errorf("%s as an associate: %s, want FORBIDDEN", name, code)
		}
	}
	wantNoBump(t, pool, id, before, "refused writes")
	for _, ctx := range []context.Context{as(t, pool, commerce.RoleMerchandiser), as(t, pool, commerce.RoleAdmin)} {
		if _, err := cat.UpdateProduct(ctx, id, catalog.ProductInput{Brand: ptr("Brand " + commerce.NewID().String())}); err != nil {
			t.Errorf("allowed role refused: %v", err)
		}
	}
}

func TestCreateProductStoresEverything(t *testing.T) {
	pool := demoDB(t)
	cat := catalog.NewService(pool)
	ctx := as(t, pool, commerce.RoleMerchandiser)
	p, err := cat.CreateProduct(ctx, newProduct("sandale-ete"), "")
	if err != nil {
		t.Fatal(err)
	}
	if p.Handle != "sandale-ete" || p.Status != catalog.Active || p.Version != 1 || p.Attributes["Matière"] != "Cuir" {
		t.Errorf("product: %+v", p)
	}
	if tr := track(t, pool, p.ID); tr.outbox != 1 {
		t.Errorf("outbox rows: %d, want 1", tr.outbox)
	}
	// Published on web EU only, and readable there with its EUR prices.
	if _, err := cat.FindProductByID(t.Context(), webEU, p.ID); err != nil {
		t.Errorf("not sold on web EU: %v", err)
	}
	if _, err := cat.FindProductByID(t.Context(), kioskPar, p.ID); commerce.ErrorCode(err) != commerce.ErrNotFound {
		t.Errorf("sold on the Paris kiosk: %v", err)
	}
	vs, err := cat.FindVariantsByProductIDs(t.Context(), []commerce.ID{p.ID})
	if err != nil || len(vs) != 2 {
		t.Fatalf("variants: %v %v", vs, err)
	}
	if vs[0].SKU != "sandale-ete-40" || vs[0].Title != "40" || vs[0].Barcode != "4006381333931" {
		t.Errorf("first variant: %+v", vs[0])
	}
	prices, err := cat.FindPricesByVariantIDs(t.Context(), []commerce.ID{vs[0].ID}, "CAD")
	if err != nil || len(prices) != 1 || prices[0].Price.Amount != 8900 || prices[0].CompareAt != nil {
		t.Errorf("CAD price: %+v %v", prices, err)
	}
	prices, _ = cat.FindPricesByVariantIDs(t.Context(), []commerce.ID{vs[0].ID}, "EUR")
	if len(prices) != 1 || prices[0].Price.Amount != 5990 || prices[0].CompareAt == nil || prices[0].CompareAt.Amount != 7990 {
		t.Errorf("EUR price: %+v", prices)
	}
	opts, _ := cat.FindOptionsByProductIDs(t.Context(), []commerce.ID{p.ID})
	media, _ := cat.FindMediaByProductIDs(t.Context(), []commerce.ID{p.ID})
	cats, _ := cat.FindCategoryLinksByProductIDs(t.Context(), []commerce.ID{p.ID})
	if len(opts) != 1 || !slices.Equal(opts[0].Values, []string{"40", "41"}) || len(media) != 1 || len(cats) != 1 {
		t.Errorf("options %+v, media %+v, categories %+v", opts, media, cats)
	}
	var inNew bool
	if err := pool.QueryRow(t.Context(), `SELECT EXISTS (SELECT 1 FROM collection_products WHERE product_id = $1 AND collection_id = $2)`,
		p.ID, demo.CollectionID(demo.CollectionNew)).Scan(&inNew); err != nil || !inNew {
		t.Errorf("not in the collection: %v", err)
	}
}

func TestEveryWriteBumpsTheVersionAndEnqueuesOnce(t *testing.T) {
	pool := demoDB(t)
	cat := catalog.NewService(pool)
	ctx := as(t, pool, commerce.RoleMerchandiser)
	p, err := cat.CreateProduct(ctx, newProduct("sandale-version"), "")
	if err != nil {
		t.Fatal(err)
	}
	vs, _ := cat.FindVariantsByProductIDs(t.Context(), []commerce.ID{p.ID})
	tr := track(t, pool, p.ID)
	steps := []struct {
		name  string
		write func() error
	}{
		{"UpdateProduct", func() error {
			_, err := cat.UpdateProduct(ctx, p.ID, catalog.ProductInput{Title: ptr("Sandale renommée"), Options: []catalog.OptionInput{{Name: "Taille", Values: []string{"40", "41", "42"}}}})
			return err
		}},
		{"UpsertVariants (new)", func() error {
			_, err := cat.UpsertVariants(ctx, p.ID, []catalog.VariantInput{{SKU: ptr("sandale-version-42"), Options: []catalog.OptionValue{{Name: "Taille", Value: "42"}}}})
			return err
		}},
		{"UpsertVariants (change)", func() error {
			_, err := cat.UpsertVariants(ctx, p.ID, []catalog.VariantInput{{ID: &vs[1].ID, WeightGrams: ptr(300)}})
			return err
		}},
		{"SetPrices", func() error {
			_, err := cat.SetPrices(ctx, p.ID, []catalog.VariantPriceInput{{VariantID: vs[1].ID, PriceInput: catalog.PriceInput{CurrencyCode: "CAD", Amount: "99.00", CompareAt: ptr("120")}}})
			return err
		}},
		{"SetPublication", func() error { _, err := cat.SetPublication(ctx, p.ID, []commerce.ID{webEU, kioskPar}); return err }},
		{"DeleteVariant", func() error { _, err := cat.DeleteVariant(ctx, vs[0].ID); return err }},
		{"ArchiveProduct", func() error { _, err := cat.ArchiveProduct(ctx, p.ID); return err }},
	}
	for _, s := range steps {
		if err := s.write(); err != nil {
			t.Fatalf("%s: %v", s.name, err)
		}
		tr = wantBump(t, pool, p.ID, tr, s.name)
		// The same write again sets what is already there: nothing changes.
		if s.name == "DeleteVariant" {
			continue // the variant is gone: NOT_FOUND, tested elsewhere
		}
		if err := s.write(); err != nil && s.name != "UpsertVariants (new)" {
			t.Fatalf("%s again: %v", s.name, err)
		}
		wantNoBump(t, pool, p.ID, tr, s.name+" again")
	}
	// A failed write leaves neither a version bump nor an outbox row.
	_, err = cat.UpdateProduct(ctx, p.ID, catalog.ProductInput{Title: ptr("ok"), Handle: ptr("Bad Handle")})
	wantInputError(t, err, commerce.ErrInvalidInput, "handle")
	_, err = cat.UpdateProduct(ctx, p.ID, catalog.ProductInput{Title: ptr("ok"), Handle: ptr(demo.HandleRunningShoe)})
	wantInputError(t, err, commerce.ErrConflict, "handle")
	wantNoBump(t, pool, p.ID, tr, "failed writes")
	if got, _ := cat.FindVariantsByProductIDs(t.Context(), []commerce.ID{p.ID}); len(got) != 2 {
		t.Errorf("variants after the steps: %d, want 2", len(got))
	}
}

func TestValidationNamesTheField(t *testing.T) {
	pool := demoDB(t)
	cat := catalog.NewService(pool)
	ctx := as(t, pool, commerce.RoleMerchandiser)
	cases := []struct {
		name   string
		change func(*catalog.ProductInput)
		code   string
		field  string
	}{
		{"bad handle", func(in *catalog.ProductInput) { in.Handle = ptr("Sandale Été") }, commerce.ErrInvalidInput, "handle"},
		{"empty title", func(in *catalog.ProductInput) { in.Title = ptr("  ") }, commerce.ErrInvalidInput, "title"},
		{"unknown status", func(in *catalog.ProductInput) { in.Status = ptr(catalog.Status("live")) }, commerce.ErrInvalidInput, "status"},
		{"unknown currency", func(in *catalog.ProductInput) { in.Variants[1].Prices[0].CurrencyCode = "XYZ" }, commerce.ErrInvalidInput, "variants[1].prices[0].currencyCode"},
		{"negative price", func(in *catalog.ProductInput) { in.Variants[0].Prices[1].Amount = "-1" }, commerce.ErrInvalidInput, "variants[0].prices[1].amount"},
		{"not an amount", func(in *catalog.ProductInput) { in.Variants[0].Prices[1].Amount = "12.345" }, commerce.ErrInvalidInput, "variants[0].prices[1].amount"},
		{"compare-at below price", func(in *catalog.ProductInput) { in.Variants[0].Prices[0].CompareAt = ptr("59.90") }, commerce.ErrInvalidInput, "variants[0].prices[0].compareAtAmount"},
		{"currency twice", func(in *catalog.ProductInput) {
			in.Variants[1].Prices = append(in.Variants[1].Prices, catalog.PriceInput{CurrencyCode: "EUR", Amount: "1"})
		}, commerce.ErrInvalidInput, "variants[1].prices[1].currencyCode"},
		{"SKU twice", func(in *catalog.ProductInput) { in.Variants[1].SKU = in.Variants[0].SKU }, commerce.ErrConflict, "variants[1].sku"},
		{"missing SKU", func(in *catalog.ProductInput) { in.Variants[1].SKU = nil }, commerce.ErrInvalidInput, "variants[1].sku"},
		{"bad barcode", func(in *catalog.ProductInput) { in.Variants[0].Barcode = ptr("4006381333932") }, commerce.ErrInvalidInput, "variants[0].barcode"},
		{"unknown option value", func(in *catalog.ProductInput) { in.Variants[1].Options[0].Value = "46" }, commerce.ErrInvalidInput, "variants[1].options"},
		{"same options", func(in *catalog.ProductInput) { in.Variants[1].Options[0].Value = "40" }, commerce.ErrInvalidInput, "variants[1].options"},
		{"negative weight", func(in *catalog.ProductInput) { in.Variants[0].WeightGrams = ptr(-1) }, commerce.ErrInvalidInput, "variants[0].weightGrams"},
		{"bad media URL", func(in *catalog.ProductInput) { in.Media[0].URL = "javascript:alert(1)" }, commerce.ErrInvalidInput, "media[0].url"},
		{"unknown category", func(in *catalog.ProductInput) { in.CategoryIDs = []commerce.ID{commerce.NewID()} }, commerce.ErrInvalidInput, "categoryIds"},
		{"unknown channel", func(in *catalog.ProductInput) { in.ChannelIDs = []commerce.ID{commerce.NewID()} }, commerce.ErrInvalidInput, "channelIds"},
		{"handle taken", func(in *catalog.ProductInput) { in.Handle = ptr(demo.HandleRunningShoe) }, commerce.ErrConflict, "handle"},
		{"SKU taken", func(in *catalog.ProductInput) { in.Variants[1].SKU = ptr(demo.Generate().Products[0].Variants[0].SKU) }, commerce.ErrConflict, "variants[1].sku"},
		{"barcode taken", func(in *catalog.ProductInput) {
			in.Variants[0].Barcode = ptr(demo.Generate().Products[0].Variants[0].Barcode)
		}, commerce.ErrConflict, "variants[0].barcode"},
	}
	var count int
	if err := pool.QueryRow(t.Context(), `SELECT count(*) FROM outbox`).Scan(&count); err != nil {
		t.Fatal(err)
	}
	for _, c := range cases {
		in := newProduct("sandale-invalide")
		c.change(&in)
		_, err := cat.CreateProduct(ctx, in, "")
		if err == nil {
			t.Errorf("%s: accepted", c.name)
			continue
		}
		wantInputError(t, err, c.code, c.field)
	}
	// Several problems are all reported at once.
	in := newProduct("sandale-multiple")
	in.Handle = ptr("Bad Handle")
	in.Title = ptr("")
	in.Variants[0].Prices[0].Amount = "-3"
	_, err := cat.CreateProduct(ctx, in, "")
	if errs := catalog.InputErrors(err); len(errs) != 3 {
		t.Errorf("want 3 input errors, got %v", err)
	}
	var after int
	if err := pool.QueryRow(t.Context(), `SELECT count(*) FROM outbox`).Scan(&after); err != nil || after != count {
		t.Errorf("failed creates wrote %d outbox rows", after-count)
	}
	if _, err := cat.FindProductByHandle(t.Context(), webEU, "sandale-invalide"); commerce.ErrorCode(err) != commerce.ErrNotFound {
		t.Errorf("a failed create left a product: %v", err)
	}
	// Errors of the other writes name their own fields.
	id := demo.ProductID(demo.HandleRunningShoe)
	_, err = cat.SetPrices(ctx, id, []catalog.VariantPriceInput{{VariantID: commerce.NewID(), PriceInput: catalog.PriceInput{CurrencyCode: "EUR", Amount: "1"}}})
	wantInputError(t, err, commerce.ErrNotFound, "prices[0].variantId")
	_, err = cat.UpdateProduct(ctx, commerce.NewID(), catalog.ProductInput{Title: ptr("x")})
	wantInputError(t, err, commerce.ErrNotFound, "id")
	_, err = cat.UpsertVariants(ctx, id, []catalog.VariantInput{{SKU: ptr("NEW-SKU"), Options: []catalog.OptionValue{{Name: "Couleur", Value: "Fuchsia"}}}})
	wantInputError(t, err, commerce.ErrInvalidInput, "variants[0].options")
	// Changing the options so that existing variants no longer fit them.
	_, err = cat.UpdateProduct(ctx, id, catalog.ProductInput{Options: []catalog.OptionInput{{Name: "Pointure", Values: []string{"42"}}}})
	wantInputError(t, err, commerce.ErrInvalidInput, "options")
}

func TestUpsertVariantsKeepsStockAndIDs(t *testing.T) {
	pool := demoDB(t)
	cat := catalog.NewService(pool)
	ctx := as(t, pool, commerce.RoleMerchandiser)
	d := demo.Generate().Product(demo.HandleRunningShoe)
	first := d.Variants[0]
	var stockRows int
	countStock := func() int {
		var n int
		if err := pool.QueryRow(t.Context(), `SELECT count(*) FROM stock_levels WHERE variant_id = $1`, first.ID).Scan(&n); err != nil {
			t.Fatal(err)
		}
		return n
	}
	stockRows = countStock()
	_, err := cat.UpsertVariants(ctx, d.ID, []catalog.VariantInput{
		{SKU: ptr(first.SKU), Title: ptr("Renamed"), Prices: []catalog.PriceInput{{CurrencyCode: "EUR", Amount: "10"}}},
	})
	if err != nil {
		t.Fatal(err)
	}
	vs, _ := cat.FindVariantsByProductIDs(t.Context(), []commerce.ID{d.ID})
	if len(vs) != len(d.Variants) || vs[0].ID != first.ID || vs[0].Title != "Renamed" {
		t.Errorf("variants after upsert: %d, first %+v", len(vs), vs[0])
	}
	if n := countStock(); n != stockRows || n == 0 {
		t.Errorf("stock rows of the variant: %d → %d", stockRows, n)
	}
	// Its CAD price went with "prices" being the complete set.
	if ps, _ := cat.FindPricesByVariantIDs(t.Context(), []commerce.ID{first.ID}, "CAD"); len(ps) != 0 {
		t.Errorf("CAD price kept: %+v", ps)
	}
}

func TestIdempotencyKey(t *testing.T) {
	pool := demoDB(t)
	cat := catalog.NewService(pool)
	ctx := as(t, pool, commerce.RoleMerchandiser)
	in := newProduct("sandale-cle")

	// Ten concurrent retries of one request create one product.
	var (
		wg  sync.WaitGroup
		mu  sync.Mutex
		ids = map[commerce.ID]int{}
	)
	for range 10 {
		wg.Go(func() {
			p, err := cat.CreateProduct(ctx, in, "create-sandale-cle")
			mu.Lock()
			defer mu.Unlock()
			if err != nil {
				t.Errorf("retry: %v", err)
				return
			}
			ids[p.ID]++
		})
	}
	wg.Wait()
	if len(ids) != 1 {
		t.Fatalf("retries created %d products", len(ids))
	}
	for id := range ids {
		if tr := track(t, pool, id); tr.version != 1 || tr.outbox != 1 {
			t.Errorf("after retries: %+v, want version 1 and one outbox row", tr)
		}
	}
	// The key cannot be reused for another request…
	other := newProduct("sandale-autre")
	other.Variants[0].Barcode = nil
	_, err := cat.CreateProduct(ctx, other, "create-sandale-cle")
	wantInputError(t, err, commerce.ErrConflict, "idempotencyKey")
	// …but keys are per staff user.
	if _, err := cat.CreateProduct(as(t, pool, commerce.RoleAdmin), other, "create-sandale-cle"); err != nil {
		t.Errorf("another user's key: %v", err)
	}
	// Without a key, a retry cannot duplicate either: the handle is taken.
	_, err = cat.CreateProduct(ctx, in, "")
	wantInputError(t, err, commerce.ErrConflict, "handle")
}

func TestPublicationChangesWhatAChannelSees(t *testing.T) {
	pool := demoDB(t)
	cat := catalog.NewService(pool)
	ctx := as(t, pool, commerce.RoleMerchandiser)
	id := demo.ProductID(demo.HandleRunningShoe)
	if _, err := cat.SetPublication(ctx, id, []commerce.ID{kioskPar}); err != nil {
		t.Fatal(err)
	}
	if _, err := cat.FindProductByID(t.Context(), webEU, id); commerce.ErrorCode(err) != commerce.ErrNotFound {
		t.Errorf("still on web EU: %v", err)
	}
	if _, err := cat.FindProductByID(t.Context(), kioskPar, id); err != nil {
		t.Errorf("not on the Paris kiosk: %v", err)
	}
	_, err := cat.SetPublication(ctx, id, []commerce.ID{commerce.NewID()})
	wantInputError(t, err, commerce.ErrInvalidInput, "channelIds")
}

func TestInputErrorsRefusesOtherErrors(t *testing.T) {
	input := commerce.InvalidInput("title", "x")
	if got := catalog.InputErrors(fmt.Errorf("wrapped: %w", errors.Join(input, commerce.InvalidInput("handle", "y")))); len(got) != 2 {
		t.Errorf("joined input errors: %v", got)
	}
	if got := catalog.InputErrors(errors.Join(input, errors.New("db down"))); got != nil {
		t.Errorf("an internal error passed for input: %v", got)
	}
	if got := catalog.InputErrors(commerce.Errorf(commerce.ErrForbidden, "no")); got != nil {
		t.Errorf("FORBIDDEN passed for input: %v", got)
	}
}
