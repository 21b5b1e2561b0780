package search

import (
	"context"
	"fmt"

	"github.com/omnicanal/omnicanal/commerce"
	"github.com/omnicanal/omnicanal/commerce/catalog"
)

// Indexer keeps an engine in step with the catalog. The outbox worker calls
// Index with the products that changed; Rebuild walks the whole catalog.
type Indexer struct {
	Catalog *catalog.Service
	Engine  Engine
}

// rebuildBatch is how many products Rebuild reads and pushes at once.
const rebuildBatch = 200

// Index reads the current state of the products and pushes it: searchable
// products (active, published somewhere) are upserted, the others (draft,
// archived, unpublished everywhere, deleted) are removed. It reads the state
// at the time it runs, not the state of the change that queued it, so
// replaying it is harmless; documents carry the product version, so the
// engine refuses to go back to an older one.
func (x *Indexer) Index(ctx context.Context, productIDs []commerce.ID) error {
	projs, err := x.Catalog.FindProjections(ctx, productIDs)
	if err != nil {
		return err
	}
	var (
		docs    []Document
		removed []commerce.ID
		found   = make(map[commerce.ID]bool, len(projs))
	)
	for _, p := range projs {
		found[p.Product.ID] = true
		if p.Searchable() {
			docs = append(docs, DocumentOf(p))
		} else {
			removed = append(removed, p.Product.ID)
		}
	}
	for _, id := range productIDs {
		if !found[id] {
			removed = append(removed, id)
		}
	}
	if len(docs) > 0 {
		if err := x.Engine.Upsert(ctx, docs); err != nil {
			return fmt.Errorf("search.Index: %w", err)
		}
	}
	if len(removed) > 0 {
		if err := x.Engine.Delete(ctx, removed); err != nil {
			return fmt.Errorf("search.Index: %w", err)
		}
	}
	return nil
}

// Rebuild empties the index and fills it from the whole catalog: the
// `omnicanal reindex` command, and the first start of `dev`.
func (x *Indexer) Rebuild(ctx context.Context) (int, error) {
	if err := x.Engine.Reset(ctx); err != nil {
		return 0, fmt.Errorf("search.Rebuild: %w", err)
	}
	ids, err := x.Catalog.FindProductIDs(ctx)
	if err != nil {
		return 0, err
	}
	for start := 0; start < len(ids); start += rebuildBatch {
		if err := x.Index(ctx, ids[start:min(start+rebuildBatch, len(ids))]); err != nil {
			return start, err
		}
	}
	return len(ids), nil
}

// DocumentOf builds the search document of a catalog projection.
func DocumentOf(p catalog.Projection) Document {
	d := Document{
		ProductID:     p.Product.ID,
		Handle:        p.Product.Handle,
		Title:         p.Product.Title,
		Description:   p.Product.Description,
		Brand:         p.Product.Brand,
		ProductType:   p.Product.ProductType,
		CollectionIDs: p.CollectionIDs,
		Options:       p.Options,
		Prices:        make(map[commerce.Currency]PriceRange, len(p.Prices)),
		StoreIDs:      p.StoreIDs,
		ChannelIDs:    p.ChannelIDs,
		CreatedAt:     p.Product.CreatedAt,
		Version:       p.Product.Version,
	}
	for _, c := range p.Categories {
		d.Categories = append(d.Categories, Category{ID: c.ID, Name: c.Name})
	}
	for cur, r := range p.Prices {
		d.Prices[cur] = PriceRange{Min: r[0], Max: r[1]}
	}
	return d
}
