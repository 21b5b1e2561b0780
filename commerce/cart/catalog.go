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
// catalog, price or publication change does at its commit, as for
// graph.Cache: a change reaches carts within milliseconds, on every
// instance. A stock change alone notifies too (outbox.StockOnly) but does
// not purge: nothing here holds stock. Prices, stock and publication never come from here: the
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

// lineCatalogSQL reads the catalog side of variants ($1) and channels ($2)
// in one statement, as two JSON arrays in one row: a cart read that misses
// both costs one statement more, not two.
const lineCatalogSQL = `SELECT
	(SELECT coalesce(json_agg(json_build_object(
			'id', v.id, 'productId', v.product_id, 'sku', v.sku, 'barcode', v.barcode, 'title', v.title,
			'options', v.options, 'weightGrams', v.weight_grams, 'position', v.position,
			'handle', p.handle, 'productTitle', p.title, 'description', p.description, 'brand', p.brand,
			'productType', p.product_type, 'status', p.status, 'attributes', p.attributes,
			'version', p.version, 'createdAt', p.created_at, 'updatedAt', p.updated_at,
			'categoryIds', ARRAY(WITH RECURSIVE up AS (
					SELECT pc.category_id AS id FROM product_categories pc WHERE pc.product_id = p.id
					UNION
					SELECT cat.parent_id FROM categories cat JOIN up ON cat.id = up.id WHERE cat.parent_id IS NOT NULL)
				SELECT id FROM up ORDER BY id),
			'collectionIds', ARRAY(SELECT cp.collection_id FROM collection_products cp WHERE cp.product_id = p.id ORDER BY 1))), '[]')
		FROM variants v JOIN products p ON p.id = v.product_id
		WHERE v.id = ANY($1)),
	(SELECT coalesce(json_agg(json_build_object(
			'id', ch.id, 'kind', ch.kind, 'name', ch.name, 'currency', ch.currency_code, 'locationId', ch.location_id)), '[]')
		FROM channels ch WHERE ch.id = ANY($2))`

// variantJSON and channelJSON are the rows of lineCatalogSQL.
type variantJSON struct {
	ID            commerce.ID           `json:"id"`
	ProductID     commerce.ID           `json:"productId"`
	SKU           string                `json:"sku"`
	Barcode       string                `json:"barcode"`
	Title         string                `json:"title"`
	Options       []catalog.OptionValue `json:"options"`
	WeightGrams   *int                  `json:"weightGrams"`
	Position      int                   `json:"position"`
	Handle        string                `json:"handle"`
	ProductTitle  string                `json:"productTitle"`
	Description   string                `json:"description"`
	Brand         string                `json:"brand"`
	ProductType   string                `json:"productType"`
	Status        catalog.Status        `json:"status"`
	Attributes    map[string]string     `json:"attributes"`
	Version       int64                 `json:"version"`
	CreatedAt     time.Time             `json:"createdAt"`
	UpdatedAt     time.Time             `json:"updatedAt"`
	CategoryIDs   []commerce.ID         `json:"categoryIds"`
	CollectionIDs []commerce.ID         `json:"collectionIds"`
}

type channelJSON struct {
	ID         commerce.ID  `json:"id"`
	Kind       string       `json:"kind"`
	Name       string       `json:"name"`
	Currency   string       `json:"currency"`
	LocationID *commerce.ID `json:"locationId"`
}

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
	variants, channels, err := loadLineCatalog(ctx, q, missV, missC)
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

// loadLineCatalog reads the catalog side of the variants and channels.
func loadLineCatalog(ctx context.Context, q db.Querier, variantIDs, channelIDs []commerce.ID) (map[commerce.ID]*lineCatalog, map[commerce.ID]*channel.Channel, error) {
	if variantIDs == nil {
		variantIDs = []commerce.ID{}
	}
	if channelIDs == nil {
		channelIDs = []commerce.ID{}
	}
	var vs []variantJSON
	var chs []channelJSON
	if err := q.QueryRow(ctx, lineCatalogSQL, variantIDs, channelIDs).Scan(&vs, &chs); err != nil {
		return nil, nil, err
	}
	variants := make(map[commerce.ID]*lineCatalog, len(vs))
	for _, v := range vs {
		variants[v.ID] = &lineCatalog{
			variant: catalog.Variant{ID: v.ID, ProductID: v.ProductID, SKU: v.SKU, Barcode: v.Barcode, Title: v.Title,
				Options: v.Options, WeightGrams: v.WeightGrams, Position: v.Position},
			product: catalog.Product{ID: v.ProductID, Handle: v.Handle, Title: v.ProductTitle, Description: v.Description,
				Brand: v.Brand, ProductType: v.ProductType, Status: v.Status, Attributes: v.Attributes, Version: v.Version,
				CreatedAt: v.CreatedAt.UTC(), UpdatedAt: v.UpdatedAt.UTC()},
			categoryIDs: v.CategoryIDs, collectionIDs: v.CollectionIDs,
		}
	}
	channels := make(map[commerce.ID]*channel.Channel, len(chs))
	for _, ch := range chs {
		channels[ch.ID] = &channel.Channel{ID: ch.ID, Kind: channel.Kind(ch.Kind), Name: ch.Name,
			Currency: commerce.Currency(ch.Currency), LocationID: ch.LocationID}
	}
	return variants, channels, nil
}
