package demo

import (
	"fmt"
	"math/rand/v2"

	"github.com/omnicanal/omnicanal/commerce"
)

// Facts of the catalog that tests and docs may rely on. They are fixed by
// hand (see featured and stockOverrides) rather than left to the random
// generator, so that changing the generator cannot take them away.
const (
	// HandleRunningShoe is an active running shoe sold in sizes 36–46.
	HandleRunningShoe = "chaussure-de-course-elan"
	// SKUInLyonNotParis is a variant of HandleRunningShoe that Lyon has on
	// the shelf and Paris does not: the "not in this store, but in Lyon" case.
	SKUInLyonNotParis = "MS-000001-NOI-42"
	// SKUSoldOut is a variant of HandleRunningShoe with no stock anywhere.
	SKUSoldOut = "MS-000001-BLA-38"
	// HandleRainJacket is an active rain jacket sold in sizes XS–XXL.
	HandleRainJacket = "veste-impermeable-boreal"
	// SKUWarehouseOnly is a variant of HandleRainJacket that no store holds
	// but both warehouses do.
	SKUWarehouseOnly = "MS-000002-MAR-M"
	// HandleOnSale is an active product on sale in both currencies:
	// 59.99 EUR instead of 89.00, 85.99 CAD instead of 129.00.
	HandleOnSale = "pull-en-laine-merinos-neve"
	// HandleDraft is a draft product: stock in the warehouses, not yet sold.
	HandleDraft = "basket-en-cuir-rivage"
	// HandleArchived is an archived product: no longer sold.
	HandleArchived = "botte-de-randonnee-serac"
)

// Product is one demo product, as stored in the products table, with its variants.
type Product struct {
	ID          commerce.ID
	Handle      string
	Title       string
	Description string
	Brand       string
	ProductType string // e.g. "Baskets"; Category files it in the tree
	Status      string // "active", "draft" or "archived"
	// Category is the handle of the leaf category the product belongs to.
	Category string
	// Attributes are shown on the product page (AttrMaterial, AttrCare…).
	Attributes map[string]string
	Options    []ProductOption // Couleur, then Taille
	Media      []Media
	// Channels are the publishable keys of the channels the product is
	// published on, in the order Channels lists them.
	Channels []string
	Variants []Variant
}

// Variant is one demo variant: one colour in one size.
type Variant struct {
	ID        commerce.ID
	ProductID commerce.ID
	SKU       string
	Barcode   string // EAN-13
	Title     string // "Noir / 42"
	Options   []Option
	Position  int
	Prices    []Price // EUR, then CAD
	// WeightGrams is the shipping weight: the pair, for footwear.
	WeightGrams int
}

// Option is one option value of a variant. A variant has two, in display
// order: Couleur, then Taille.
type Option struct {
	Name  string `json:"name"`
	Value string `json:"value"`
}

// Price is a variant's price in one currency, in minor units.
type Price struct {
	Currency commerce.Currency
	Amount   int64
	// CompareAtAmount is the former price shown struck through; 0 when the
	// variant is not on sale.
	CompareAtAmount int64
}

// seedCatalog and seedStock seed two separate generators, so that a change to
// the stock rules (or a new location) leaves the catalog as it was.
const (
	seedCatalog = 0x4d61_6973_6f6e // "Maison"
	seedStock   = 0x5374_6f63_6b   // "Stock"
)

// skuPrefix starts every demo SKU; the product number and the option codes follow.
const skuPrefix = "MS"

// gs1Prefix is an invented GS1 France company prefix (300–379 is France). The
// five digits after it number the variants, so barcodes are unique by
// construction for up to 100 000 variants.
const gs1Prefix = "3770015"

type colour struct {
	name string
	code string // in SKUs
}

