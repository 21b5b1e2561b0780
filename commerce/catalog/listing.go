package catalog

import (
	"encoding/base64"
	"encoding/json"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/omnicanal/omnicanal/commerce"
)

// MaxPageSize caps how many products one page may hold.
const MaxPageSize = 100

// Sort orders a product listing.
type Sort string

const (
	SortHandle     Sort = "handle"     // the default: stable and human-predictable
	SortTitle      Sort = "title"      // alphabetical
	SortPrice      Sort = "price"      // lowest variant price in the filter's currency; unpriced last
	SortNewest     Sort = "newest"     // most recently created first
	SortCollection Sort = "collection" // the collection's own order; needs CollectionID
)

// OptionFilter keeps products having a variant with one of Values for the
// option Name. Several OptionFilters must hold on the same variant, so
// "Noir" and "42" finds products sold in black size 42, not black in 40
// and white in 42.
type OptionFilter struct {
	Name   string
	Values []string
}

// ProductFilter selects a page of the active products published on a channel.
type ProductFilter struct {
	ChannelID commerce.ID       // required: only products published on it
	Currency  commerce.Currency // prices of the price filter and sort

	CategoryID   *commerce.ID // this category or any below it
	CollectionID *commerce.ID
	Brands       []string
	Options      []OptionFilter
	// PriceMin and PriceMax (minor units, inclusive) bound the product's
	// lowest variant price in Currency.
	PriceMin, PriceMax *int64
	// AvailableAt keeps products with a variant in stock at this location.
	AvailableAt *commerce.ID

	Sort    Sort
	Reverse bool
	First   int    // page size, 0..MaxPageSize
	After   string // cursor of the last product of the previous page
}

// Validate checks the filter, naming the field at fault.
func (f *ProductFilter) Validate() error {
	if f.ChannelID == (commerce.ID{}) {
		return commerce.InvalidInput("channel", "a product listing needs a channel")
	}
	if f.First < 0 || f.First > MaxPageSize {
		return commerce.InvalidInput("first", "first must be between 0 and %d", MaxPageSize)
	}
	switch f.Sort {
	case "":
		f.Sort = SortHandle
	case SortHandle, SortTitle, SortPrice, SortNewest:
	case SortCollection:
		if f.CollectionID == nil {
			return commerce.InvalidInput("sortKey", "the collection order needs a collection")
		}
	default:
		return commerce.InvalidInput("sortKey", "unknown sort %q", f.Sort)
	}
	if (f.PriceMin != nil || f.PriceMax != nil || f.Sort == SortPrice) && f.Currency == "" {
		return commerce.InvalidInput("filter.price", "a price filter or sort needs a currency")
	}
	if f.PriceMin != nil && f.PriceMax != nil && *f.PriceMin > *f.PriceMax {
		return commerce.InvalidInput("filter.price", "the minimum price is above the maximum")
	}
	for _, o := range f.Options {
		if strings.TrimSpace(o.Name) == "" || len(o.Values) == 0 {
			return commerce.InvalidInput("filter.options", "an option filter needs a name and at least one value")
		}
	}
	return nil
}

// cursor is the position after which the next page starts: the sort key and
// id of the last product shown. It is opaque to clients.
type cursor struct {
	Sort Sort   `json:"s"`
	Key  string `json:"k"`
	ID   string `json:"i"`
}

func (c cursor) encode() string {
	b, _ := json.Marshal(c)
	return base64.RawURLEncoding.EncodeToString(b)
}

func decodeCursor(s string, sort Sort) (*cursor, error) {
	if s == "" {
		return nil, nil
	}
	bad := commerce.InvalidInput("after", "after is not a cursor of this list")
	raw, err := base64.RawURLEncoding.DecodeString(s)
	if err != nil {
		return nil, bad
	}
	var c cursor
	if json.Unmarshal(raw, &c) != nil || c.Sort != sort {
		return nil, bad
	}
	if _, err := commerce.ParseID("after", c.ID); err != nil {
		return nil, bad
	}
	switch sort {
	case SortPrice, SortCollection:
		if _, err := strconv.ParseInt(c.Key, 10, 64); err != nil {
			return nil, bad
		}
	case SortNewest:
		if _, err := time.Parse(time.RFC3339Nano, c.Key); err != nil {
			return nil, bad
		}
	}
	return &c, nil
}

// noPrice sorts unpriced products after every priced one.
const noPrice = int64(1<<63 - 1)

// listingQuery builds the dynamic SQL of a listing: which joins and
// conditions depend on the filter, so this is hand-written rather than a
// fixed query.
type listingQuery struct {
	from, where []string
	args        []any
	sortExpr    string // SQL of the sort key
	sortType    string // SQL type the cursor key is cast to
}

func (q *listingQuery) arg(v any) string {
	q.args = append(q.args, v)
	return "$" + strconv.Itoa(len(q.args))
}

