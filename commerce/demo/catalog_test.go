package demo_test

import (
	"fmt"
	"reflect"
	"regexp"
	"slices"
	"strings"
	"testing"

	"github.com/omnicanal/omnicanal/commerce/demo"
)

// ancestors returns the handles from the category with the given handle up
// to its root, failing the test on a missing parent or a cycle.
func ancestors(t *testing.T, byHandle map[string]demo.Category, handle string) []string {
	t.Helper()
	var path []string
	for h := handle; h != ""; h = byHandle[h].Parent {
		if slices.Contains(path, h) {
			t.Fatalf("category cycle: %v then %s", path, h)
		}
		if _, ok := byHandle[h]; !ok {
			t.Fatalf("category %q (ancestor of %q) does not exist", h, handle)
		}
		path = append(path, h)
	}
	return path
}

func TestCategories(t *testing.T) {
	d := demo.Generate()
	byHandle := make(map[string]demo.Category)
	children := make(map[string][]demo.Category)
	for _, c := range d.Categories {
		if !handleRE.MatchString(c.Handle) {
			t.Errorf("category handle %q does not match %s", c.Handle, handleRE)
		}
		if _, dup := byHandle[c.Handle]; dup {
			t.Errorf("category handle %q is used twice", c.Handle)
		}
		if c.ID != demo.CategoryID(c.Handle) {
			t.Errorf("%s: id is not CategoryID(handle)", c.Handle)
		}
		if c.Name == "" {
			t.Errorf("%s has no name", c.Handle)
		}
		// Seed inserts level by level, so a parent must come first.
		if _, ok := byHandle[c.Parent]; c.Parent != "" && !ok {
			t.Errorf("%s comes before its parent %q", c.Handle, c.Parent)
		}
		byHandle[c.Handle] = c
		children[c.Parent] = append(children[c.Parent], c)
	}
	for parent, cs := range children {
		for i, c := range cs {
			if c.Position != i+1 {
				t.Errorf("%s: position %d among the children of %q, want %d", c.Handle, c.Position, parent, i+1)
			}
		}
	}
	depth := 0
	for _, c := range d.Categories {
		depth = max(depth, len(ancestors(t, byHandle, c.Handle)))
	}
	if depth != 3 {
		t.Errorf("the tree is %d levels deep, want 3", depth)
	}

	// Every product is in exactly one leaf, every leaf has products, and
	// every product type sits under the root that names its family.
	rootOf := map[string]string{"Accessoires": demo.CategoryAccessories}
	for _, pt := range footwear {
		rootOf[pt] = demo.CategoryShoes
	}
	inLeaf := make(map[string]int)
	for _, p := range d.Products {
		c, ok := byHandle[p.Category]
		if !ok {
			t.Errorf("%s: category %q does not exist", p.Handle, p.Category)
			continue
		}
		if len(children[c.Handle]) > 0 {
			t.Errorf("%s is in %s, which is not a leaf", p.Handle, c.Handle)
		}
		inLeaf[c.Handle]++
		path := ancestors(t, byHandle, c.Handle)
		want, ok := rootOf[p.ProductType]
		if !ok {
			want = demo.CategoryApparel
		}
		if root := path[len(path)-1]; root != want {
			t.Errorf("%s (%s) is under %s, want %s", p.Handle, p.ProductType, root, want)
		}
	}
	for _, c := range d.Categories {
		if len(children[c.Handle]) == 0 && inLeaf[c.Handle] == 0 {
			t.Errorf("leaf %s has no product", c.Handle)
		}
	}

	for handle, want := range map[string][]string{
		demo.CategoryRunning:  {demo.CategoryRunning, demo.CategoryShoes},
		demo.CategorySweaters: {demo.CategorySweaters, demo.CategoryTops, demo.CategoryApparel},
		demo.CategoryJackets:  {demo.CategoryJackets, demo.CategoryApparel},
		demo.CategorySocks:    {demo.CategorySocks, demo.CategoryAccessories},
	} {
		if got := ancestors(t, byHandle, handle); !slices.Equal(got, want) {
			t.Errorf("path of %s is %v, want %v", handle, got, want)
		}
	}
	for handle, want := range map[string]string{
		demo.HandleRunningShoe: demo.CategoryRunning,
		demo.HandleRainJacket:  demo.CategoryJackets,
		demo.HandleOnSale:      demo.CategorySweaters,
	} {
		if got := d.Product(handle).Category; got != want {
			t.Errorf("%s is in %s, want %s", handle, got, want)
		}
	}
}