var (
	noir       = colour{"Noir", "NOI"}
	blanc      = colour{"Blanc", "BLA"}
	marine     = colour{"Bleu marine", "MAR"}
	brique     = colour{"Rouge brique", "BRI"}
	foret      = colour{"Vert forêt", "FOR"}
	sable      = colour{"Beige sable", "SAB"}
	chine      = colour{"Gris chiné", "GRC"}
	camel      = colour{"Camel", "CAM"}
	kaki       = colour{"Kaki", "KAK"}
	bordeaux   = colour{"Bordeaux", "BDX"}
	ocre       = colour{"Ocre", "OCR"}
	ecru       = colour{"Écru", "ECR"}
	ciel       = colour{"Bleu ciel", "CIE"}
	anthracite = colour{"Anthracite", "ANT"}
	moutarde   = colour{"Moutarde", "MOU"}
)

// Size runs. A product is sold in one run of its category.
var (
	shoes36to46 = []string{"36", "37", "38", "39", "40", "41", "42", "43", "44", "45", "46"}
	shoes36to42 = []string{"36", "37", "38", "39", "40", "41", "42"}
	shoes39to46 = []string{"39", "40", "41", "42", "43", "44", "45", "46"}
	shoes38to45 = []string{"38", "39", "40", "41", "42", "43", "44", "45"}
	wearXStoXXL = []string{"XS", "S", "M", "L", "XL", "XXL"}
	wearXStoXL  = []string{"XS", "S", "M", "L", "XL"}
	wearStoXXL  = []string{"S", "M", "L", "XL", "XXL"}
	oneSize     = []string{"Taille unique"}

	// The full 36–46 run is kept for the featured running shoe; generated
	// footwear gets the shorter runs most models come in.
	footwear = [][]string{shoes36to42, shoes39to46, shoes38to45}
	apparel  = [][]string{wearXStoXXL, wearXStoXL, wearStoXXL}
)

// sizeCode is a size as it appears in a SKU.
func sizeCode(size string) string {
	if size == oneSize[0] {
		return "TU"
	}
	return size
}

// models are the model names that, after a kind of product, make its title:
// "Chaussure de course" + "Élan". They must stay distinct once accents are
// stripped, or two handles could collide.
var models = []string{
	"Élan", "Boréal", "Névé", "Sérac", "Écume", "Mistral", "Alizé", "Sirocco",
	"Aurore", "Givre", "Brume", "Rivage", "Falaise", "Estran", "Garrigue", "Causse",
	"Lichen", "Érable", "Cèdre", "Mélèze", "Bruyère", "Genêt", "Fougère", "Sauge",
	"Ardoise", "Granit", "Basalte", "Silex", "Torrent", "Cascade", "Clairière", "Sommet",
	"Crête", "Vallon", "Ubac", "Adret", "Hêtre", "Orée", "Lisière", "Noroît",
	"Séquoia", "Épicéa",
}

// kind is a kind of product within a category, e.g. a trail shoe.
type kind struct {
	title string // start of the product title
	desc  string // first sentence of the description
	// lo and hi bound the EUR price in whole euros; zero means the category's.
	lo, hi int
}

// category is a product type with what its products have in common.
type category struct {
	productType string
	count       int // generated products, besides the featured ones
	sizes       [][]string
	lo, hi      int // EUR price range in whole euros
	brands      []string
	palette     []colour
	kinds       []kind
	details     []string // optional second sentences of descriptions
}

