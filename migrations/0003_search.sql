-- The search index of the Postgres search engine (package search): one row
-- per product, a projection of the catalog the indexer pushes. Nothing here
-- references the catalog tables: the index may lag behind them, and it is
-- rebuilt from scratch by `omnicanal reindex`.
--
-- unaccent() is only STABLE (its dictionary can change), so it cannot appear
-- in an index expression. Rather than wrap it in a function that claims to
-- be IMMUTABLE, the engine computes search_vector with unaccent() in the
-- INSERT itself and stores it; the index covers a plain column, and a
-- changed dictionary is picked up by a reindex instead of silently leaving
-- index entries that no longer match what queries compute.
CREATE TABLE search_documents (
    product_id     uuid PRIMARY KEY,
    -- The product's version when this row was written. Upserts only ever
    -- replace a row with a newer version.
    version        bigint NOT NULL,
    handle         text NOT NULL,
    title          text NOT NULL,
    description    text NOT NULL,
    brand          text NOT NULL,
    product_type   text NOT NULL,
    -- The product's categories and their ancestors, as parallel arrays so a
    -- facet can unnest ids and names together.
    category_ids   uuid[] NOT NULL,
    category_names text[] NOT NULL,
    collection_ids uuid[] NOT NULL,
    -- Option values as 'name=value' ("Taille=42", "Couleur=Noir").
    options        text[] NOT NULL,
    -- Lowest and highest variant price per currency, in minor units:
    -- {"EUR": {"min": 12999, "max": 14999}}.
    prices         jsonb NOT NULL,
    -- Stores holding stock of at least one variant.
    store_ids      uuid[] NOT NULL,
    -- Channels the product is published on. Delete empties it, which hides
    -- the row from every search while keeping its version.
    channel_ids    uuid[] NOT NULL,
    created_at     timestamptz NOT NULL,
    -- French and English stems of the unaccented title (weight A), brand,
    -- product type and category names (B) and description (C).
    search_vector  tsvector NOT NULL,
    indexed_at     timestamptz NOT NULL DEFAULT now(),
    deleted_at     timestamptz
);

-- The tsvector index serves text searches, the channel index listings
-- without text; the other filters are mostly checked on the rows those
-- find, but their indexes let the planner narrow a large catalog.
CREATE INDEX search_documents_vector_idx ON search_documents USING gin (search_vector);
CREATE INDEX search_documents_channel_ids_idx ON search_documents USING gin (channel_ids);
CREATE INDEX search_documents_category_ids_idx ON search_documents USING gin (category_ids);
CREATE INDEX search_documents_collection_ids_idx ON search_documents USING gin (collection_ids);
CREATE INDEX search_documents_options_idx ON search_documents USING gin (options);
CREATE INDEX search_documents_store_ids_idx ON search_documents USING gin (store_ids);

-- The lexicon: every word (unaccented, lower-case) of the indexed titles,
-- brands, product types and category names. A query word that is not in it
-- is a typo or a prefix; its closest words by trigram similarity join the
-- full-text query as alternatives ("chausures" → "chaussure"), the approach
-- the pg_trgm documentation recommends for spelling suggestions. Typos are
-- corrected per word, so they also work inside longer queries. Words are
-- only added, never removed, except by a reset: a stale word merely widens
-- a query to a word no document has.
CREATE TABLE search_words (
    word text PRIMARY KEY
);
CREATE INDEX search_words_trgm_idx ON search_words USING gin (word gin_trgm_ops);

-- search_tsquery turns the words of a query (lower-case letters and digits,
-- as package search cuts them) into the tsquery a document must match:
-- every word, through the French or the English stemmer, unaccented, or
-- one of its synonyms (synonyms[i]: space-separated synonyms of words[i],
-- chosen by package search). A word of three letters or more that the
-- lexicon lacks also accepts its three closest lexicon words at least 0.4
-- similar by trigrams: that takes a missing, doubled or wrong letter in
-- words of five letters or more ("chausures" is 0.54 similar to
-- "chaussure") and rejects unrelated words. The last word also matches as
-- a prefix, for search as you type. NULL when no word is left.
--
-- PL/pgSQL rather than SQL in the search statement: its queries are
-- prepared once per session, and the search statement stays simple enough
-- for Postgres to reuse one generic plan for it.
CREATE FUNCTION search_tsquery(words text[], synonyms text[]) RETURNS tsquery
LANGUAGE plpgsql STABLE PARALLEL SAFE AS $$
DECLARE
    n     int := coalesce(array_length(words, 1), 0);
    w     text;
    alts  text;
    parts text[] := '{}';
    s     text;
BEGIN
    FOR i IN 1 .. n LOOP
        -- unaccent() maps letters to letters, but drop tsquery syntax it
        -- could still produce (an apostrophe) so no input breaks to_tsquery.
        w := translate(lower(unaccent(words[i])), $t$'&|!():*<>\ $t$, '');
        CONTINUE WHEN w = '';
        alts := w;
        IF i = n AND length(w) >= 3 THEN
            alts := alts || ':*';
        END IF;
        s := btrim(translate(lower(unaccent(coalesce(synonyms[i], ''))), $t$'&|!():*<>\$t$, ''));
        IF s <> '' THEN
            alts := alts || ' | ' || regexp_replace(s, '\s+', ' | ', 'g');
        END IF;
        IF length(w) >= 3 AND NOT EXISTS (SELECT FROM search_words WHERE word = w) THEN
            SELECT alts || coalesce(' | ' || string_agg(c.word, ' | '), '') INTO alts
            FROM (SELECT sw.word FROM (
                      SELECT word, similarity(word, w) AS sim FROM search_words WHERE word % w) sw
                  WHERE sw.sim >= 0.4
                  ORDER BY sw.sim DESC, sw.word
                  LIMIT 3) c;
        END IF;
        parts := parts || ('(' || alts || ')');
    END LOOP;
    IF cardinality(parts) = 0 THEN
        RETURN NULL;
    END IF;
    s := array_to_string(parts, ' & ');
    RETURN to_tsquery('french', s) || to_tsquery('english', s);
END
$$;
