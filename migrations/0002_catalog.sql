-- The full catalog: option definitions, free attributes, variant weight,
-- categories (a tree), collections, media and per-channel publication, plus
-- a version counter that search indexing uses to order changes.

ALTER TABLE products
    -- Free attributes shown on a product page, e.g. {"Matière": "Cuir"}.
    ADD COLUMN attributes jsonb NOT NULL DEFAULT '{}',
    -- Incremented by every change of the product or of anything that shows
    -- in its search document (variants, prices, stock, publication), so an
    -- indexer can refuse to replace a newer document with an older one.
    ADD COLUMN version bigint NOT NULL DEFAULT 1,
    ADD CONSTRAINT products_attributes_check CHECK (jsonb_typeof(attributes) = 'object');

ALTER TABLE variants
    ADD COLUMN weight_grams integer,
    ADD CONSTRAINT variants_weight_grams_check CHECK (weight_grams IS NULL OR weight_grams >= 0);

-- The options a product comes in and their values, in display order
-- ("Couleur": Noir, Blanc; "Taille": 40, 41, 42).
CREATE TABLE product_options (
    product_id uuid NOT NULL REFERENCES products (id) ON DELETE CASCADE,
    position   integer NOT NULL,
    name       text NOT NULL,
    "values"   text[] NOT NULL DEFAULT '{}',
    PRIMARY KEY (product_id, position),
    CONSTRAINT product_options_name_key UNIQUE (product_id, name)
);

-- Categories form a tree (Chaussures > Chaussures de course).
CREATE TABLE categories (
    id         uuid PRIMARY KEY,
    parent_id  uuid REFERENCES categories (id),
    handle     text NOT NULL,
    name       text NOT NULL,
    position   integer NOT NULL DEFAULT 0,
    created_at timestamptz NOT NULL DEFAULT now(),
    updated_at timestamptz NOT NULL DEFAULT now(),
    CONSTRAINT categories_handle_key UNIQUE (handle),
    CONSTRAINT categories_handle_check CHECK (handle ~ '^[a-z0-9]+(-[a-z0-9]+)*$'),
    CONSTRAINT categories_parent_check CHECK (parent_id IS DISTINCT FROM id)
);
CREATE INDEX categories_parent_id_idx ON categories (parent_id);

CREATE TABLE product_categories (
    product_id  uuid NOT NULL REFERENCES products (id) ON DELETE CASCADE,
    category_id uuid NOT NULL REFERENCES categories (id) ON DELETE CASCADE,
    PRIMARY KEY (product_id, category_id)
);
CREATE INDEX product_categories_category_id_idx ON product_categories (category_id, product_id);

-- Collections are hand-picked, ordered selections ("Nouveautés", "Running").
CREATE TABLE collections (
    id          uuid PRIMARY KEY,
    handle      text NOT NULL,
    title       text NOT NULL,
    description text NOT NULL DEFAULT '',
    created_at  timestamptz NOT NULL DEFAULT now(),
    updated_at  timestamptz NOT NULL DEFAULT now(),
    CONSTRAINT collections_handle_key UNIQUE (handle),
    CONSTRAINT collections_handle_check CHECK (handle ~ '^[a-z0-9]+(-[a-z0-9]+)*$')
);

CREATE TABLE collection_products (
    collection_id uuid NOT NULL REFERENCES collections (id) ON DELETE CASCADE,
    product_id    uuid NOT NULL REFERENCES products (id) ON DELETE CASCADE,
    position      integer NOT NULL DEFAULT 0,
    PRIMARY KEY (collection_id, product_id)
);
CREATE INDEX collection_products_product_id_idx ON collection_products (product_id);

CREATE TABLE product_media (
    id         uuid PRIMARY KEY,
    product_id uuid NOT NULL REFERENCES products (id) ON DELETE CASCADE,
    position   integer NOT NULL DEFAULT 0,
    url        text NOT NULL,
    alt        text NOT NULL DEFAULT '',
    CONSTRAINT product_media_url_check CHECK (url ~ '^https?://'),
    CONSTRAINT product_media_position_key UNIQUE (product_id, position)
);

-- Per-channel publication: a product is sold on a channel only when a row
-- says so. Every public read joins this table.
CREATE TABLE product_publications (
    product_id   uuid NOT NULL REFERENCES products (id) ON DELETE CASCADE,
    channel_id   uuid NOT NULL REFERENCES channels (id) ON DELETE CASCADE,
    published_at timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (product_id, channel_id)
);
CREATE INDEX product_publications_channel_id_idx ON product_publications (channel_id, product_id);

-- Databases made before publication existed sold everything everywhere;
-- keep that true for them.
INSERT INTO product_publications (product_id, channel_id)
SELECT p.id, c.id FROM products p CROSS JOIN channels c;

-- Listing sorts.
CREATE INDEX products_title_idx ON products (title, id) WHERE status = 'active';
CREATE INDEX products_created_at_idx ON products (created_at DESC, id) WHERE status = 'active';
CREATE INDEX variant_prices_currency_idx ON variant_prices (currency_code, variant_id, amount);
