package demo

import (
	"fmt"
	"math/rand/v2"
	"slices"
	"strings"

	"github.com/google/uuid"

	"github.com/omnicanal/omnicanal/commerce"
)

// ProductOption is one option a product comes in, with its values in display
// order, as stored in product_options: the values are those of the
// product's variants, in variant order.
type ProductOption struct {
	Name   string
	Values []string
}

// Media is one product image, as stored in product_media.
type Media struct {
	ID       commerce.ID
	Position int // from 1
	URL      string
	Alt      string
}

// MediaID is the id of the demo image at position (from 1) of the product
// with the given handle.
func MediaID(handle string, position int) commerce.ID {
	return uuid.NewSHA1(namespace, fmt.Appendf(nil, "media:%s/%d", handle, position))
}

// mediaBase is where demo images would be served from. The .example TLD is
// reserved (RFC 2606), so the URLs can never point at someone's real images.
const mediaBase = "https://images.maison-sentier.example/products/"

// Names of the attributes every product has (AttrActivity only when it is
// made for a sport), and the values two collections select on.
const (
	AttrMaterial    = "Matière"
	AttrCare        = "Entretien"
	AttrMadeIn      = "Fabrication"
	AttrActivity    = "Activité"
	MadeInFrance    = "France"        // the AttrMadeIn value of CollectionMadeInFrance's products
	ActivityRunning = "Course à pied" // the AttrActivity value of CollectionRunning's products
)

// seedDetails seeds the generator of weights, image counts and countries of
// manufacture: a third stream, so that none of it moves the catalog or the
// stock that the other two generate.
const seedDetails = 0x4465_7461_696c // "Detail"

// kindDetail is what every product of a kind shares besides its title.
type kindDetail struct {
	material string
	care     string
	// grams bounds the weight of the reference size (41 or M) of what
	// ships: the pair for footwear.
	grams [2]int
	// activity is the sport the product is made for, if any.
	activity string
	// madeIn is the country of manufacture when the kind implies it (a
	// Breton sweater); otherwise the brand's sourcing decides.
	madeIn string
}

