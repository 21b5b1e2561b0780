package search

import (
	"cmp"
	"context"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"unicode"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/omnicanal/omnicanal/commerce"
)

// Postgres is the embedded search engine: the search_documents table
// (migrations/0003_search.sql) searched with full-text search, unaccent and
// pg_trgm.
//
// Matching: the query is cut into words (Go), unaccented (SQL), and every
// word must match the document's tsvector, which holds French and English
// stems of its unaccented text: "chaussures", "CHAUSSURE" and "élan" find
// "Chaussure de course Élan". A word missing from the lexicon (search_words)
// is probably a typo, so its closest lexicon words by trigram similarity are
// accepted in its place ("chausures" → "chaussure"); synonyms are accepted
// too ("sneaker" → "basket"), and the last word also matches as a prefix,
// for search as you type. Hits are ranked by ts_rank: a word in the title
// weighs more than in the brand or categories, which weigh more than in the
// description; ties go to the newest product.
//
// A search is one SQL statement: a one-row CTE builds the tsquery once,
// another selects the channel's matching documents once, and the page, the
// total and every facet are aggregates over it, returned as the rows of one
// UNION ALL.
type Postgres struct {
	pool *pgxpool.Pool
}

// NewPostgres returns the Postgres engine over pool, whose database must
// have the search_documents table.
func NewPostgres(pool *pgxpool.Pool) *Postgres { return &Postgres{pool: pool} }

var _ Engine = (*Postgres)(nil)

// upsertSQL writes one document unless a newer (or the same) version is
// already there. The vectors are computed here, at write time, with
// unaccent() (see the migration for why they are stored).
const upsertSQL = `
INSERT INTO search_documents AS d (
	product_id, version, handle, title, description, brand, product_type,
	category_ids, category_names, collection_ids, options, prices,
	store_ids, channel_ids, created_at, search_vector)
SELECT $1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15,
	setweight(to_tsvector('french', unaccent($4::text)), 'A') ||
	setweight(to_tsvector('english', unaccent($4::text)), 'A') ||
	setweight(to_tsvector('french', unaccent($16::text)), 'B') ||
	setweight(to_tsvector('english', unaccent($16::text)), 'B') ||
	setweight(to_tsvector('french', unaccent($5::text)), 'C') ||
	setweight(to_tsvector('english', unaccent($5::text)), 'C')
ON CONFLICT (product_id) DO UPDATE SET
	version = EXCLUDED.version,
	handle = EXCLUDED.handle,
	title = EXCLUDED.title,
	description = EXCLUDED.description,
	brand = EXCLUDED.brand,
	product_type = EXCLUDED.product_type,
	category_ids = EXCLUDED.category_ids,
	category_names = EXCLUDED.category_names,
	collection_ids = EXCLUDED.collection_ids,
	options = EXCLUDED.options,
	prices = EXCLUDED.prices,
	store_ids = EXCLUDED.store_ids,
	channel_ids = EXCLUDED.channel_ids,
	created_at = EXCLUDED.created_at,
	search_vector = EXCLUDED.search_vector,
	indexed_at = now(),
	deleted_at = NULL
WHERE d.version < EXCLUDED.version`