func newListingQuery(f *ProductFilter) *listingQuery {
	q := &listingQuery{}
	q.from = append(q.from, "products p",
		"JOIN product_publications pub ON pub.product_id = p.id AND pub.channel_id = "+q.arg(f.ChannelID))
	q.where = append(q.where, "p.status = 'active'")

	switch f.Sort {
	case SortTitle:
		q.sortExpr, q.sortType = "p.title", "text"
	case SortNewest:
		q.sortExpr, q.sortType = "p.created_at", "timestamptz"
	case SortPrice:
		q.from = append(q.from, `LEFT JOIN LATERAL (SELECT min(vp.amount) AS amount FROM variants v
			JOIN variant_prices vp ON vp.variant_id = v.id AND vp.currency_code = `+q.arg(string(f.Currency))+`
			WHERE v.product_id = p.id) minp ON true`)
		q.sortExpr, q.sortType = "coalesce(minp.amount, "+strconv.FormatInt(noPrice, 10)+")", "bigint"
	case SortCollection:
		q.sortExpr, q.sortType = "cp.position::bigint", "bigint"
	default:
		q.sortExpr, q.sortType = "p.handle", "text"
	}
	if f.CollectionID != nil {
		q.from = append(q.from, "JOIN collection_products cp ON cp.product_id = p.id AND cp.collection_id = "+q.arg(*f.CollectionID))
	}
	if f.CategoryID != nil {
		q.where = append(q.where, `p.id IN (SELECT pc.product_id FROM product_categories pc WHERE pc.category_id IN (
			WITH RECURSIVE tree AS (SELECT id FROM categories WHERE id = `+q.arg(*f.CategoryID)+`
				UNION ALL SELECT c.id FROM categories c JOIN tree ON c.parent_id = tree.id)
			SELECT id FROM tree))`)
	}
	if len(f.Brands) > 0 {
		q.where = append(q.where, "p.brand = ANY("+q.arg(f.Brands)+")")
	}
	if len(f.Options) > 0 {
		var conds []string
		for _, o := range f.Options {
			docs := make([]string, len(o.Values))
			for i, v := range o.Values {
				b, _ := json.Marshal([]OptionValue{{Name: o.Name, Value: v}})
				docs[i] = string(b)
			}
			conds = append(conds, "v.options @> ANY("+q.arg(docs)+"::jsonb[])")
		}
		q.where = append(q.where, "EXISTS (SELECT 1 FROM variants v WHERE v.product_id = p.id AND "+strings.Join(conds, " AND ")+")")
	}
	if f.PriceMin != nil || f.PriceMax != nil {
		// On the product's lowest price, the "from" price a shopper sees,
		// as search engines (which hold one price per product) filter too.
		expr := `(SELECT min(vp.amount) FROM variants v JOIN variant_prices vp ON vp.variant_id = v.id
			WHERE v.product_id = p.id AND vp.currency_code = ` + q.arg(string(f.Currency)) + `)`
		if f.PriceMin != nil {
			q.where = append(q.where, expr+" >= "+q.arg(*f.PriceMin))
		}
		if f.PriceMax != nil {
			q.where = append(q.where, expr+" <= "+q.arg(*f.PriceMax))
		}
	}
	if f.AvailableAt != nil {
		q.where = append(q.where, `EXISTS (SELECT 1 FROM variants v JOIN stock_levels s ON s.variant_id = v.id
			WHERE v.product_id = p.id AND s.location_id = `+q.arg(*f.AvailableAt)+` AND s.on_hand > s.reserved)`)
	}
	return q
}

// count returns the SQL counting every product the filter matches.
func (q *listingQuery) count() string {
	return "SELECT count(*) FROM " + strings.Join(q.from, "\n") + "\nWHERE " + strings.Join(q.where, " AND ")
}

// page returns the SQL of one page after c, with the sort key as a text
// column so that cursors can be made of it.
func (q *listingQuery) page(f *ProductFilter, c *cursor) string {
	where := q.where
	dir, cmp := "ASC", ">"
	// Newest is newest-first; Reverse flips any order.
	if (f.Sort == SortNewest) != f.Reverse {
		dir, cmp = "DESC", "<"
	}
	if c != nil {
		where = append(where, fmt.Sprintf("(%s, p.id) %s (%s::%s, %s::uuid)",
			q.sortExpr, cmp, q.arg(c.Key), q.sortType, q.arg(c.ID)))
	}
	keyText := q.sortExpr + "::text"
	if f.Sort == SortNewest {
		// RFC 3339 in UTC, so the cursor parses back to the same instant.
		keyText = `to_char(p.created_at AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US"Z"')`
	}
	return "SELECT " + productColumnsP + ", " + keyText + " AS sort_key FROM " + strings.Join(q.from, "\n") +
		"\nWHERE " + strings.Join(where, " AND ") +
		fmt.Sprintf("\nORDER BY %s %s, p.id %s LIMIT %s", q.sortExpr, dir, dir, q.arg(f.First+1))
}