// kindDetails by kind title. Looked up, never ranged over.
var kindDetails = map[string]kindDetail{
	"Chaussure de course":       {material: "Mesh recyclé", care: "Lavage à la main, séchage à l'air libre", grams: [2]int{500, 600}, activity: ActivityRunning},
	"Chaussure de trail":        {material: "Mesh renforcé", care: "Lavage à la main, séchage à l'air libre", grams: [2]int{580, 680}, activity: ActivityRunning},
	"Chaussure de compétition":  {material: "Mesh technique", care: "Lavage à la main, séchage à l'air libre", grams: [2]int{380, 460}, activity: ActivityRunning},
	"Basket en cuir":            {material: "Cuir pleine fleur", care: "Nettoyer avec un chiffon humide", grams: [2]int{850, 1000}},
	"Basket en toile":           {material: "Toile de coton", care: "Lavage à la main", grams: [2]int{550, 700}},
	"Basket montante":           {material: "Cuir", care: "Nettoyer avec un chiffon humide", grams: [2]int{900, 1100}},
	"Basket en daim":            {material: "Daim", care: "Brosser à sec, imperméabiliser", grams: [2]int{750, 900}},
	"Botte de randonnée":        {material: "Cuir nubuck", care: "Brosser, nourrir le cuir régulièrement", grams: [2]int{1200, 1500}, activity: "Randonnée"},
	"Bottine Chelsea":           {material: "Cuir", care: "Cirer régulièrement", grams: [2]int{1000, 1200}},
	"Botte d'hiver":             {material: "Cuir et textile", care: "Brosser, imperméabiliser", grams: [2]int{1300, 1700}},
	"Botte de pluie":            {material: "Caoutchouc naturel", care: "Rincer à l'eau claire", grams: [2]int{1100, 1400}},
	"Sandale de marche":         {material: "Polyester recyclé et liège", care: "Nettoyer avec un chiffon humide", grams: [2]int{450, 650}, activity: "Randonnée"},
	"Espadrille en toile":       {material: "Toile de coton et jute", care: "Nettoyer avec un chiffon humide", grams: [2]int{350, 500}, madeIn: MadeInFrance},
	"Veste imperméable":         {material: "Polyamide recyclé", care: "Lavage 30°", grams: [2]int{400, 550}, activity: "Randonnée"},
	"Doudoune légère":           {material: "Polyamide et duvet recyclé", care: "Lavage 30°, séchage en tambour", grams: [2]int{250, 400}},
	"Parka":                     {material: "Polyester et duvet recyclé", care: "Nettoyage à sec", grams: [2]int{1100, 1600}},
	"Coupe-vent":                {material: "Polyamide ripstop", care: "Lavage 30°", grams: [2]int{90, 180}, activity: ActivityRunning},
	"Veste polaire":             {material: "Polaire recyclée", care: "Lavage 30°", grams: [2]int{350, 500}},
	"Pull en laine mérinos":     {material: "100 % laine mérinos", care: "Lavage à la main", grams: [2]int{250, 330}},
	"Pull marin":                {material: "100 % laine", care: "Lavage à la main", grams: [2]int{600, 750}, madeIn: MadeInFrance},
	"Sweat à capuche":           {material: "Coton bio", care: "Lavage 30°", grams: [2]int{450, 600}},
	"Gilet zippé":               {material: "Laine et coton", care: "Lavage à la main", grams: [2]int{500, 650}},
	"Pull col roulé":            {material: "Laine et cachemire", care: "Lavage à la main", grams: [2]int{350, 450}},
	"T-shirt en coton bio":      {material: "100 % coton bio", care: "Lavage 30°", grams: [2]int{170, 220}},
	"T-shirt à manches longues": {material: "Coton", care: "Lavage 30°", grams: [2]int{200, 260}},
	"T-shirt technique":         {material: "Polyester recyclé", care: "Lavage 30°", grams: [2]int{110, 150}, activity: ActivityRunning},
	"Polo en piqué":             {material: "Piqué de coton", care: "Lavage 30°", grams: [2]int{220, 280}},
	"Débardeur":                 {material: "Coton", care: "Lavage 30°", grams: [2]int{110, 150}},
	"Chemise en lin":            {material: "100 % lin", care: "Lavage 30°", grams: [2]int{200, 260}},
	"Chemise en flanelle":       {material: "Flanelle de coton", care: "Lavage 40°", grams: [2]int{300, 380}},
	"Chemise Oxford":            {material: "Coton Oxford", care: "Lavage 40°", grams: [2]int{250, 310}},
	"Jean droit":                {material: "Denim de coton", care: "Lavage 30° sur l'envers", grams: [2]int{600, 700}},
	"Jean slim":                 {material: "Coton et élasthanne", care: "Lavage 30° sur l'envers", grams: [2]int{500, 600}},
	"Jean brut selvedge":        {material: "Denim selvedge 100 % coton", care: "Lavage 30° sur l'envers, le plus rarement possible", grams: [2]int{750, 850}},
	"Pantalon chino":            {material: "Sergé de coton", care: "Lavage 30°", grams: [2]int{450, 550}},
	"Pantalon de randonnée":     {material: "Polyamide extensible", care: "Lavage 30°", grams: [2]int{350, 450}, activity: "Randonnée"},
	"Short de course":           {material: "Polyester recyclé", care: "Lavage 30°", grams: [2]int{100, 150}, activity: ActivityRunning},
	"Chaussettes techniques":    {material: "Laine mérinos et polyamide", care: "Lavage 40°", grams: [2]int{60, 90}, activity: ActivityRunning},
	"Bonnet en laine":           {material: "Laine", care: "Lavage à la main", grams: [2]int{80, 120}},
	"Casquette":                 {material: "Coton", care: "Lavage à la main", grams: [2]int{70, 100}},
	"Écharpe en laine":          {material: "Laine d'agneau", care: "Lavage à la main", grams: [2]int{180, 260}, madeIn: "Écosse"},
	"Sac à dos":                 {material: "Polyester recyclé", care: "Nettoyer avec un chiffon humide", grams: [2]int{600, 900}},
	"Ceinture en cuir":          {material: "Cuir de vachette", care: "Nourrir le cuir", grams: [2]int{120, 180}},
	"Gants en polaire":          {material: "Polaire recyclée", care: "Lavage 30°", grams: [2]int{50, 80}},
	"Tote bag en toile":         {material: "Toile de coton", care: "Lavage 30°", grams: [2]int{150, 250}},
}

// madeInByDetail: a description that says where the product is made decides
// its country of manufacture, so the page never contradicts itself.
var madeInByDetail = []struct{ detail, country string }{
	{"Tricoté en France.", MadeInFrance},
	{"Fabriquée au Portugal.", "Portugal"},
	{"Tissée au Portugal.", "Portugal"},
	{"Fabrication européenne.", "Union européenne"},
}