func TestProductOptions(t *testing.T) {
	for _, p := range demo.Generate().Products {
		var colours, sizes []string
		for _, v := range p.Variants {
			if !slices.Contains(colours, v.Options[0].Value) {
				colours = append(colours, v.Options[0].Value)
			}
			if !slices.Contains(sizes, v.Options[1].Value) {
				sizes = append(sizes, v.Options[1].Value)
			}
		}
		want := []demo.ProductOption{{Name: "Couleur", Values: colours}, {Name: "Taille", Values: sizes}}
		if !reflect.DeepEqual(p.Options, want) {
			t.Errorf("%s: options %v, want %v", p.Handle, p.Options, want)
		}
		// Every combination is a variant, so a storefront can offer any
		// pair of option values.
		if len(colours)*len(sizes) != len(p.Variants) {
			t.Errorf("%s: %d colours × %d sizes but %d variants", p.Handle, len(colours), len(sizes), len(p.Variants))
		}
	}
}

func TestAttributes(t *testing.T) {
	d := demo.Generate()
	madeIn := make(map[string]int)
	for _, p := range d.Products {
		for _, name := range []string{demo.AttrMaterial, demo.AttrCare, demo.AttrMadeIn} {
			if p.Attributes[name] == "" {
				t.Errorf("%s has no %s: %v", p.Handle, name, p.Attributes)
			}
		}
		for name, value := range p.Attributes {
			if name == "" || value == "" {
				t.Errorf("%s: attribute %q = %q", p.Handle, name, value)
			}
		}
		// A description that says where the product is made must agree.
		if strings.Contains(p.Description, "Tricoté en France.") && p.Attributes[demo.AttrMadeIn] != demo.MadeInFrance {
			t.Errorf("%s is knitted in France but made in %s", p.Handle, p.Attributes[demo.AttrMadeIn])
		}
		madeIn[p.Attributes[demo.AttrMadeIn]]++
	}
	if n := madeIn[demo.MadeInFrance]; n < 10 || n > len(d.Products)/4 {
		t.Errorf("%d products made in France, want a small selection", n)
	}
	if got := d.Product(demo.HandleRunningShoe).Attributes[demo.AttrActivity]; got != demo.ActivityRunning {
		t.Errorf("%s: activity %q", demo.HandleRunningShoe, got)
	}
}

func TestWeights(t *testing.T) {
	bounds := map[string][2]int{ // grams, inclusive, by product type
		"Chaussures de course": {300, 800}, "Baskets": {450, 1300}, "Bottes": {850, 2000}, "Sandales": {280, 800},
		"Vestes": {70, 2000}, "Pulls": {180, 950}, "T-shirts": {80, 350}, "Chemises": {150, 480},
		"Jeans": {400, 1050}, "Pantalons": {80, 700}, "Accessoires": {40, 900},
	}
	for _, p := range demo.Generate().Products {
		b, ok := bounds[p.ProductType]
		if !ok {
			t.Errorf("%s: no weight bounds for %s", p.Handle, p.ProductType)
			continue
		}
		heaviest := make(map[string]int) // by colour, sizes come in order
		for _, v := range p.Variants {
			if v.WeightGrams < b[0] || v.WeightGrams > b[1] || v.WeightGrams%5 != 0 {
				t.Errorf("%s weighs %d g, want a multiple of 5 within %v", v.SKU, v.WeightGrams, b)
			}
			colour := v.Options[0].Value
			if v.WeightGrams < heaviest[colour] {
				t.Errorf("%s weighs %d g, less than a smaller size (%d g)", v.SKU, v.WeightGrams, heaviest[colour])
			}
			heaviest[colour] = v.WeightGrams
		}
	}
}

var mediaURLRE = regexp.MustCompile(`^https?://`)

func TestMedia(t *testing.T) {
	ids := make(map[string]bool)
	total := 0
	for _, p := range demo.Generate().Products {
		if n := len(p.Media); n < 2 || n > 3 {
			t.Errorf("%s has %d images, want 2 or 3", p.Handle, n)
		}
		for i, m := range p.Media {
			total++
			want := fmt.Sprintf("https://images.maison-sentier.example/products/%s/%d.jpg", p.Handle, i+1)
			if !mediaURLRE.MatchString(m.URL) || m.URL != want {
				t.Errorf("%s: image %d at %q, want %q", p.Handle, i+1, m.URL, want)
			}
			if m.Position != i+1 || m.ID != demo.MediaID(p.Handle, i+1) {
				t.Errorf("%s: image %d has position %d, id %s", p.Handle, i+1, m.Position, m.ID)
			}
			if !strings.HasPrefix(m.Alt, p.Title+", ") {
				t.Errorf("%s: alt %q does not describe %q", p.Handle, m.Alt, p.Title)
			}
			if ids[m.ID.String()] {
				t.Errorf("%s: image id %s is used twice", p.Handle, m.ID)
			}
			ids[m.ID.String()] = true
		}
	}
	if got := demo.Generate().Product(demo.HandleRunningShoe).Media[0].Alt; got != "Chaussure de course Élan, vue de profil" {
		t.Errorf("first image of %s: alt %q", demo.HandleRunningShoe, got)
	}
	t.Logf("%d images", total)
}