// Upsert writes the documents in one transaction and one round trip.
func (e *Postgres) Upsert(ctx context.Context, docs []Document) error {
	docs, err := normalize(docs)
	if err != nil {
		return err
	}
	if len(docs) == 0 {
		return nil
	}
	var b pgx.Batch
	lexicon := make([]string, 0, len(docs))
	for _, d := range docs {
		catIDs := make([]commerce.ID, len(d.Categories))
		catNames := make([]string, len(d.Categories))
		for i, c := range d.Categories {
			catIDs[i], catNames[i] = c.ID, c.Name
		}
		prices := make(map[commerce.Currency]map[string]int64, len(d.Prices))
		for c, p := range d.Prices {
			prices[c] = map[string]int64{"min": p.Min, "max": p.Max}
		}
		// Brand, product type and category names share weight B.
		secondary := strings.Join(append([]string{d.Brand, d.ProductType}, catNames...), " ")
		lexicon = append(lexicon, d.Title+" "+secondary)
		b.Queue(upsertSQL, d.ProductID, d.Version, d.Handle, d.Title, d.Description, d.Brand, d.ProductType,
			catIDs, catNames, d.CollectionIDs, optionPairs(d.Options), prices,
			d.StoreIDs, d.ChannelIDs, d.CreatedAt, secondary)
	}
	// The lexicon gets every word of the batch in one sorted insert, so
	// concurrent batches take the word rows' locks in the same order.
	b.Queue(`INSERT INTO search_words (word)
		SELECT DISTINCT w FROM unnest($1::text[]) AS t,
			unnest(tsvector_to_array(to_tsvector('simple', lower(unaccent(t))))) AS w
		WHERE length(w) >= 3 -- shorter words get no typo alternatives
		ORDER BY w
		ON CONFLICT DO NOTHING`, lexicon)
	err = pgx.BeginFunc(ctx, e.pool, func(tx pgx.Tx) error {
		return tx.SendBatch(ctx, &b).Close()
	})
	if err != nil {
		return fmt.Errorf("search.Postgres.Upsert: %w", err)
	}
	return nil
}

// Delete leaves a tombstone: the row keeps its version (so a late, older
// Upsert stays ignored) but is published nowhere, so no search can see it.
func (e *Postgres) Delete(ctx context.Context, productIDs []commerce.ID) error {
	if len(productIDs) == 0 {
		return nil
	}
	_, err := e.pool.Exec(ctx, `UPDATE search_documents
		SET channel_ids = '{}', deleted_at = now(), indexed_at = now()
		WHERE product_id = ANY($1) AND deleted_at IS NULL`, uniqueIDs(productIDs))
	if err != nil {
		return fmt.Errorf("search.Postgres.Delete: %w", err)
	}
	return nil
}

// Reset empties the index, tombstones and lexicon included. There are no
// settings to apply: the schema is the migration's business.
func (e *Postgres) Reset(ctx context.Context) error {
	if _, err := e.pool.Exec(ctx, `TRUNCATE search_documents, search_words`); err != nil {
		return fmt.Errorf("search.Postgres.Reset: %w", err)
	}
	return nil
}

// Row kinds of the search statement; facets use their index in Query.Facets.
const (
	rowHit    = -1
	rowTotal  = -2
	rowOption = -3 // a value of an option facet: "name=value"
)