var (
	running = &category{
		productType: "Chaussures de course", count: 29, sizes: footwear, lo: 90, hi: 170,
		brands:  []string{"Pas Léger", "Nordet", "Maison Sentier"},
		palette: []colour{noir, blanc, marine, brique, anthracite, ciel, foret},
		kinds: []kind{
			{title: "Chaussure de course", desc: "Une chaussure de course légère et réactive pour les sorties quotidiennes sur route."},
			{title: "Chaussure de trail", desc: "Une chaussure de trail accrocheuse qui garde le pied stable sur les sentiers caillouteux."},
			{title: "Chaussure de compétition", desc: "Une chaussure de compétition à plaque dynamique, taillée pour battre vos records.", lo: 140, hi: 200},
		},
		details: []string{
			"Semelle extérieure en caoutchouc recyclé.",
			"Drop de 8 mm et mousse amortissante à retour d'énergie.",
			"Tige en mesh respirant et languette rembourrée.",
			"Laçage rapide et renfort au talon.",
		},
	}
	sneakers = &category{
		productType: "Baskets", count: 29, sizes: footwear, lo: 70, hi: 140,
		brands:  []string{"Maison Sentier", "Pas Léger", "Atelier Garance"},
		palette: []colour{blanc, noir, marine, sable, foret, bordeaux, ecru},
		kinds: []kind{
			{title: "Basket en cuir", desc: "Une basket intemporelle en cuir pleine fleur, à porter tous les jours."},
			{title: "Basket en toile", desc: "Une basket légère en toile de coton, parfaite pour les beaux jours.", lo: 50, hi: 80},
			{title: "Basket montante", desc: "Une basket montante au maintien rassurant, inspirée des terrains de basket."},
			{title: "Basket en daim", desc: "Une basket souple en daim aux finitions surpiquées."},
		},
		details: []string{
			"Semelle en caoutchouc naturel.",
			"Fabriquée au Portugal.",
			"Doublure en cuir respirant.",
			"Semelle intérieure amovible en liège.",
		},
	}
	boots = &category{
		productType: "Bottes", count: 19, sizes: footwear, lo: 120, hi: 230,
		brands:  []string{"Nordet", "Laurentide", "Maison Sentier"},
		palette: []colour{noir, camel, marine, kaki, bordeaux, anthracite},
		kinds: []kind{
			{title: "Botte de randonnée", desc: "Une botte de randonnée imperméable qui tient la cheville sur les longues étapes."},
			{title: "Bottine Chelsea", desc: "Une bottine Chelsea en cuir, à enfiler grâce à ses élastiques latéraux."},
			{title: "Botte d'hiver", desc: "Une botte d'hiver doublée, pensée pour la neige et les trottoirs glacés de Montréal."},
			{title: "Botte de pluie", desc: "Une botte de pluie en caoutchouc naturel, légère et facile à enfiler.", lo: 50, hi: 90},
		},
		details: []string{
			"Membrane imperméable et respirante.",
			"Semelle crantée à forte adhérence.",
			"Tirette au talon pour l'enfiler facilement.",
			"Première de propreté en laine.",
		},
	}
	sandals = &category{
		productType: "Sandales", count: 10, sizes: footwear, lo: 40, hi: 90,
		brands:  []string{"Pas Léger", "Atelier Garance"},
		palette: []colour{noir, sable, camel, ecru, marine},
		kinds: []kind{
			{title: "Sandale de marche", desc: "Une sandale de marche aux sangles réglables, pour l'été en ville comme en montagne."},
			{title: "Espadrille en toile", desc: "Une espadrille en toile et corde de jute, fabriquée au Pays basque.", lo: 35, hi: 60},
		},
		details: []string{
			"Semelle moulée en liège.",
			"Sèche en quelques minutes.",
		},
	}
	jackets = &category{
		productType: "Vestes", count: 24, sizes: apparel, lo: 80, hi: 280,
		brands:  []string{"Maison Sentier", "Laurentide", "Cime & Vallée"},
		palette: []colour{noir, marine, foret, kaki, brique, sable, moutarde},
		kinds: []kind{
			{title: "Veste imperméable", desc: "Une veste imperméable et respirante qui se glisse dans un sac à dos."},
			{title: "Doudoune légère", desc: "Une doudoune légère garnie de duvet recyclé, compressible dans sa poche."},
			{title: "Parka", desc: "Une parka chaude et longue, taillée pour les hivers québécois.", lo: 220, hi: 380},
			{title: "Coupe-vent", desc: "Un coupe-vent ultraléger pour la course et le vélo par temps changeant.", lo: 60, hi: 110},
			{title: "Veste polaire", desc: "Une veste polaire douce et chaude, en fibres issues de bouteilles recyclées.", lo: 60, hi: 120},
		},
		details: []string{
			"Capuche ajustable et coutures étanchées.",
			"Poches zippées pour les mains.",
			"Coupe ajustée, à porter sur un pull.",
			"Garantie deux ans par la marque.",
		},
	}
	sweaters = &category{
		productType: "Pulls", count: 24, sizes: apparel, lo: 50, hi: 130,
		brands:  []string{"Atelier Garance", "Maison Sentier", "Cime & Vallée"},
		palette: []colour{chine, marine, ecru, foret, bordeaux, camel, moutarde, noir},
		kinds: []kind{
			{title: "Pull en laine mérinos", desc: "Un pull fin en laine mérinos, doux, chaud et qui ne gratte pas."},
			{title: "Pull marin", desc: "Le pull marin breton, tricoté serré en pure laine, boutonné à l'épaule."},
			{title: "Sweat à capuche", desc: "Un sweat à capuche en molleton de coton bio, à la coupe décontractée.", lo: 50, hi: 80},
			{title: "Gilet zippé", desc: "Un gilet zippé en maille épaisse, facile à superposer."},
			{title: "Pull col roulé", desc: "Un pull col roulé en laine et cachemire pour les journées froides."},
		},
		details: []string{
			"Laine certifiée sans mulesing.",
			"Tricoté en France.",
			"Lavable en machine à 30 °C.",
			"Finitions côtelées aux poignets.",
		},
	}
	tshirts = &category{
		productType: "T-shirts", count: 28, sizes: apparel, lo: 20, hi: 40,
		brands:  []string{"Maison Sentier", "Atelier Garance", "Laurentide"},
		palette: []colour{blanc, noir, marine, chine, ecru, ciel, brique, foret},
		kinds: []kind{
			{title: "T-shirt en coton bio", desc: "Un t-shirt col rond en jersey de coton bio, épais et durable."},
			{title: "T-shirt à manches longues", desc: "Un t-shirt à manches longues en coton, à porter seul ou en sous-couche."},
			{title: "T-shirt technique", desc: "Un t-shirt technique léger qui évacue la transpiration pendant l'effort."},
			{title: "Polo en piqué", desc: "Un polo en piqué de coton, col et bas de manches côtelés.", lo: 40, hi: 60},
			{title: "Débardeur", desc: "Un débardeur en coton fin pour les fortes chaleurs."},
		},
		details: []string{
			"Coton cultivé sans pesticides.",
			"Coupe droite, taille normalement.",
			"Sèche rapidement.",
		},
	}
	shirts = &category{
		productType: "Chemises", count: 15, sizes: apparel, lo: 50, hi: 90,
		brands:  []string{"Atelier Garance", "Maison Sentier"},
		palette: []colour{blanc, ciel, marine, ecru, foret, brique},
		kinds: []kind{
			{title: "Chemise en lin", desc: "Une chemise en lin lavé, légère et fraîche tout l'été."},
			{title: "Chemise en flanelle", desc: "Une chemise en flanelle brossée, chaude comme un pull."},
			{title: "Chemise Oxford", desc: "La chemise Oxford à col boutonné, aussi à l'aise au bureau qu'en week-end."},
		},
		details: []string{
			"Boutons en corozo.",
			"Tissée au Portugal.",
		},
	}
	jeans = &category{
		productType: "Jeans", count: 15, sizes: apparel, lo: 70, hi: 130,
		brands:  []string{"Atelier Garance", "Maison Sentier"},
		palette: []colour{marine, noir, ciel, anthracite},
		kinds: []kind{
			{title: "Jean droit", desc: "Un jean droit en denim brut, qui prend la forme de son porteur."},
			{title: "Jean slim", desc: "Un jean slim en denim stretch, confortable du matin au soir."},
			{title: "Jean brut selvedge", desc: "Un jean en denim selvedge tissé sur métier à navette."},
		},
		details: []string{
			"Rivets en cuivre et braguette à boutons.",
			"Denim de 13 onces.",
		},
	}
	trousers = &category{
		productType: "Pantalons", count: 15, sizes: apparel, lo: 40, hi: 100,
		brands:  []string{"Cime & Vallée", "Maison Sentier", "Laurentide"},
		palette: []colour{sable, marine, kaki, noir, anthracite},
		kinds: []kind{
			{title: "Pantalon chino", desc: "Un pantalon chino en sergé de coton, coupe fuselée."},
			{title: "Pantalon de randonnée", desc: "Un pantalon de randonnée déperlant et extensible, avec poches zippées."},
			{title: "Short de course", desc: "Un short de course léger avec slip intégré et poche pour les clés.", lo: 30, hi: 50},
		},
		details: []string{
			"Ceinture élastiquée à l'arrière.",
			"Tissu extensible dans les quatre sens.",
		},
	}
	accessories = &category{
		productType: "Accessoires", count: 27, sizes: [][]string{oneSize}, lo: 15, hi: 60,
		brands:  []string{"Maison Sentier", "Laurentide", "Cime & Vallée", "Pas Léger"},
		palette: []colour{noir, marine, chine, moutarde, foret, brique, camel},
		kinds: []kind{
			{title: "Chaussettes techniques", desc: "Des chaussettes techniques renforcées au talon et aux orteils.", lo: 10, hi: 20},
			{title: "Bonnet en laine", desc: "Un bonnet côtelé en laine, à revers.", lo: 20, hi: 45},
			{title: "Casquette", desc: "Une casquette à visière courbée, réglable à l'arrière.", lo: 20, hi: 40},
			{title: "Écharpe en laine", desc: "Une grande écharpe en laine d'agneau, tissée en Écosse.", lo: 40, hi: 80},
			{title: "Sac à dos", desc: "Un sac à dos de 20 litres avec poche pour ordinateur portable.", lo: 60, hi: 110},
			{title: "Ceinture en cuir", desc: "Une ceinture en cuir de vachette avec boucle en laiton.", lo: 35, hi: 70},
			{title: "Gants en polaire", desc: "Des gants en polaire compatibles avec les écrans tactiles.", lo: 20, hi: 40},
			{title: "Tote bag en toile", desc: "Un tote bag en toile épaisse pour les courses et la plage.", lo: 15, hi: 30},
		},
		details: []string{
			"Fabrication européenne.",
			"En matières recyclées.",
		},
	}

	// categories in catalog order.
	categories = []*category{running, sneakers, boots, sandals, jackets, sweaters, tshirts, shirts, jeans, trousers, accessories}
)

