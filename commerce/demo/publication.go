package demo

import (
	"math/rand/v2"
	"slices"

	"github.com/omnicanal/omnicanal/commerce"
)

// Publication facts that tests and docs may rely on. Most active products are
// published on every channel; these are not, so that a reader that forgets
// product_publications shows the wrong products. Like the other facts, the
// named products are pinned by hand (see publish); the rest of each group is
// drawn from a fixed seed.
const (
	// HandleWebExclusive is an active web exclusive: published on the web
	// and mobile channels of both regions, on no kiosk and no till.
	HandleWebExclusive = "basket-montante-aurore"
	// HandleNotOnKiosk is an active product sold on the web, on mobile and
	// at the tills, but not shown on any kiosk.
	HandleNotOnKiosk = "sac-a-dos-cedre"
	// HandleCanadaOnly is an active product published on the Canadian
	// channels only: pk_demo_web_ca, pk_demo_mobile_ca and the Montréal
	// kiosk and till.
	HandleCanadaOnly = "parka-ecume"
)

// Sizes of the publication groups, the pinned product included. Canada-only
// products are not drawn but follow a rule (see publish).
const (
	webExclusives = 10
	notOnKiosks   = 8
)

// seedPublication seeds the draw of the web exclusives and of the products
// kept off kiosks: its own stream, so that the draw never moves the rest.
const seedPublication = 0x5075_626c_6963 // "Public"

// Channel groups, as publishable keys in Channels order.
var (
	webAndMobile = []string{KeyWebEU, KeyMobileEU, KeyWebCA, KeyMobileCA}
	canadian     = []string{KeyWebCA, KeyMobileCA, KeyKioskMontreal, KeyPOSMontreal}
)

// publish sets the channels of every product:
//   - a draft is published nowhere: it has not been launched;
//   - an archived product keeps the channels it was sold on (all of them),
//     so that only its status keeps it out of the shop;
//   - Laurentide, the Québec brand, keeps its winter range (parkas,
//     light down jackets, winter boots) for the Canadian channels;
//   - a few web exclusives are published on web and mobile only;
//   - a few products are kept off the kiosks, which show a shorter range;
//   - every other active product, the hand-written ones included, is
//     published everywhere.
func publish(products []Product, specs []spec, channels []Channel) {
	var all, notKiosk []string
	for _, c := range channels {
		all = append(all, c.Key)
		if c.Kind != "kiosk" {
			notKiosk = append(notKiosk, c.Key)
		}
	}
	winter := []string{"Parka", "Doudoune légère", "Botte d'hiver"}

	group := make([][]string, len(products)) // nil: every channel
	var candidates []int                     // may be drawn into a group
	for i := range products {
		p, s := &products[i], &specs[i]
		switch {
		case p.Status == "draft":
			group[i] = []string{}
		case p.Status != "active" || s.featured:
		case p.Handle == HandleCanadaOnly ||
			s.brand == "Laurentide" && slices.Contains(winter, s.kind.title):
			group[i] = canadian
		case p.Handle == HandleWebExclusive:
			group[i] = webAndMobile
		case p.Handle == HandleNotOnKiosk:
			group[i] = notKiosk
		default:
			candidates = append(candidates, i)
		}
	}
	rng := rand.New(rand.NewPCG(seedPublication, 4))
	order := rng.Perm(len(candidates))
	draw := func(n int, keys []string) {
		for range n - 1 { // the pinned product is the n-th
			group[candidates[order[0]]] = keys
			order = order[1:]
		}
	}
	draw(webExclusives, webAndMobile)
	draw(notOnKiosks, notKiosk)

	for i := range products {
		keys := group[i]
		if keys == nil {
			keys = all
		}
		products[i].Channels = slices.Clone(keys)
	}
}

// PublishedOn reports whether the product is published on the channel with
// the given publishable key.
func (p *Product) PublishedOn(key string) bool { return slices.Contains(p.Channels, key) }

// StockedVariants returns up to n variants of active products sold on every
// demo channel, each with at least min units across all locations: what
// cart tests and load runs need to add without running out of stock.
func StockedVariants(n, min int) []commerce.ID {
	d := Generate()
	online := map[commerce.ID]int{}
	for _, s := range d.Stock {
		online[s.VariantID] += s.OnHand
	}
	var out []commerce.ID
	for _, p := range d.Products {
		if p.Status != "active" || len(p.Channels) != len(d.Channels) {
			continue
		}
		for _, v := range p.Variants {
			if online[v.ID] >= min && len(out) < n {
				out = append(out, v.ID)
			}
		}
	}
	return out
}