// Search runs q as one SQL statement.
func (e *Postgres) Search(ctx context.Context, q Query) (Result, error) {
	if err := q.Validate(); err != nil {
		return Result{}, err
	}
	sql, args := buildPostgresSearch(&q)
	rows, err := e.pool.Query(ctx, sql, args...)
	if err != nil {
		return Result{}, fmt.Errorf("search.Postgres.Search: %w", err)
	}
	defer rows.Close()

	res := Result{Hits: make([]Hit, 0, q.Limit)}
	var buckets []PriceBucket
	var priceCounts []int
	if len(q.Facets) > 0 {
		res.Facets = make(map[Facet][]FacetValue, len(q.Facets))
		for _, f := range q.Facets {
			res.Facets[f] = []FacetValue{}
			if f == FacetPrice {
				buckets = PriceBuckets(q.Currency)
				priceCounts = make([]int, len(buckets))
			}
		}
	}
	type rankedHit struct {
		Hit
		rank int64
	}
	hits := make([]rankedHit, 0, q.Limit)
	var (
		kind         int
		value, label string
		n            int64
		score        float64
	)
	for rows.Next() {
		if err := rows.Scan(&kind, &value, &label, &n, &score); err != nil {
			return Result{}, fmt.Errorf("search.Postgres.Search: %w", err)
		}
		switch {
		case kind == rowHit:
			id, err := uuid.Parse(value)
			if err != nil {
				return Result{}, fmt.Errorf("search.Postgres.Search: %w", err)
			}
			hits = append(hits, rankedHit{Hit{ProductID: id, Score: score}, n})
		case kind == rowTotal:
			res.Total = int(n)
		case kind == rowOption:
			name, v, _ := strings.Cut(value, "=")
			f := OptionFacet(name)
			res.Facets[f] = append(res.Facets[f], FacetValue{Value: v, Label: v, Count: int(n)})
		case kind >= 0 && kind < len(q.Facets):
			f := q.Facets[kind]
			if f == FacetPrice {
				// width_bucket numbers buckets from 1.
				if i, err := strconv.Atoi(value); err == nil && i >= 1 && i <= len(buckets) {
					priceCounts[i-1] += int(n)
				}
				continue
			}
			res.Facets[f] = append(res.Facets[f], FacetValue{Value: value, Label: label, Count: int(n)})
		}
	}
	if err := rows.Err(); err != nil {
		return Result{}, fmt.Errorf("search.Postgres.Search: %w", err)
	}
	slices.SortFunc(hits, func(a, b rankedHit) int { return cmp.Compare(a.rank, b.rank) })
	for _, h := range hits {
		res.Hits = append(res.Hits, h.Hit)
	}
	for f, vs := range res.Facets {
		if f == FacetPrice {
			res.Facets[f] = priceFacetValues(buckets, priceCounts)
		} else {
			sortFacetValues(vs)
		}
	}
	return res, nil
}

// maxQueryWords bounds the words of a query that are searched for.
const maxQueryWords = 10

// queryWords cuts a query into lower-case words of letters and digits (the
// rest separates words), dropping words past maxQueryWords. The
// search_tsquery SQL function does the rest: unaccent, typo alternatives,
// prefix, stemming; Go adds the synonyms.
func queryWords(text string) []string {
	words := strings.FieldsFunc(strings.ToLower(text), func(r rune) bool {
		return !unicode.IsLetter(r) && !unicode.IsDigit(r)
	})
	return words[:min(len(words), maxQueryWords)]
}

// pgQuery accumulates a statement's parameters. Those the matching CTE
// filters on go through the one-row CTE q as columns (see param).
type pgQuery struct {
	args   []any
	params []string // "$n::type AS pN", the columns of q
}

func (b *pgQuery) arg(v any) string {
	b.args = append(b.args, v)
	return "$" + strconv.Itoa(len(b.args))
}

// param passes v through q and returns how to refer to it (q.pN).
//
// Why: the planner estimates a predicate on a constant from the column's
// statistics, and on a column of a CTE with a default. The first five
// executions of a prepared statement get custom plans, made with the
// parameters' values; Postgres then keeps re-planning as long as the
// generic plan looks costlier than those. When the values are invisible
// to the planner, the generic plan costs the same, is chosen, and the
// statement is planned once per connection instead of at every search
// (planning this statement costs more than running it).
func (b *pgQuery) param(v any, typ string) string {
	return b.column(b.arg(v) + "::" + typ)
}

// column adds expr as a column of q and returns how to refer to it.
func (b *pgQuery) column(expr string) string {
	name := "p" + strconv.Itoa(len(b.params)+1)
	b.params = append(b.params, expr+" AS "+name)
	return "q." + name
}

// pgCond is one filter as SQL over search_documents d, and the facet that
// must not see it (empty when no facet is tied to it).
type pgCond struct {
	facet Facet
	sql   string
}

