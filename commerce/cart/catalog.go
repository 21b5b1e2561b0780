package cart

import (
	"context"
	"sync"
	"time"

	"github.com/omnicanal/omnicanal/commerce"
	"github.com/omnicanal/omnicanal/commerce/catalog"
	"github.com/omnicanal/omnicanal/commerce/channel"
	"github.com/omnicanal/omnicanal/commerce/internal/db"
)

// The catalog side of a line — its variant, product, categories (with
// their ancestors), collections, and the channel that added it — is the
// same in every cart and changes seldom, yet reading it took most of a
// cart read: per line, four joins and two subqueries, one recursive
// (docs/performance.md, issue 4). So a cart read takes from the database
// only what is the cart's own or must be current to the moment: the cart,
// its lines and their prices. The rest comes from this per-process cache,
// keyed by variant (and channel) id.
//
// How current it is: an entry lives at most DefaultCatalogTTL (see
// WithCatalogTTL), and PurgeCatalog forgets every entry. cmd/omnicanal
// calls it when the outbox's search queue is notified, which every
// catalog, price, publication or stock change does at its commit, as for
// graph.Cache: a change reaches carts within milliseconds, on every
// instance. Prices, stock and publication never come from here: the
// statements that price or change a cart read them.

// DefaultCatalogTTL bounds how long a line's catalog data may be served
// from memory when no purge arrives.
const DefaultCatalogTTL = 5 * time.Second

// maxCatalogEntries bounds the cache; past it, it starts afresh. The demo
// catalog has ~1,000 variants; a catalog of hundreds of thousands only
// keeps its hot part.
const maxCatalogEntries = 20000

// lineCatalog is the catalog side of a line.
type lineCatalog struct {
	variant                    catalog.Variant
	product                    catalog.Product
	categoryIDs, collectionIDs []commerce.ID
}

type catalogCache struct {
	ttl time.Duration
	now func() time.Time

	mu sync.Mutex
	// gen counts purges: a load that began before one must not store what
	// it read, which may predate the change that caused it.
	gen      uint64
	variants map[commerce.ID]cachedEntry[*lineCatalog]
	channels map[commerce.ID]cachedEntry[*channel.Channel]
}

type cachedEntry[T any] struct {
	v  T
	at time.Time
}

func newCatalogCache(ttl time.Duration, now func() time.Time) *catalogCache {
	return &catalogCache{ttl: ttl, now: now, variants: map[commerce.ID]cachedEntry[*lineCatalog]{},
		channels: map[commerce.ID]cachedEntry[*channel.Channel]{}}
}

// PurgeCatalog forgets the catalog data of lines: the catalog changed.
func (s *Service) PurgeCatalog() {
	c := s.catalog
	c.mu.Lock()
	defer c.mu.Unlock()
	c.gen++
	clear(c.variants)
	clear(c.channels)
}

// lineCatalogSQL reads the catalog side of variants.
const lineCatalogSQL = `SELECT v.id, v.product_id, v.sku, v.barcode, v.title, v.options, v.weight_grams, v.position,
		p.handle, p.title, p.description, p.brand, p.product_type, p.status, p.attributes,
		p.version, p.created_at, p.updated_at,
		ARRAY(WITH RECURSIVE up AS (
				SELECT pc.category_id AS id FROM product_categories pc WHERE pc.product_id = p.id
				UNION
				SELECT cat.parent_id FROM categories cat JOIN up ON cat.id = up.id WHERE cat.parent_id IS NOT NULL)
			SELECT id FROM up ORDER BY id),
		ARRAY(SELECT cp.collection_id FROM collection_products cp WHERE cp.product_id = p.id ORDER BY 1)
	FROM variants v JOIN products p ON p.id = v.product_id
	WHERE v.id = ANY($1)`