// spec says what one product is, before it gets numbers, ids and variants.
type spec struct {
	cat     *category
	kind    *kind
	model   string
	brand   string
	desc    string
	status  string
	colours []colour
	sizes   []string
	price   int64 // EUR minor units, before any sale
	salePct int   // percent off, 0 when not on sale
	// featured marks the hand-written products, which the fixed facts
	// describe.
	featured bool
}

func (s *spec) title() string { return s.kind.title + " " + s.model }

// featured are the hand-written products the constants above describe. They
// come first, so their SKUs carry the numbers 1 to 5.
func featured() []spec {
	return []spec{
		{
			cat: running, kind: &running.kinds[0], model: "Élan", brand: "Pas Léger",
			desc:   running.kinds[0].desc + " " + running.details[1],
			status: "active", colours: []colour{noir, blanc, marine}, sizes: shoes36to46, price: 12999,
		},
		{
			cat: jackets, kind: &jackets.kinds[0], model: "Boréal", brand: "Maison Sentier",
			desc:   jackets.kinds[0].desc + " " + jackets.details[0],
			status: "active", colours: []colour{marine, noir, foret}, sizes: wearXStoXXL, price: 18900,
		},
		{
			cat: sweaters, kind: &sweaters.kinds[0], model: "Névé", brand: "Atelier Garance",
			desc:   sweaters.kinds[0].desc + " " + sweaters.details[0],
			status: "active", colours: []colour{chine, marine, ecru}, sizes: wearXStoXXL, price: 8900, salePct: 33,
		},
		{
			cat: sneakers, kind: &sneakers.kinds[0], model: "Rivage", brand: "Maison Sentier",
			desc:   sneakers.kinds[0].desc + " " + sneakers.details[1],
			status: "draft", colours: []colour{blanc, marine}, sizes: shoes36to46, price: 11900,
		},
		{
			cat: boots, kind: &boots.kinds[0], model: "Sérac", brand: "Nordet",
			desc:   boots.kinds[0].desc,
			status: "archived", colours: []colour{camel, noir}, sizes: shoes38to45, price: 17999,
		},
	}
}

