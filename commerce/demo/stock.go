package demo

import (
	"math/rand/v2"

	"github.com/omnicanal/omnicanal/commerce"
)

// StockLevel is the quantity of one variant on hand at one location.
type StockLevel struct {
	VariantID    commerce.ID
	LocationID   commerce.ID
	SKU          string
	LocationCode string
	OnHand       int
}

// stockProfile is how deep a location stocks the range.
type stockProfile struct {
	zeroPct int // chance in percent that it holds none of a variant
	max     int // most units it holds of a best-selling size and colour
}

// stockProfiles: warehouses hold most of the stock and seldom run out; stores
// hold a few units and often none, so that "not in this store, but in
// Lyon" is common. Paris, the flagship, is the best stocked store.
var stockProfiles = map[string]stockProfile{
	CodeParis:       {zeroPct: 40, max: 9},
	CodeLyon:        {zeroPct: 45, max: 7},
	CodeBordeaux:    {zeroPct: 55, max: 6},
	CodeMontreal:    {zeroPct: 45, max: 8},
	CodeWarehouseFR: {zeroPct: 8, max: 90},
	CodeWarehouseCA: {zeroPct: 15, max: 60},
}

// stockOverrides pins the stock of the variants that the exported SKU
// constants describe, by SKU and then location code.
var stockOverrides = map[string]map[string]int{
	SKUInLyonNotParis: {
		CodeParis: 0, CodeLyon: 4, CodeBordeaux: 2, CodeMontreal: 0,
		CodeWarehouseFR: 36, CodeWarehouseCA: 14,
	},
	SKUSoldOut: {
		CodeParis: 0, CodeLyon: 0, CodeBordeaux: 0, CodeMontreal: 0,
		CodeWarehouseFR: 0, CodeWarehouseCA: 0,
	},
	SKUWarehouseOnly: {
		CodeParis: 0, CodeLyon: 0, CodeBordeaux: 0, CodeMontreal: 0,
		CodeWarehouseFR: 18, CodeWarehouseCA: 6,
	},
}

// sizeWeights is how well each size sells, in percent of the best seller.
var sizeWeights = map[string]int{
	"36": 40, "37": 50, "38": 70, "39": 85, "40": 95, "41": 100,
	"42": 100, "43": 90, "44": 70, "45": 50, "46": 35,
	"XS": 40, "S": 70, "M": 100, "L": 100, "XL": 70, "XXL": 40,
	oneSize[0]: 100,
}

// colourWeights is how well a product's first, second… colour sells, in
// percent: the first colour of a product is its classic.
var colourWeights = []int{100, 70, 50, 40}

// generateStock returns one stock level per variant and location.
func generateStock(products []Product, locs []Location) []StockLevel {
	rng := rand.New(rand.NewPCG(seedStock, 2))
	levels := make([]StockLevel, 0, len(products)*40*len(locs))
	for _, p := range products {
		ci, lastColour := -1, ""
		for _, v := range p.Variants {
			if v.Options[0].Value != lastColour {
				ci, lastColour = ci+1, v.Options[0].Value
			}
			weight := sizeWeights[v.Options[1].Value] * colourWeights[min(ci, len(colourWeights)-1)]
			for _, l := range locs {
				prof := stockProfiles[l.Code]
				// Both draws happen whatever the outcome, so that one
				// variant's stock never shifts the random stream of the next.
				roll, units := rng.IntN(100), rng.IntN(prof.max)
				onHand := 0
				if roll >= prof.zeroPct {
					onHand = 1 + units*weight/10000
				}
				switch {
				case p.Status == "draft" && l.Kind == "store":
					onHand = 0 // the new collection has not reached the shelves
				case p.Status == "archived" && l.Kind == "warehouse":
					onHand = 0 // only leftovers in stores remain
				}
				if o, ok := stockOverrides[v.SKU]; ok {
					onHand = o[l.Code]
				}
				levels = append(levels, StockLevel{
					VariantID: v.ID, LocationID: l.ID,
					SKU: v.SKU, LocationCode: l.Code, OnHand: onHand,
				})
			}
		}
	}
	return levels
}