// buildPostgresSearch builds the search statement of a valid query.
//
// Filters whose facet is not asked for go into the WHERE clause of the
// matching CTE m. A filter whose facet is asked for becomes a boolean
// column of m instead: the page, the total and the other facets require it,
// and its own facet ignores it (see Result for these semantics).
func buildPostgresSearch(q *Query) (string, []any) {
	b := &pgQuery{}
	words := queryWords(q.Text)
	facets := make(map[Facet]bool, len(q.Facets))
	for _, f := range q.Facets {
		facets[f] = true
	}

	ch := b.param(q.ChannelID, "uuid")
	// The plan is generic (see param), so the planner cannot tell which
	// index is more selective. The words are, far more than the channel
	// (most products are sold on most channels): with text, the channel
	// condition takes a form no index serves, leaving the tsvector index
	// the only choice; without text, the channel index is the only one.
	where := []string{"d.channel_ids @> ARRAY[" + ch + "]"}
	score := "0::float8"
	if len(words) > 0 {
		where[0] = ch + " = ANY(d.channel_ids)"
		// The tsquery is built once, in q (see search_tsquery in the
		// migration for typos, prefixes and stemming).
		syns := make([]string, len(words))
		for i, w := range words {
			syns[i] = strings.Join(synonyms[w], " ")
		}
		tsq := b.column("search_tsquery(" + b.arg(words) + "::text[], " + b.arg(syns) + "::text[])")
		where = append(where, "d.search_vector @@ "+tsq)
		score = "ts_rank(d.search_vector, " + tsq + ")"
	}
	var price string
	if q.Currency != "" {
		price = "(d.prices -> " + b.param(string(q.Currency), "text") + " -> 'min')::bigint"
	}

	var conds []pgCond
	f := &q.Filter
	if len(f.CategoryIDs) > 0 {
		conds = append(conds, pgCond{FacetCategory, "d.category_ids && " + b.param(f.CategoryIDs, "uuid[]")})
	}
	if len(f.CollectionIDs) > 0 {
		conds = append(conds, pgCond{"", "d.collection_ids && " + b.param(f.CollectionIDs, "uuid[]")})
	}
	if len(f.Brands) > 0 {
		conds = append(conds, pgCond{FacetBrand, "d.brand = ANY(" + b.param(f.Brands, "text[]") + ")"})
	}
	for _, name := range optionFilterNames(*f) {
		pairs := optionPairs(map[string][]string{name: f.Options[name]})
		conds = append(conds, pgCond{OptionFacet(name), "d.options && " + b.param(pairs, "text[]")})
	}
	if f.PriceMin != nil || f.PriceMax != nil {
		var parts []string
		if f.PriceMin != nil {
			parts = append(parts, price+" >= "+b.param(*f.PriceMin, "bigint"))
		}
		if f.PriceMax != nil {
			parts = append(parts, price+" <= "+b.param(*f.PriceMax, "bigint"))
		}
		conds = append(conds, pgCond{FacetPrice, strings.Join(parts, " AND ")})
	}
	if f.InStoreID != nil {
		conds = append(conds, pgCond{FacetStore, "d.store_ids @> ARRAY[" + b.param(*f.InStoreID, "uuid") + "]"})
	}

	var sb strings.Builder
	sb.WriteString("WITH q AS MATERIALIZED (SELECT " + strings.Join(b.params, ", ") + "),\n")
	sb.WriteString("m AS MATERIALIZED (SELECT d.product_id, d.created_at, " + score + " AS score")
	if price != "" {
		sb.WriteString(", " + price + " AS price")
	}
	if facets[FacetBrand] {
		sb.WriteString(", d.brand")
	}
	if facets[FacetCategory] {
		sb.WriteString(", d.category_ids, d.category_names")
	}
	if facets[FacetStore] {
		sb.WriteString(", d.store_ids")
	}
	for _, fc := range q.Facets {
		if _, ok := fc.Option(); ok {
			sb.WriteString(", d.options")
			break
		}
	}
	// flags[i] is the column name of conds[i] when it is a column.
	flags := make([]string, len(conds))
	for i, c := range conds {
		if c.facet != "" && facets[c.facet] {
			flags[i] = "f" + strconv.Itoa(i)
			sb.WriteString(", (" + c.sql + ") AS " + flags[i])
		} else {
			where = append(where, c.sql)
		}
	}
	sb.WriteString("\n  FROM q, search_documents d\n  WHERE " + strings.Join(where, "\n    AND ") + ")\n")

	// matched returns the WHERE clause over m applying every flag but the
	// one of facet except, and extra.
	matched := func(except Facet, extra ...string) string {
		parts := extra
		for i, c := range conds {
			if flags[i] != "" && c.facet != except {
				parts = append(parts, flags[i])
			}
		}
		if len(parts) == 0 {
			return ""
		}
		return " WHERE " + strings.Join(parts, " AND ")
	}
	all := matched("")

	var order string
	switch {
	case q.Sort == SortPriceAsc:
		order = "price ASC NULLS LAST, created_at DESC, product_id DESC"
	case q.Sort == SortPriceDesc:
		order = "price DESC NULLS LAST, created_at DESC, product_id DESC"
	case q.Sort == SortRelevance && len(words) > 0:
		order = "score DESC, created_at DESC, product_id DESC"
	default:
		order = "created_at DESC, product_id DESC"
	}
	// n numbers the hits: UNION ALL promises no order, the numbers do.
	sb.WriteString("SELECT * FROM (SELECT -1 AS kind, product_id::text AS value, ''::text AS label, row_number() OVER (ORDER BY " + order + ") AS n, score FROM m")
	sb.WriteString(all + " ORDER BY " + order + " LIMIT " + b.arg(q.Limit) + " OFFSET " + b.arg(q.Offset) + ") hits\n")
	sb.WriteString("UNION ALL SELECT -2, '', '', count(*), 0 FROM m" + all + "\n")
	// Set-returning functions go in the select list (a ProjectSet), not in
	// a LATERAL join, which would start a function scan per document.
	// Option facets whose counts see the same filters share one pass over
	// the options, and their rows name their facet by the option name.
	var optionGroups []string            // WHERE clauses, in first-seen order
	optionNames := map[string][]string{} // WHERE clause → option names
	for i, fc := range q.Facets {
		k := strconv.Itoa(i)
		switch name, isOption := fc.Option(); {
		case fc == FacetBrand:
			sb.WriteString("UNION ALL SELECT " + k + ", brand, brand, count(*), 0 FROM m" + matched(fc, "brand <> ''") + " GROUP BY brand\n")
		case fc == FacetCategory:
			sb.WriteString("UNION ALL SELECT " + k + ", id::text, name, count(*), 0 FROM (SELECT unnest(category_ids) AS id, unnest(category_names) AS name FROM m" + matched(fc) + ") c GROUP BY id, name\n")
		case fc == FacetStore:
			sb.WriteString("UNION ALL SELECT " + k + ", s::text, '', count(*), 0 FROM (SELECT unnest(store_ids) AS s FROM m" + matched(fc) + ") s GROUP BY s\n")
		case fc == FacetPrice:
			var bounds []int64
			for _, pb := range PriceBuckets(q.Currency) {
				bounds = append(bounds, pb.Min)
			}
			sb.WriteString("UNION ALL SELECT " + k + ", width_bucket(price, " + b.arg(bounds) + "::bigint[])::text, '', count(*), 0 FROM m" + matched(fc, "price IS NOT NULL") + " GROUP BY 2\n")
		case isOption:
			w := matched(fc)
			if optionNames[w] == nil {
				optionGroups = append(optionGroups, w)
			}
			optionNames[w] = append(optionNames[w], name)
		}
	}
	for _, w := range optionGroups {
		sb.WriteString("UNION ALL SELECT " + strconv.Itoa(rowOption) + ", o, '', count(*), 0 FROM (SELECT unnest(options) AS o FROM m" + w + ") o WHERE split_part(o, '=', 1) = ANY(" + b.arg(optionNames[w]) + "::text[]) GROUP BY o\n")
	}
	return sb.String(), b.args
}
