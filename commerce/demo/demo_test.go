package demo_test

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"math"
	"reflect"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/omnicanal/omnicanal/commerce/demo"
)

// fingerprint is the SHA-256 of the JSON of Generate(). The README, the docs
// and other packages' tests quote demo handles, SKUs, prices and stock, so a
// change to the data must be deliberate: when it is, update this value and
// check what quotes the data.
const fingerprint = "c4b06e8d3b2d8a84b9aea56adb6c81889231ba955319eccfceab5321fc6abc9d"

func TestGenerateIsDeterministic(t *testing.T) {
	a, b := demo.Generate(), demo.Generate()
	if !reflect.DeepEqual(a, b) {
		t.Fatal("two calls of Generate returned different data")
	}
	js, err := json.Marshal(a)
	if err != nil {
		t.Fatal(err)
	}
	sum := sha256.Sum256(js)
	if got := hex.EncodeToString(sum[:]); got != fingerprint {
		t.Errorf("the demo data changed: fingerprint %s, want %s\n"+
			"If the change is deliberate, update fingerprint and whatever quotes the data.", got, fingerprint)
	}
}

func TestGenerateReturnsFreshData(t *testing.T) {
	a := demo.Generate()
	a.Products[0].Variants[0].Prices[0].Amount = 1
	a.Channels[0].Key = "changed"
	a.Categories[0].Name = "changed"
	a.Collections[0].Products[0] = "changed"
	a.Products[0].Attributes[demo.AttrMaterial] = "changed"
	a.Products[0].Options[0].Values[0] = "changed"
	// The channel groups are package variables; every product must get
	// its own copy of its group.
	for i := range a.Products {
		for j := range a.Products[i].Channels {
			a.Products[i].Channels[j] = "changed"
		}
	}
	b := demo.Generate()
	for _, p := range b.Products {
		if slices.Contains(p.Channels, "changed") {
			t.Fatalf("%s: changing the channels of one result of Generate changed the next one: %v", p.Handle, p.Channels)
		}
	}
	if b.Products[0].Variants[0].Prices[0].Amount == 1 || b.Channels[0].Key == "changed" ||
		b.Categories[0].Name == "changed" || b.Collections[0].Products[0] == "changed" ||
		b.Products[0].Attributes[demo.AttrMaterial] == "changed" || b.Products[0].Options[0].Values[0] == "changed" {
		t.Fatal("changing one result of Generate changed the next one")
	}
}

var handleRE = regexp.MustCompile(`^[a-z0-9]+(-[a-z0-9]+)*$`)

func TestProducts(t *testing.T) {
	d := demo.Generate()
	if n := len(d.Products); n < 200 {
		t.Errorf("%d products, want at least 200", n)
	}
	handles := make(map[string]bool)
	statuses := make(map[string]int)
	for _, p := range d.Products {
		if !handleRE.MatchString(p.Handle) {
			t.Errorf("handle %q does not match %s", p.Handle, handleRE)
		}
		if handles[p.Handle] {
			t.Errorf("handle %q is used twice", p.Handle)
		}
		handles[p.Handle] = true
		if p.ID != demo.ProductID(p.Handle) {
			t.Errorf("%s: id %s is not ProductID(handle)", p.Handle, p.ID)
		}
		if p.Title == "" || p.Description == "" || p.Brand == "" || p.ProductType == "" {
			t.Errorf("%s: empty title, description, brand or product type: %+v", p.Handle, p)
		}
		if len(p.Variants) == 0 {
			t.Errorf("%s has no variants", p.Handle)
		}
		statuses[p.Status]++
	}
	for _, s := range []string{"draft", "archived"} {
		if statuses[s] == 0 {
			t.Errorf("no %s product; filtering by status needs some", s)
		}
	}
	if statuses["active"] < len(d.Products)*9/10 {
		t.Errorf("%d active products of %d, want nearly all", statuses["active"], len(d.Products))
	}
	if len(statuses) != 3 {
		t.Errorf("statuses %v, want only draft, active and archived", statuses)
	}
}

