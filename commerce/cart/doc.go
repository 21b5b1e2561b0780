// Package cart is the shared cart: one cart that a shopper fills on the
// phone, resumes on a laptop and finishes at a store kiosk or at the till,
// every device seeing the same lines, prices and offers at the same moment.
//
// # Access
//
// A cart is reached by one of:
//
//   - a secret token ("gt_" and 256 random bits, base64url), shown once by
//     CreateCart and stored only as its SHA-256. A cart may have several
//     tokens (see CreateCart, Resume and IssueToken); any of them works
//     until it expires. Attaching a cart to a customer, or merging it into
//     theirs, revokes its tokens: from then on the owner reaches it by
//     signing in, and a device that still sends one is told so;
//   - its owner, the signed-in customer of the request (commerce.CustomerFrom);
//   - a staff user assisting a shopper at a kiosk or a till: the request's
//     channel is a kiosk or POS channel standing in a store, and the staff
//     principal works in that store (commerce.Principal.InLocation).
//
// Anything else is NOT_FOUND, exactly as for a cart that does not exist,
// so that ids cannot be probed. Tokens are compared by hash in SQL and never
// logged: errors never include them.
//
// # Concurrency
//
// Carts are edited by several devices at once. Every exported method is one
// transaction (adds excepted, below), and every change bumps carts.version
// with a single UPDATE … RETURNING that also checks access, the status and
// the optional compare-and-set version (ifVersion, a CONFLICT when the cart
// moved), before it touches any line. That row lock orders all writers of
// one cart, so they never deadlock. Lines change with atomic SQL, never
// read-modify-write: adding a variant already in the cart is INSERT … ON
// CONFLICT (cart_id, variant_id) DO UPDATE SET quantity = quantity + added,
// so 100 concurrent adds of one unit give exactly 100 units on one line.
// Checks that concern a line's current quantity (stock) are evaluated by
// Postgres on the latest row version, in the statement that changes it.
// The one change that does not come from here, a variant deleted from the
// catalog (its lines cascade), bumps the version of the carts it leaves
// through a trigger (migration 0019), so it too reaches ifVersion and the
// devices watching.
//
// A cartLinesAdd is one statement (addSQL: the checks, the bump and the
// line upserts, all or nothing) followed, still under the cart's lock, by
// the read of the changed cart, sent in one round trip as one implicit
// transaction, without BEGIN or COMMIT (pipelinedTx), on connections of
// their own whose sessions carry the statements' plan settings when the
// caller gives an add pool (NewAddPool, as the server does). Adds to
// different carts that arrive together share that transaction, statement
// and round trip (combine.go): each keeps its own outcome, and a group
// that fails (or waits more than 50 ms for a lock) is run add by add.
//
// Every mutation returns the fresh cart, read after its change (in its
// transaction for cartLinesAdd, after commit for the others) and priced
// after commit. When
// a mutation is refused for a reason the client can act on (INVALID_INPUT,
// CONFLICT, OUT_OF_STOCK, a NOT_FOUND line), nothing is written and the cart
// is returned as it is now, with the error.
//
// A change to a cart that some device watches notifies the Postgres
// channel "cart" with the cart id (a trigger on carts.version, delivered at
// commit; live_watches lists the watched carts), for live views on every
// server instance: Watch, fed by one Hub per process (live.go).
//
// # Resuming elsewhere
//
// A cart opens on another device or channel by a handoff code
// (CreateHandoff, Resume: 8 characters, 15 minutes, single use,
// rate-limited against guessing; handoff.go has the odds), or by signing
// in: a customer has one active cart (FindCustomerCart). A guest cart given
// to a customer who already has one is merged into it (SetBuyerIdentity;
// merge.go has the rule and why it loses nothing under concurrent edits).
//
// # Stock
//
// A line may not be added or raised beyond what is available: at the cart's
// pickup store when one is chosen, otherwise online, which is every
// location's stock (warehouses ship, and stores ship from their shelves
// too). Lowering a line is always allowed, even when stock has fallen below
// it. Choosing a pickup store checks every line against that store's stock.
// A refusal is an OUT_OF_STOCK [StockError] listing the nearest stores that
// have the quantity: nearest to the pickup store, or to the store the
// channel stands in (kiosk, till); without either, by name. Nothing is
// reserved: checkout does that.
//
// A variant can only be added (or raised) through a channel that sells it
// (its product is active and published there) when it has a price in the
// cart's currency. Lines already in the cart stay when a channel that does
// not sell them opens it: the cart is the shopper's, not the channel's.
//
// # Pricing
//
// Cart totals are never stored. Every read prices the cart with
// [pricing.Price] from current catalogue prices in the cart's currency and
// the offers active now ([Offers]), for the request's channel kind, the
// cart's customer and its discount codes. A line matches an offer's
// categories through its product's categories and all their ancestors (an
// offer on "Chaussures" covers running shoes), and its collections. A line
// whose variant lost its price in the cart's currency is shown without a
// cost and left out of the totals; checkout refuses it.
//
// Prices come from the database at every read. The catalog side of a line
// (variant, product, categories with their ancestors, collections, the
// channel that added it) comes from a per-process cache, purged at every
// catalog change by [Service.PurgeCatalog] and bounded by a TTL
// ([DefaultCatalogTTL], [WithCatalogTTL]): see catalog.go.
//
// Limits: a cart holds at most [MaxLines] lines (checked against the lines
// the change's statement sees, so a burst of concurrent adds of new
// variants may overshoot it by a few; the pricing engine's own limit is far
// above), and a line at most [MaxQuantity] units.
package cart