func TestCollections(t *testing.T) {
	d := demo.Generate()
	byHandle := make(map[string]demo.Collection)
	for _, c := range d.Collections {
		if !handleRE.MatchString(c.Handle) || c.ID != demo.CollectionID(c.Handle) || c.Title == "" || c.Description == "" {
			t.Errorf("collection %+v", c)
		}
		if _, dup := byHandle[c.Handle]; dup {
			t.Errorf("collection %s is listed twice", c.Handle)
		}
		byHandle[c.Handle] = c
		if len(c.Products) == 0 {
			t.Errorf("collection %s is empty", c.Handle)
		}
		seen := make(map[string]bool)
		for _, h := range c.Products {
			p := d.Product(h)
			if p == nil || p.Status != "active" {
				t.Errorf("%s holds %q, want an active product", c.Handle, h)
			}
			if seen[h] {
				t.Errorf("%s holds %s twice", c.Handle, h)
			}
			seen[h] = true
		}
	}
	for _, h := range []string{demo.CollectionNew, demo.CollectionWinterSale, demo.CollectionRunning, demo.CollectionMadeInFrance} {
		if _, ok := byHandle[h]; !ok {
			t.Errorf("no collection %s", h)
		}
	}
	if n := len(byHandle[demo.CollectionNew].Products); n < 15 || n > 25 {
		t.Errorf("%s holds %d products, want about 20", demo.CollectionNew, n)
	}

	// Soldes d'hiver: every active product on sale and nothing else,
	// biggest discount first.
	discount := func(h string) int64 {
		pr := d.Product(h).Variants[0].Prices[0]
		if pr.CompareAtAmount == 0 {
			return -1
		}
		return (pr.CompareAtAmount - pr.Amount) * 100 / pr.CompareAtAmount
	}
	sale := byHandle[demo.CollectionWinterSale].Products
	for i, h := range sale {
		if discount(h) < 0 {
			t.Errorf("%s holds %s, which is not on sale", demo.CollectionWinterSale, h)
		}
		if i > 0 && discount(h) > discount(sale[i-1]) {
			t.Errorf("%s: %s (-%d%%) comes after %s (-%d%%)", demo.CollectionWinterSale, h, discount(h), sale[i-1], discount(sale[i-1]))
		}
	}
	for _, p := range d.Products {
		if p.Status == "active" && discount(p.Handle) >= 0 && !slices.Contains(sale, p.Handle) {
			t.Errorf("%s is on sale but not in %s", p.Handle, demo.CollectionWinterSale)
		}
	}
	if !slices.Contains(sale, demo.HandleOnSale) {
		t.Errorf("%s is not in %s", demo.HandleOnSale, demo.CollectionWinterSale)
	}

	// The attribute-based collections agree with the attributes.
	for coll, attr := range map[string][2]string{
		demo.CollectionRunning:      {demo.AttrActivity, demo.ActivityRunning},
		demo.CollectionMadeInFrance: {demo.AttrMadeIn, demo.MadeInFrance},
	} {
		var want []string
		for _, p := range d.Products {
			if p.Status == "active" && p.Attributes[attr[0]] == attr[1] {
				want = append(want, p.Handle)
			}
		}
		if got := byHandle[coll].Products; !slices.Equal(got, want) {
			t.Errorf("%s holds %v, want the active products with %s %s: %v", coll, got, attr[0], attr[1], want)
		}
	}
	if run := byHandle[demo.CollectionRunning].Products; run[0] != demo.HandleRunningShoe {
		t.Errorf("%s starts with %s, want %s", demo.CollectionRunning, run[0], demo.HandleRunningShoe)
	}
}