// complete fills the catalog side of the cart's lines, from the cache or,
// for what it lacks, from the database in one statement per kind (variants,
// channels). A line whose variant is gone (deleted since the cart was read,
// which deletes the line too) is left out.
func (s *Service) complete(ctx context.Context, q db.Querier, c *Cart) error {
	if len(c.Lines) == 0 {
		return nil
	}
	cc := s.catalog
	now := cc.now()
	var missV, missC []commerce.ID
	cc.mu.Lock()
	gen := cc.gen
	for i := range c.Lines {
		l := &c.Lines[i]
		if e, ok := cc.variants[l.Variant.ID]; ok && now.Sub(e.at) < cc.ttl {
			l.setCatalog(e.v)
		} else if !containsID(missV, l.Variant.ID) {
			missV = append(missV, l.Variant.ID)
		}
		if e, ok := cc.channels[l.AddedBy.ID]; ok && now.Sub(e.at) < cc.ttl {
			l.AddedBy = *e.v
		} else if !containsID(missC, l.AddedBy.ID) {
			missC = append(missC, l.AddedBy.ID)
		}
	}
	cc.mu.Unlock()
	if len(missV) == 0 && len(missC) == 0 {
		return nil
	}
	variants, err := loadLineCatalog(ctx, q, missV)
	if err != nil {
		return err
	}
	channels, err := loadChannels(ctx, q, missC)
	if err != nil {
		return err
	}
	cc.mu.Lock()
	if cc.gen == gen {
		if len(cc.variants)+len(variants) > maxCatalogEntries || len(cc.channels)+len(channels) > maxCatalogEntries {
			clear(cc.variants)
			clear(cc.channels)
		}
		for id, v := range variants {
			cc.variants[id] = cachedEntry[*lineCatalog]{v: v, at: now}
		}
		for id, ch := range channels {
			cc.channels[id] = cachedEntry[*channel.Channel]{v: ch, at: now}
		}
	}
	cc.mu.Unlock()
	kept := c.Lines[:0]
	for _, l := range c.Lines {
		if v, ok := variants[l.Variant.ID]; ok {
			l.setCatalog(v)
		}
		if ch, ok := channels[l.AddedBy.ID]; ok {
			l.AddedBy = *ch
		}
		if l.Product.ID == (commerce.ID{}) || l.AddedBy.Kind == "" {
			continue // the variant (or channel) is gone
		}
		kept = append(kept, l)
	}
	c.Lines = kept
	return nil
}

// setCatalog gives the line its catalog side. The slices are shared with
// the cache, and read-only.
func (l *Line) setCatalog(v *lineCatalog) {
	l.Variant, l.Product = v.variant, v.product
	l.categoryIDs, l.collectionIDs = v.categoryIDs, v.collectionIDs
}

func containsID(ids []commerce.ID, id commerce.ID) bool {
	for _, x := range ids {
		if x == id {
			return true
		}
	}
	return false
}

func loadLineCatalog(ctx context.Context, q db.Querier, ids []commerce.ID) (map[commerce.ID]*lineCatalog, error) {
	out := make(map[commerce.ID]*lineCatalog, len(ids))
	if len(ids) == 0 {
		return out, nil
	}
	rows, err := q.Query(ctx, lineCatalogSQL, ids)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	for rows.Next() {
		var (
			lc lineCatalog
			v  = &lc.variant
			p  = &lc.product
		)
		if err := rows.Scan(&v.ID, &v.ProductID, &v.SKU, &v.Barcode, &v.Title, &v.Options, &v.WeightGrams, &v.Position,
			&p.Handle, &p.Title, &p.Description, &p.Brand, &p.ProductType, &p.Status, &p.Attributes,
			&p.Version, &p.CreatedAt, &p.UpdatedAt, &lc.categoryIDs, &lc.collectionIDs); err != nil {
			return nil, err
		}
		p.ID = v.ProductID
		out[v.ID] = &lc
	}
	return out, rows.Err()
}

func loadChannels(ctx context.Context, q db.Querier, ids []commerce.ID) (map[commerce.ID]*channel.Channel, error) {
	out := make(map[commerce.ID]*channel.Channel, len(ids))
	if len(ids) == 0 {
		return out, nil
	}
	rows, err := q.Query(ctx, `SELECT id, kind, name, currency_code, location_id FROM channels WHERE id = ANY($1)`, ids)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	for rows.Next() {
		var (
			ch       channel.Channel
			kind, cu string
		)
		if err := rows.Scan(&ch.ID, &kind, &ch.Name, &cu, &ch.LocationID); err != nil {
			return nil, err
		}
		ch.Kind, ch.Currency = channel.Kind(kind), commerce.Currency(cu)
		out[ch.ID] = &ch
	}
	return out, rows.Err()
}