// TestNamedFacts checks what the exported constants promise.
func TestNamedFacts(t *testing.T) {
	d := demo.Generate()
	byHandle := make(map[string]demo.Product)
	for _, p := range d.Products {
		byHandle[p.Handle] = p
	}
	for handle, want := range map[string]struct{ title, status string }{
		demo.HandleRunningShoe: {"Chaussure de course Élan", "active"},
		demo.HandleRainJacket:  {"Veste imperméable Boréal", "active"},
		demo.HandleOnSale:      {"Pull en laine mérinos Névé", "active"},
		demo.HandleDraft:       {"Basket en cuir Rivage", "draft"},
		demo.HandleArchived:    {"Botte de randonnée Sérac", "archived"},
	} {
		p, ok := byHandle[handle]
		if !ok {
			t.Errorf("no product %q", handle)
			continue
		}
		if p.Title != want.title || p.Status != want.status {
			t.Errorf("%s: title %q status %q, want %q %q", handle, p.Title, p.Status, want.title, want.status)
		}
	}

	sale := byHandle[demo.HandleOnSale].Variants[0].Prices
	want := []demo.Price{
		{Currency: "EUR", Amount: 5999, CompareAtAmount: 8900},
		{Currency: "CAD", Amount: 8599, CompareAtAmount: 12900},
	}
	if !reflect.DeepEqual(sale, want) {
		t.Errorf("%s prices %+v, want %+v", demo.HandleOnSale, sale, want)
	}

	stock := stockBySKU(d)
	for sku, want := range map[string]map[string]int{
		demo.SKUInLyonNotParis: {demo.CodeParis: 0, demo.CodeLyon: 4, demo.CodeBordeaux: 2, demo.CodeMontreal: 0, demo.CodeWarehouseFR: 36, demo.CodeWarehouseCA: 14},
		demo.SKUSoldOut:        {demo.CodeParis: 0, demo.CodeLyon: 0, demo.CodeBordeaux: 0, demo.CodeMontreal: 0, demo.CodeWarehouseFR: 0, demo.CodeWarehouseCA: 0},
		demo.SKUWarehouseOnly:  {demo.CodeParis: 0, demo.CodeLyon: 0, demo.CodeBordeaux: 0, demo.CodeMontreal: 0, demo.CodeWarehouseFR: 18, demo.CodeWarehouseCA: 6},
	} {
		if !reflect.DeepEqual(stock[sku], want) {
			t.Errorf("stock of %s is %v, want %v", sku, stock[sku], want)
		}
	}
	for sku, handle := range map[string]string{
		demo.SKUInLyonNotParis: demo.HandleRunningShoe,
		demo.SKUSoldOut:        demo.HandleRunningShoe,
		demo.SKUWarehouseOnly:  demo.HandleRainJacket,
	} {
		if !slices.ContainsFunc(byHandle[handle].Variants, func(v demo.Variant) bool { return v.SKU == sku }) {
			t.Errorf("%s is not a variant of %s", sku, handle)
		}
	}
}

// validEAN13 checks the GS1 check digit: weights 1 and 3 alternate from the
// left and the weighted sum of all 13 digits is a multiple of 10.
func validEAN13(s string) bool {
	if len(s) != 13 {
		return false
	}
	sum := 0
	for i := range 13 {
		c := s[i]
		if c < '0' || c > '9' {
			return false
		}
		w := 1
		if i%2 == 1 {
			w = 3
		}
		sum += int(c-'0') * w
	}
	return sum%10 == 0
}

func TestValidEAN13(t *testing.T) {
	// Barcodes printed on real products.
	for _, s := range []string{"4006381333931", "3017620422003", "5901234123457"} {
		if !validEAN13(s) {
			t.Errorf("validEAN13(%q) = false", s)
		}
	}
	for _, s := range []string{"4006381333932", "300000000000", "30176204220O3"} {
		if validEAN13(s) {
			t.Errorf("validEAN13(%q) = true", s)
		}
	}
}

var (
	shoeSizes  = []string{"36", "37", "38", "39", "40", "41", "42", "43", "44", "45", "46"}
	wearSizes  = []string{"XS", "S", "M", "L", "XL", "XXL"}
	footwear   = []string{"Chaussures de course", "Baskets", "Bottes", "Sandales"}
	oneSizeFit = []string{"Accessoires"}
)

