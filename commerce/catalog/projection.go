package catalog

import (
	"context"
	"fmt"

	"github.com/jackc/pgx/v5"

	"github.com/omnicanal/omnicanal/commerce"
)

// Projection is everything a search index needs to know of one product,
// read in one consistent snapshot. Search engines live outside commerce;
// they build their documents from this.
type Projection struct {
	Product Product
	// Categories holds the product's categories and all their ancestors,
	// so that filtering on "Chaussures" finds running shoes.
	Categories    []Category
	CollectionIDs []commerce.ID
	// Options maps an option name to its distinct values over the variants.
	Options map[string][]string
	// Prices holds the lowest and highest variant price per currency.
	Prices map[commerce.Currency][2]int64
	// StoreIDs are the stores holding at least one unit of some variant.
	StoreIDs []commerce.ID
	// ChannelIDs are the channels the product is published on.
	ChannelIDs []commerce.ID
}

// Searchable tells whether the product belongs in a search index at all:
// active and published somewhere. Anything else must be removed from it.
func (p Projection) Searchable() bool {
	return p.Product.Status == Active && len(p.ChannelIDs) > 0
}

// FindProjections reads the projections of the given products (whatever
// their status) in one repeatable-read snapshot, so that a document never
// mixes a product's prices from before a change with its stock from after.
// Ids of products that no longer exist are left out.
func (s *Service) FindProjections(ctx context.Context, productIDs []commerce.ID) ([]Projection, error) {
	var out []Projection
	err := pgx.BeginTxFunc(ctx, s.pool, pgx.TxOptions{IsoLevel: pgx.RepeatableRead, AccessMode: pgx.ReadOnly}, func(tx pgx.Tx) error {
		rows, err := tx.Query(ctx, `SELECT `+productColumnsP+` FROM products p WHERE p.id = ANY($1) ORDER BY p.id`, productIDs)
		if err != nil {
			return err
		}
		products, err := pgx.CollectRows(rows, pgx.RowToStructByName[Product])
		if err != nil {
			return err
		}
		byID := make(map[commerce.ID]*Projection, len(products))
		out = make([]Projection, len(products))
		for i, p := range products {
			out[i] = Projection{Product: p, Options: map[string][]string{}, Prices: map[commerce.Currency][2]int64{}}
			byID[p.ID] = &out[i]
		}

		// One statement per facet of the document, each for the whole batch.
		var (
			pid, id  commerce.ID
			name     string
			values   []string
			cur      string
			lo, hi   int64
			parentID *commerce.ID
			handle   string
			position int
		)
		steps := []struct {
			sql  string
			scan []any
			each func()
		}{
			{`WITH RECURSIVE up AS (
					SELECT pc.product_id, c.id, c.parent_id, c.handle, c.name, c.position FROM product_categories pc
					JOIN categories c ON c.id = pc.category_id WHERE pc.product_id = ANY($1)
					UNION
					SELECT up.product_id, c.id, c.parent_id, c.handle, c.name, c.position FROM categories c JOIN up ON c.id = up.parent_id)
				SELECT product_id, id, parent_id, handle, name, position FROM up ORDER BY product_id, handle`,
				[]any{&pid, &id, &parentID, &handle, &name, &position},
				func() {
					byID[pid].Categories = append(byID[pid].Categories, Category{ID: id, ParentID: parentID, Handle: handle, Name: name, Position: position})
				}},
			{`SELECT product_id, collection_id FROM collection_products WHERE product_id = ANY($1) ORDER BY product_id, collection_id`,
				[]any{&pid, &id},
				func() { byID[pid].CollectionIDs = append(byID[pid].CollectionIDs, id) }},
			{`SELECT v.product_id, o.value->>'name', array_agg(DISTINCT o.value->>'value' ORDER BY o.value->>'value')
				FROM variants v, jsonb_array_elements(v.options) o WHERE v.product_id = ANY($1) GROUP BY 1, 2`,
				[]any{&pid, &name, &values},
				func() { byID[pid].Options[name] = values }},
			{`SELECT v.product_id, vp.currency_code, min(vp.amount), max(vp.amount) FROM variants v
				JOIN variant_prices vp ON vp.variant_id = v.id WHERE v.product_id = ANY($1) GROUP BY 1, 2`,
				[]any{&pid, &cur, &lo, &hi},
				func() { byID[pid].Prices[commerce.Currency(cur)] = [2]int64{lo, hi} }},
			// From the products' variants to their stock rows by the
			// primary key, whatever the statistics say: the indexer
			// projects a few products at a time (stock running out under
			// checkouts re-indexes them one by one), and without
			// statistics on the small locations table the planner walked
			// every store's stock instead (37 ms a call on the demo data).
			{`SELECT DISTINCT v.product_id, s.location_id FROM variants v
				CROSS JOIN LATERAL (SELECT s.location_id FROM stock_levels s
					WHERE s.variant_id = v.id AND s.on_hand > s.reserved OFFSET 0) s
				JOIN locations l ON l.id = s.location_id AND l.kind = 'store'
				WHERE v.product_id = ANY($1) ORDER BY 1, 2`,
				[]any{&pid, &id},
				func() { byID[pid].StoreIDs = append(byID[pid].StoreIDs, id) }},
			{`SELECT product_id, channel_id FROM product_publications WHERE product_id = ANY($1) ORDER BY 1, 2`,
				[]any{&pid, &id},
				func() { byID[pid].ChannelIDs = append(byID[pid].ChannelIDs, id) }},
		}
		for _, st := range steps {
			rows, err := tx.Query(ctx, st.sql, productIDs)
			if err != nil {
				return err
			}
			if _, err := pgx.ForEachRow(rows, st.scan, func() error { st.each(); return nil }); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("catalog.FindProjections: %w", err)
	}
	return out, nil
}

// FindProductIDs returns the ids of every product, whatever its status,
// in id order: what a search index rebuild walks.
func (s *Service) FindProductIDs(ctx context.Context) ([]commerce.ID, error) {
	rows, err := s.pool.Query(ctx, `SELECT id FROM products ORDER BY id`)
	if err != nil {
		return nil, fmt.Errorf("catalog.FindProductIDs: %w", err)
	}
	ids, err := pgx.CollectRows(rows, pgx.RowTo[commerce.ID])
	if err != nil {
		return nil, fmt.Errorf("catalog.FindProductIDs: %w", err)
	}
	return ids, nil
}