// generateProducts returns the featured products, then the generated ones,
// category by category, with the spec of each.
func generateProducts() ([]Product, []spec) {
	rng := rand.New(rand.NewPCG(seedCatalog, 1))
	specs := featured()
	for i := range specs {
		specs[i].featured = true
	}
	taken := make(map[string]bool) // titles already used; only looked up, never ranged over
	for _, s := range specs {
		taken[s.title()] = true
	}
	for _, c := range categories {
		// Each kind walks its own shuffle of the model names, so titles
		// within a kind are distinct without retries.
		order := make([][]int, len(c.kinds))
		next := make([]int, len(c.kinds))
		for k := range c.kinds {
			order[k] = rng.Perm(len(models))
		}
		for i := range c.count {
			k := i % len(c.kinds)
			s := spec{cat: c, kind: &c.kinds[k]}
			for {
				s.model = models[order[k][next[k]]]
				next[k]++
				if !taken[s.title()] {
					break
				}
			}
			taken[s.title()] = true
			s.brand = c.brands[rng.IntN(len(c.brands))]
			s.desc = s.kind.desc
			if rng.IntN(4) > 0 {
				s.desc += " " + c.details[rng.IntN(len(c.details))]
			}
			s.status = "active"
			switch r := rng.IntN(100); {
			case r < 3:
				s.status = "draft"
			case r < 6:
				s.status = "archived"
			}
			s.colours = pickColours(rng, c.palette)
			s.sizes = c.sizes[rng.IntN(len(c.sizes))]
			lo, hi := c.lo, c.hi
			if s.kind.lo != 0 {
				lo, hi = s.kind.lo, s.kind.hi
			}
			s.price = shelfPrice(rng, lo, hi)
			if rng.IntN(100) < 15 {
				s.salePct = []int{20, 30, 40, 50}[rng.IntN(4)]
			}
			specs = append(specs, s)
		}
	}

	products := make([]Product, len(specs))
	handles := make(map[string]bool)
	barcode := 0
	details := rand.New(rand.NewPCG(seedDetails, 3))
	for i, s := range specs {
		p := &products[i]
		p.Handle = uniqueHandle(handles, slug(s.title()))
		p.ID = ProductID(p.Handle)
		p.Title = s.title()
		p.Description = s.desc
		p.Brand = s.brand
		p.ProductType = s.cat.productType
		p.Status = s.status
		prices := pricesOf(s.price, s.salePct)
		for _, col := range s.colours {
			for _, size := range s.sizes {
				barcode++
				sku := fmt.Sprintf("%s-%06d-%s-%s", skuPrefix, i+1, col.code, sizeCode(size))
				p.Variants = append(p.Variants, Variant{
					ID:        VariantID(sku),
					ProductID: p.ID,
					SKU:       sku,
					Barcode:   ean13(fmt.Sprintf("%s%05d", gs1Prefix, barcode)),
					Title:     col.name + " / " + size,
					Options:   []Option{{Name: "Couleur", Value: col.name}, {Name: "Taille", Value: size}},
					Position:  len(p.Variants) + 1,
					Prices:    append([]Price(nil), prices...),
				})
			}
		}
		dress(p, &s, details)
	}
	return products, specs
}