func TestPublication(t *testing.T) {
	d := demo.Generate()
	var all []string
	kinds := make(map[string]string)
	for _, c := range d.Channels {
		all = append(all, c.Key)
		kinds[c.Key] = c.Kind
	}
	canadian := []string{demo.KeyWebCA, demo.KeyMobileCA, demo.KeyKioskMontreal, demo.KeyPOSMontreal}

	everywhere := 0
	for _, p := range d.Products {
		// In Channels order and each once: Seed relies on neither, but
		// readers of the data may.
		last := -1
		for _, k := range p.Channels {
			i := slices.Index(all, k)
			if i <= last {
				t.Errorf("%s: channels %v are unknown, repeated or out of order", p.Handle, p.Channels)
				break
			}
			last = i
		}
		switch {
		case p.Status == "draft" && len(p.Channels) != 0:
			t.Errorf("draft %s is published on %v", p.Handle, p.Channels)
		case p.Status != "draft" && len(p.Channels) == 0:
			t.Errorf("%s (%s) is published nowhere", p.Handle, p.Status)
		}
		if p.Status == "active" && len(p.Channels) == len(all) {
			everywhere++
		}
	}

	var webOnly, notOnKiosk, onlyCanada []string
	for _, p := range d.Products {
		if p.Status != "active" || len(p.Channels) == len(all) {
			continue
		}
		onKiosk, onPOS, inEU := false, false, false
		for _, k := range p.Channels {
			onKiosk = onKiosk || kinds[k] == "kiosk"
			onPOS = onPOS || kinds[k] == "pos"
			inEU = inEU || !slices.Contains(canadian, k)
		}
		switch {
		case !inEU:
			onlyCanada = append(onlyCanada, p.Handle)
		case !onKiosk && !onPOS:
			webOnly = append(webOnly, p.Handle)
		case !onKiosk:
			notOnKiosk = append(notOnKiosk, p.Handle)
		default:
			t.Errorf("%s is published on %v, which is no group of the demo", p.Handle, p.Channels)
		}
	}
	t.Logf("web exclusives %v; not on kiosks %v; Canada only %v", webOnly, notOnKiosk, onlyCanada)
	for _, g := range []struct {
		name     string
		handles  []string
		min, max int
		pinned   string
	}{
		{"web exclusives", webOnly, 8, 12, demo.HandleWebExclusive},
		{"not on kiosks", notOnKiosk, 6, 10, demo.HandleNotOnKiosk},
		{"Canada only", onlyCanada, 3, 8, demo.HandleCanadaOnly},
	} {
		if n := len(g.handles); n < g.min || n > g.max {
			t.Errorf("%d %s, want %d to %d", n, g.name, g.min, g.max)
		}
		if !slices.Contains(g.handles, g.pinned) {
			t.Errorf("%s is not among the %s", g.pinned, g.name)
		}
	}
	if everywhere < len(d.Products)*3/4 {
		t.Errorf("%d active products published everywhere, want most", everywhere)
	}

	// The named facts, channel by channel.
	for _, f := range []struct {
		handle  string
		on, off []string
	}{
		{handle: demo.HandleWebExclusive, on: []string{demo.KeyWebEU, demo.KeyMobileEU, demo.KeyWebCA, demo.KeyMobileCA},
			off: []string{demo.KeyKioskParis, demo.KeyKioskLyon, demo.KeyKioskBordeaux, demo.KeyKioskMontreal, demo.KeyPOSParis, demo.KeyPOSLyon, demo.KeyPOSBordeaux, demo.KeyPOSMontreal}},
		{handle: demo.HandleNotOnKiosk, on: []string{demo.KeyWebEU, demo.KeyMobileEU, demo.KeyWebCA, demo.KeyMobileCA, demo.KeyPOSParis, demo.KeyPOSLyon, demo.KeyPOSBordeaux, demo.KeyPOSMontreal},
			off: []string{demo.KeyKioskParis, demo.KeyKioskLyon, demo.KeyKioskBordeaux, demo.KeyKioskMontreal}},
		{handle: demo.HandleCanadaOnly, on: canadian,
			off: []string{demo.KeyWebEU, demo.KeyMobileEU, demo.KeyKioskParis, demo.KeyKioskLyon, demo.KeyKioskBordeaux, demo.KeyPOSParis, demo.KeyPOSLyon, demo.KeyPOSBordeaux}},
		{handle: demo.HandleRunningShoe, on: all},
		{handle: demo.HandleRainJacket, on: all},
		{handle: demo.HandleOnSale, on: all},
		{handle: demo.HandleArchived, on: all}, // only its status hides it
		{handle: demo.HandleDraft, off: all},
	} {
		p := d.Product(f.handle)
		if p == nil {
			t.Errorf("no product %s", f.handle)
			continue
		}
		if len(f.on) > 0 && p.Status != "active" && f.handle != demo.HandleArchived {
			t.Errorf("%s is %s, want active", f.handle, p.Status)
		}
		for _, k := range f.on {
			if !p.PublishedOn(k) {
				t.Errorf("%s is not published on %s", f.handle, k)
			}
		}
		for _, k := range f.off {
			if p.PublishedOn(k) {
				t.Errorf("%s is published on %s", f.handle, k)
			}
		}
	}
}