func TestVariants(t *testing.T) {
	d := demo.Generate()
	skus := make(map[string]bool)
	barcodes := make(map[string]bool)
	for _, p := range d.Products {
		sizes := wearSizes
		switch {
		case slices.Contains(footwear, p.ProductType):
			sizes = shoeSizes
		case slices.Contains(oneSizeFit, p.ProductType):
			sizes = []string{"Taille unique"}
		}
		var colours []string
		for i, v := range p.Variants {
			if skus[v.SKU] {
				t.Errorf("SKU %s is used twice", v.SKU)
			}
			skus[v.SKU] = true
			if !validEAN13(v.Barcode) {
				t.Errorf("%s: barcode %q is not a valid EAN-13", v.SKU, v.Barcode)
			}
			if barcodes[v.Barcode] {
				t.Errorf("%s: barcode %s is used twice", v.SKU, v.Barcode)
			}
			barcodes[v.Barcode] = true
			if v.ID != demo.VariantID(v.SKU) || v.ProductID != p.ID {
				t.Errorf("%s: id %s product %s, want VariantID(sku) and %s", v.SKU, v.ID, v.ProductID, p.ID)
			}
			if v.Position != i+1 {
				t.Errorf("%s: position %d, want %d", v.SKU, v.Position, i+1)
			}
			if len(v.Options) != 2 || v.Options[0].Name != "Couleur" || v.Options[1].Name != "Taille" {
				t.Errorf("%s: options %+v, want Couleur then Taille", v.SKU, v.Options)
				continue
			}
			colour, size := v.Options[0].Value, v.Options[1].Value
			if v.Title != colour+" / "+size {
				t.Errorf("%s: title %q, want %q", v.SKU, v.Title, colour+" / "+size)
			}
			if !slices.Contains(sizes, size) {
				t.Errorf("%s (%s): size %q, want one of %v", v.SKU, p.ProductType, size, sizes)
			}
			if !slices.Contains(colours, colour) {
				colours = append(colours, colour)
			}
		}
		if n := len(colours); n < 2 || n > 4 {
			t.Errorf("%s has %d colours %v, want 2 to 4", p.Handle, n, colours)
		}
	}
}

func TestPrices(t *testing.T) {
	d := demo.Generate()
	onSale := 0
	for _, p := range d.Products {
		first := p.Variants[0].Prices
		if first[0].CompareAtAmount != 0 {
			onSale++
		}
		for _, v := range p.Variants {
			if len(v.Prices) != 2 || v.Prices[0].Currency != "EUR" || v.Prices[1].Currency != "CAD" {
				t.Errorf("%s: prices %+v, want EUR then CAD", v.SKU, v.Prices)
				continue
			}
			if !reflect.DeepEqual(v.Prices, first) {
				t.Errorf("%s: prices %+v differ from the product's first variant %+v", v.SKU, v.Prices, first)
			}
			eur, cad := v.Prices[0], v.Prices[1]
			for _, pr := range v.Prices {
				if pr.Amount <= 0 {
					t.Errorf("%s: %s amount %d", v.SKU, pr.Currency, pr.Amount)
				}
				if pr.CompareAtAmount != 0 && pr.CompareAtAmount <= pr.Amount {
					t.Errorf("%s: %s compare-at %d is not above amount %d", v.SKU, pr.Currency, pr.CompareAtAmount, pr.Amount)
				}
				if c := pr.Amount % 100; c != 99 && c != 0 {
					t.Errorf("%s: %s amount %d ends in .%02d, want .99 or .00", v.SKU, pr.Currency, pr.Amount, c)
				}
			}
			if (eur.CompareAtAmount == 0) != (cad.CompareAtAmount == 0) {
				t.Errorf("%s: on sale in one currency only: %+v", v.SKU, v.Prices)
			}
			// CAD is about EUR × 1.45, rounded to the dollar (sale prices
			// are rounded once more, after the discount).
			if diff := cad.Amount*100 - eur.Amount*145; diff < -20000 || diff > 20000 {
				t.Errorf("%s: %d CAD is not about 1.45 × %d EUR", v.SKU, cad.Amount, eur.Amount)
			}
		}
	}
	if share := onSale * 100 / len(d.Products); share < 10 || share > 20 {
		t.Errorf("%d%% of products on sale, want about 15%%", share)
	}
}

