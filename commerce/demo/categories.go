package demo

import (
	"github.com/google/uuid"

	"github.com/omnicanal/omnicanal/commerce"
)

// Handles of demo categories that tests and docs may name. The tree has three
// levels under Vêtements (Vêtements > Hauts > Pulls) and two elsewhere, so a
// reader that only looks one level up or down is caught by the demo data.
const (
	CategoryShoes       = "chaussures"
	CategoryRunning     = "chaussures-de-course"
	CategoryApparel     = "vetements"
	CategoryJackets     = "vestes"
	CategoryTops        = "hauts"
	CategorySweaters    = "pulls"
	CategoryAccessories = "accessoires"
	CategorySocks       = "chaussettes"
)

// CategoryID is the id of the demo category with the given handle.
func CategoryID(handle string) commerce.ID {
	return uuid.NewSHA1(namespace, []byte("category:"+handle))
}

// Category is one demo category, as stored in the categories table. Products
// belong to leaves only; a product is in a parent category because its leaf
// is, which the tree says and product_categories does not repeat.
type Category struct {
	ID       commerce.ID
	Parent   string // handle of the parent; empty for a root
	Handle   string
	Name     string
	Position int // among its siblings, from 1
}

// node is a category of the tree below, with what it maps to.
type node struct {
	handle, name string
	// A leaf takes every product of its product type, or only those of the
	// given kinds when the product type is split across several leaves (as
	// Accessoires is).
	from     *category
	kinds    []string
	children []node
}

// tree is the category tree, in display order. A product type split across
// leaves keeps its one product_type value: the categories refine it, they do
// not replace it.
var tree = []node{
	{handle: CategoryShoes, name: "Chaussures", children: []node{
		{handle: CategoryRunning, name: "Chaussures de course", from: running},
		{handle: "baskets", name: "Baskets", from: sneakers},
		{handle: "bottes", name: "Bottes", from: boots},
		{handle: "sandales", name: "Sandales", from: sandals},
	}},
	{handle: CategoryApparel, name: "Vêtements", children: []node{
		{handle: CategoryJackets, name: "Vestes", from: jackets},
		{handle: CategoryTops, name: "Hauts", children: []node{
			{handle: CategorySweaters, name: "Pulls", from: sweaters},
			{handle: "t-shirts", name: "T-shirts", from: tshirts},
			{handle: "chemises", name: "Chemises", from: shirts},
		}},
		{handle: "bas", name: "Bas", children: []node{
			{handle: "jeans", name: "Jeans", from: jeans},
			{handle: "pantalons", name: "Pantalons", from: trousers},
		}},
	}},
	{handle: CategoryAccessories, name: "Accessoires", children: []node{
		{handle: CategorySocks, name: "Chaussettes", from: accessories, kinds: []string{"Chaussettes techniques"}},
		{handle: "bonnets-et-casquettes", name: "Bonnets et casquettes", from: accessories, kinds: []string{"Bonnet en laine", "Casquette"}},
		{handle: "echarpes-et-gants", name: "Écharpes et gants", from: accessories, kinds: []string{"Écharpe en laine", "Gants en polaire"}},
		{handle: "sacs", name: "Sacs", from: accessories, kinds: []string{"Sac à dos", "Tote bag en toile"}},
		{handle: "ceintures", name: "Ceintures", from: accessories, kinds: []string{"Ceinture en cuir"}},
	}},
}

// Categories returns the demo category tree, parents before their children
// (depth first, in display order). Each call returns a fresh slice.
func Categories() []Category {
	var cs []Category
	var walk func(parent string, ns []node)
	walk = func(parent string, ns []node) {
		for i, n := range ns {
			cs = append(cs, Category{ID: CategoryID(n.handle), Parent: parent, Handle: n.handle, Name: n.name, Position: i + 1})
			walk(n.handle, n.children)
		}
	}
	walk("", tree)
	return cs
}

// leafOf returns the handle of the leaf category that a product of spec s
// belongs to, or "" when the tree forgets it (which the tests catch).
func leafOf(s *spec) string {
	var byType string
	var walk func(ns []node) string
	walk = func(ns []node) string {
		for _, n := range ns {
			if n.from == s.cat {
				if len(n.kinds) == 0 {
					byType = n.handle
				}
				for _, k := range n.kinds {
					if k == s.kind.title {
						return n.handle
					}
				}
			}
			if h := walk(n.children); h != "" {
				return h
			}
		}
		return ""
	}
	if h := walk(tree); h != "" {
		return h
	}
	return byType
}