// pickColours picks 2 to 4 distinct colours (2 or 3 mostly, as most shops
// stock), keeping the palette's order so that the classic colours, listed
// first, come first.
func pickColours(rng *rand.Rand, palette []colour) []colour {
	n := 2
	switch r := rng.IntN(100); {
	case r >= 85:
		n = 4
	case r >= 45:
		n = 3
	}
	chosen := rng.Perm(len(palette))[:n]
	picked := make([]bool, len(palette))
	for _, j := range chosen {
		picked[j] = true
	}
	var cs []colour
	for j, c := range palette {
		if picked[j] {
			cs = append(cs, c)
		}
	}
	return cs
}

// shelfPrice draws a price between lo and hi whole euros, as a shop would
// label it: in steps of 5 € above 60 €, ending in .99 or, for round
// figures only, sometimes .00 (45.00 €, 120.00 € but never 57.00 €).
func shelfPrice(rng *rand.Rand, lo, hi int) int64 {
	n := lo + rng.IntN(hi-lo+1)
	if n > 60 {
		n -= n % 5
	}
	if rng.IntN(10) < 7 || n%5 != 0 {
		return int64(n)*100 - 1
	}
	return int64(n) * 100
}

// pricesOf returns the EUR and CAD prices of a product priced eur (EUR minor
// units) and, when salePct > 0, on sale by that percentage in both currencies.
func pricesOf(eur int64, salePct int) []Price {
	cad := toCAD(eur)
	if salePct == 0 {
		return []Price{{Currency: "EUR", Amount: eur}, {Currency: "CAD", Amount: cad}}
	}
	off := func(p int64) int64 { return charm(p * int64(100-salePct) / 100) }
	return []Price{
		{Currency: "EUR", Amount: off(eur), CompareAtAmount: eur},
		{Currency: "CAD", Amount: off(cad), CompareAtAmount: cad},
	}
}