func TestPriceRanges(t *testing.T) {
	d := demo.Generate()
	ranges := map[string][2]int64{ // EUR minor units, inclusive
		"T-shirts":             {1999, 6000},
		"Chaussures de course": {8999, 20000},
	}
	for _, p := range d.Products {
		r, ok := ranges[p.ProductType]
		if !ok {
			continue
		}
		price := p.Variants[0].Prices[0]
		if price.CompareAtAmount != 0 {
			price.Amount = price.CompareAtAmount
		}
		if price.Amount < r[0] || price.Amount > r[1] {
			t.Errorf("%s (%s) costs %d EUR cents, want %d to %d", p.Handle, p.ProductType, price.Amount, r[0], r[1])
		}
	}
}

// stockBySKU returns on-hand quantities by SKU and location code.
func stockBySKU(d *demo.Data) map[string]map[string]int {
	m := make(map[string]map[string]int)
	for _, s := range d.Stock {
		if m[s.SKU] == nil {
			m[s.SKU] = make(map[string]int)
		}
		m[s.SKU][s.LocationCode] = s.OnHand
	}
	return m
}

func TestStock(t *testing.T) {
	d := demo.Generate()
	variants := d.Variants()
	if want := len(variants) * len(d.Locations); len(d.Stock) != want {
		t.Errorf("%d stock levels, want one per variant and location (%d)", len(d.Stock), want)
	}
	stock := stockBySKU(d)
	stores := []string{demo.CodeParis, demo.CodeLyon, demo.CodeBordeaux, demo.CodeMontreal}
	warehouses := []string{demo.CodeWarehouseFR, demo.CodeWarehouseCA}
	var lyonNotParis, warehouseOnly, zeros, inStores, inWarehouses int
	for _, v := range variants {
		s := stock[v.SKU]
		if len(s) != len(d.Locations) {
			t.Errorf("%s has stock at %d locations, want %d", v.SKU, len(s), len(d.Locations))
		}
		storeUnits, warehouseUnits := 0, 0
		for _, c := range stores {
			storeUnits += s[c]
		}
		for _, c := range warehouses {
			warehouseUnits += s[c]
		}
		inStores += storeUnits
		inWarehouses += warehouseUnits
		if s[demo.CodeLyon] > 0 && s[demo.CodeParis] == 0 {
			lyonNotParis++
		}
		if storeUnits == 0 && warehouseUnits > 0 {
			warehouseOnly++
		}
	}
	for _, s := range d.Stock {
		if s.OnHand < 0 {
			t.Errorf("%s at %s: on hand %d", s.SKU, s.LocationCode, s.OnHand)
		}
		if s.OnHand == 0 {
			zeros++
		}
		if s.VariantID != demo.VariantID(s.SKU) || s.LocationID != demo.LocationID(s.LocationCode) {
			t.Errorf("%s at %s: ids do not match the SKU and code", s.SKU, s.LocationCode)
		}
	}
	t.Logf("%d variants in Lyon but not Paris, %d only in warehouses, %d zero levels of %d",
		lyonNotParis, warehouseOnly, zeros, len(d.Stock))
	if lyonNotParis < len(variants)/10 {
		t.Errorf("%d variants in stock in Lyon and not in Paris, want many", lyonNotParis)
	}
	if warehouseOnly < 20 {
		t.Errorf("%d variants in stock only in warehouses, want some", warehouseOnly)
	}
	if zeros < len(d.Stock)/5 {
		t.Errorf("%d zero stock levels of %d, want plenty", zeros, len(d.Stock))
	}
	if inWarehouses < 3*inStores {
		t.Errorf("warehouses hold %d units and stores %d, want warehouses to hold far more", inWarehouses, inStores)
	}
}