// sourcing is where a brand has its products made: countries with their
// cumulative chances in percent. Only the two French brands make in France,
// which keeps Made in France a small selection.
var sourcing = map[string][]struct {
	country string
	upTo    int
}{
	"Atelier Garance": {{MadeInFrance, 30}, {"Portugal", 75}, {"Italie", 100}},
	"Maison Sentier":  {{MadeInFrance, 12}, {"Portugal", 60}, {"Maroc", 100}},
	"Pas Léger":       {{"Vietnam", 60}, {"Portugal", 85}, {"Indonésie", 100}},
	"Nordet":          {{"Italie", 40}, {"Roumanie", 70}, {"Vietnam", 100}},
	"Laurentide":      {{"Canada", 50}, {"Vietnam", 80}, {"Chine", 100}},
	"Cime & Vallée":   {{"Portugal", 40}, {"Vietnam", 70}, {"Chine", 100}},
}

// family is what a product is worn as, which decides how its images are shot
// and how its weight grows with its size.
type family int

const (
	footwearFamily family = iota
	apparelFamily
	accessoryFamily
)

func familyOf(c *category) family {
	switch c {
	case running, sneakers, boots, sandals:
		return footwearFamily
	case accessories:
		return accessoryFamily
	}
	return apparelFamily
}

// views are the shots of a product's images, in order.
var views = map[family][]string{
	footwearFamily:  {"vue de profil", "vue de dessus", "vue de la semelle"},
	apparelFamily:   {"vue de face", "vue de dos", "détail de la matière"},
	accessoryFamily: {"vue de face", "vue de détail", "en situation"},
}

// sizeSteps: how many sizes a size is above (or below) the reference size
// whose weight kindDetail gives, and how much weight a step adds, in percent.
var (
	sizeSteps = func() map[string]int {
		m := map[string]int{oneSize[0]: 0}
		for i, s := range shoes36to46 {
			m[s] = i - 5 // 41
		}
		for i, s := range wearXStoXXL {
			m[s] = i - 2 // M
		}
		return m
	}()
	stepPct = map[family]int{footwearFamily: 3, apparelFamily: 7, accessoryFamily: 0}
)

// dress fills in what migration 0002 added to a product: its category,
// options, attributes, variant weights and images. It makes the same three
// draws from rng for every product, so one product's details never shift the
// next one's.
func dress(p *Product, s *spec, rng *rand.Rand) {
	madeRoll, extraImage := rng.IntN(100), rng.IntN(2)
	kd := kindDetails[s.kind.title]
	base := kd.grams[0] + rng.IntN(kd.grams[1]-kd.grams[0]+1)

	p.Category = leafOf(s)
	p.Options = optionsOf(p.Variants)

	madeIn := kd.madeIn
	for _, m := range madeInByDetail {
		if madeIn == "" && strings.Contains(s.desc, m.detail) {
			madeIn = m.country
		}
	}
	if madeIn == "" {
		for _, c := range sourcing[s.brand] {
			if madeRoll < c.upTo {
				madeIn = c.country
				break
			}
		}
	}
	p.Attributes = make(map[string]string)
	set := func(name, value string) {
		if value != "" {
			p.Attributes[name] = value
		}
	}
	set(AttrMaterial, kd.material)
	set(AttrCare, kd.care)
	set(AttrMadeIn, madeIn)
	set(AttrActivity, kd.activity)

	fam := familyOf(s.cat)
	for i := range p.Variants {
		v := &p.Variants[i]
		g := base * (100 + stepPct[fam]*sizeSteps[v.Options[1].Value]) / 100
		v.WeightGrams = (g + 2) / 5 * 5 // as a scale in a warehouse reads it
	}

	// Hand-written products get the full set of three images.
	n := 2 + extraImage
	if s.featured {
		n = 3
	}
	for i := range n {
		p.Media = append(p.Media, Media{
			ID:       MediaID(p.Handle, i+1),
			Position: i + 1,
			URL:      fmt.Sprintf("%s%s/%d.jpg", mediaBase, p.Handle, i+1),
			Alt:      p.Title + ", " + views[fam][i],
		})
	}
}

// optionsOf lists the options of variants, each value once, in the order the
// variants first show it.
func optionsOf(vs []Variant) []ProductOption {
	var opts []ProductOption
	for _, v := range vs {
		for i, o := range v.Options {
			if i == len(opts) {
				opts = append(opts, ProductOption{Name: o.Name})
			}
			if !slices.Contains(opts[i].Values, o.Value) {
				opts[i].Values = append(opts[i].Values, o.Value)
			}
		}
	}
	return opts
}