// toCAD converts EUR minor units at about 1.45 CAD per euro, rounded to the
// nearest dollar and keeping the .99 or .00 ending of the euro price, because
// Canadian shelf prices are set, not computed at today's rate.
func toCAD(eur int64) int64 {
	dollars := (eur*145 + 5000) / 10000
	if eur%100 == 99 {
		return dollars*100 - 1
	}
	return dollars * 100
}

// charm rounds minor units to the nearest whole unit minus one cent (x.99).
func charm(minor int64) int64 {
	return max((minor+50)/100*100-1, 99)
}

// ean13 appends the GS1 check digit to 12 digits.
func ean13(digits12 string) string {
	sum := 0
	for i, r := range digits12 {
		d := int(r - '0')
		if i%2 == 1 {
			d *= 3
		}
		sum += d
	}
	return digits12 + string(rune('0'+(10-sum%10)%10))
}

// slug makes a handle of a title: lowercase ASCII words joined by hyphens,
// with French accents stripped ("Veste imperméable Boréal" →
// "veste-impermeable-boreal").
func slug(title string) string {
	var b []byte
	hyphen := false
	for _, r := range title {
		s := fold(r)
		for i := 0; i < len(s); i++ {
			c := s[i]
			if c >= 'A' && c <= 'Z' {
				c += 'a' - 'A'
			}
			if c >= 'a' && c <= 'z' || c >= '0' && c <= '9' {
				if hyphen && len(b) > 0 {
					b = append(b, '-')
				}
				hyphen = false
				b = append(b, c)
			} else {
				hyphen = true
			}
		}
	}
	return string(b)
}

// fold spells a rune in ASCII: accented Latin letters lose their accent,
// ligatures are spelled out, anything else outside ASCII becomes a space.
// The table covers French; a title in another script would need more.
func fold(r rune) string {
	if r < 0x80 {
		return string(r)
	}
	switch r {
	case 'à', 'â', 'ä', 'á', 'À', 'Â', 'Ä', 'Á':
		return "a"
	case 'ç', 'Ç':
		return "c"
	case 'é', 'è', 'ê', 'ë', 'É', 'È', 'Ê', 'Ë':
		return "e"
	case 'î', 'ï', 'í', 'Î', 'Ï', 'Í':
		return "i"
	case 'ô', 'ö', 'ó', 'Ô', 'Ö', 'Ó':
		return "o"
	case 'ù', 'û', 'ü', 'ú', 'Ù', 'Û', 'Ü', 'Ú':
		return "u"
	case 'ÿ', 'Ÿ':
		return "y"
	case 'ñ', 'Ñ':
		return "n"
	case 'œ', 'Œ':
		return "oe"
	case 'æ', 'Æ':
		return "ae"
	}
	return " "
}

// uniqueHandle returns h, or h with the first free "-2", "-3"… suffix, and
// records it as taken.
func uniqueHandle(taken map[string]bool, h string) string {
	u := h
	for n := 2; taken[u]; n++ {
		u = fmt.Sprintf("%s-%d", h, n)
	}
	taken[u] = true
	return u
}