func TestLocations(t *testing.T) {
	ls := demo.Locations()
	codes := make(map[string]demo.Location)
	for _, l := range ls {
		if _, dup := codes[l.Code]; dup {
			t.Errorf("location code %s is used twice", l.Code)
		}
		codes[l.Code] = l
		if l.ID != demo.LocationID(l.Code) {
			t.Errorf("%s: id is not LocationID(code)", l.Code)
		}
		if _, err := time.LoadLocation(l.TimeZone); err != nil {
			t.Errorf("%s: time zone: %v", l.Code, err)
		}
		switch l.Kind {
		case "store":
			if !l.PickupEnabled || l.PickupPrepMinutes <= 0 || l.PickupHoldDays <= 0 {
				t.Errorf("store %s: pickup %v, %d min, %d days; want it offered", l.Code, l.PickupEnabled, l.PickupPrepMinutes, l.PickupHoldDays)
			}
		case "warehouse":
			if l.PickupEnabled {
				t.Errorf("warehouse %s offers pickup", l.Code)
			}
		default:
			t.Errorf("%s: kind %q", l.Code, l.Kind)
		}
		for _, h := range l.OpeningHours {
			if h.Day < 1 || h.Day > 7 || h.Opens >= h.Closes {
				t.Errorf("%s: opening hours %+v", l.Code, h)
			}
		}
	}
	// Paris to Lyon is about 392 km as the crow flies; a slip in the
	// coordinates would show here.
	par, lyo := codes[demo.CodeParis], codes[demo.CodeLyon]
	if km := haversineKm(par.Latitude, par.Longitude, lyo.Latitude, lyo.Longitude); km < 385 || km > 400 {
		t.Errorf("Paris Rivoli to Lyon Part-Dieu is %.0f km, want about 392", km)
	}
	if mtl := codes[demo.CodeMontreal]; mtl.TimeZone != "America/Toronto" || mtl.CountryCode != "CA" {
		t.Errorf("Montréal: %s %s", mtl.TimeZone, mtl.CountryCode)
	}
}

var keyRE = regexp.MustCompile(`^pk_demo_(web|mobile|kiosk|pos)_[a-z]+$`)

func TestChannels(t *testing.T) {
	locs := make(map[string]demo.Location)
	for _, l := range demo.Locations() {
		locs[l.Code] = l
	}
	currencyOf := map[string]string{"FR": "EUR", "CA": "CAD"}
	keys := make(map[string]bool)
	kiosks, tills := make(map[string]bool), make(map[string]bool)
	for _, c := range demo.Channels() {
		if !keyRE.MatchString(c.Key) || !strings.HasPrefix(c.Key, "pk_demo_"+c.Kind+"_") {
			t.Errorf("key %q of a %s channel does not match %s", c.Key, c.Kind, keyRE)
		}
		if keys[c.Key] {
			t.Errorf("key %s is used twice", c.Key)
		}
		keys[c.Key] = true
		if c.ID != demo.ChannelID(c.Key) {
			t.Errorf("%s: id is not ChannelID(key)", c.Key)
		}
		switch c.Kind {
		case "web", "mobile":
			if c.StoreCode != "" {
				t.Errorf("%s is bound to store %s", c.Key, c.StoreCode)
			}
		case "kiosk", "pos":
			l, ok := locs[c.StoreCode]
			if !ok || l.Kind != "store" {
				t.Errorf("%s is bound to %q, want a store", c.Key, c.StoreCode)
				continue
			}
			if want := currencyOf[l.CountryCode]; string(c.Currency) != want {
				t.Errorf("%s sells in %s, want its store's %s", c.Key, c.Currency, want)
			}
			if c.Kind == "kiosk" {
				kiosks[c.StoreCode] = true
			} else {
				tills[c.StoreCode] = true
			}
		default:
			t.Errorf("%s: kind %q", c.Key, c.Kind)
		}
	}
	for code, l := range locs {
		if l.Kind == "store" && (!kiosks[code] || !tills[code]) {
			t.Errorf("store %s lacks a kiosk or a POS channel", code)
		}
	}
	for _, k := range []string{
		demo.KeyWebEU, demo.KeyMobileEU, demo.KeyWebCA, demo.KeyMobileCA,
		demo.KeyKioskParis, demo.KeyKioskLyon, demo.KeyKioskBordeaux, demo.KeyKioskMontreal,
		demo.KeyPOSParis, demo.KeyPOSLyon, demo.KeyPOSBordeaux, demo.KeyPOSMontreal,
	} {
		if !keys[k] {
			t.Errorf("constant key %s is not a channel", k)
		}
	}
	if len(keys) != 12 {
		t.Errorf("%d channels, want 12", len(keys))
	}
}

func haversineKm(lat1, lng1, lat2, lng2 float64) float64 {
	rad := math.Pi / 180
	dLat, dLng := (lat2-lat1)*rad, (lng2-lng1)*rad
	h := math.Pow(math.Sin(dLat/2), 2) + math.Cos(lat1*rad)*math.Cos(lat2*rad)*math.Pow(math.Sin(dLng/2), 2)
	return 2 * 6371.0088 * math.Asin(math.Sqrt(h))
}
