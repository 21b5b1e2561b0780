// Command genlists makes gqlgen's generated code marshal a list in order
// when nothing selected under its elements can wait (see marshalList in
// graph/generated/lists.go), and compute an object's path for its
// deferred fields only when it has any (see deferredPath there). `make
// generate` runs it after gqlgen.
//
// gqlgen gives every element of every list of objects a goroutine of its
// own, so that the elements' resolvers run at once and their dataloaders
// batch; the template has no other choice. genlists rewrites each such
// call into a call of marshalList, and writes beside it the table that
// marshalList decides with: for every object type, the fields gqlgen runs
// concurrently (resolvers and methods that take a context), read off the
// generated code itself (the fields it hands to out.Concurrently).
//
// Running it again on its own output changes nothing.
package main

import (
	"bytes"
	"flag"
	"fmt"
	"go/format"
	"log"
	"maps"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
)

func main() {
	file := flag.String("file", "graph/generated/generated.go", "gqlgen's generated exec file, rewritten in place")
	flag.Parse()
	if err := run(*file); err != nil {
		log.Fatalf("genlists: %v", err)
	}
}

func run(file string) error {
	src, err := os.ReadFile(file)
	if err != nil {
		return err
	}
	types := objectTypes(src)
	if len(types) == 0 {
		return fmt.Errorf("%s: no object marshaller found: has gqlgen's output changed?", file)
	}
	out, err := format.Source(rewriteDeferredPaths(rewriteLists(src, types)))
	if err != nil {
		return err
	}
	if !bytes.Contains(out, []byte("ec.marshalList(")) {
		return fmt.Errorf("%s: no list marshalling found to rewrite: has gqlgen's output changed?", file)
	}
	if !bytes.Contains(out, []byte(deferredPathCall)) || bytes.Contains(out, []byte("graphql.GetPath(ctx)")) {
		return fmt.Errorf("%s: the deferred groups' paths were not all rewritten: has gqlgen's output changed?", file)
	}
	if err := os.WriteFile(file, out, 0o644); err != nil {
		return err
	}
	table, err := format.Source(tableSource(types))
	if err != nil {
		return err
	}
	return os.WriteFile(filepath.Join(filepath.Dir(file), "lists_gen.go"), table, 0o644)
}

// objectType is what marshalList needs to know of an object type.
type objectType struct {
	implementors string   // the generated variable holding the names it satisfies
	waiting      []string // its fields gqlgen resolves concurrently, sorted
}

var (
	// An object's marshaller, as gqlgen writes it: its name is "_" and the
	// type's, and it collects the selected fields by its implementors.
	objectFunc    = regexp.MustCompile(`(?m)^func \(ec \*executionContext\) _(\w+)\(ctx context\.Context, sel ast\.SelectionSet, obj [^)]*\) graphql\.Marshaler \{\n\tfields := graphql\.CollectFields\(ec\.OperationContext, sel, (\w+Implementors)\)\n`)
	fieldCase     = regexp.MustCompile(`(?m)^\t\tcase "(\w+)":\n`)
	funcEnd       = regexp.MustCompile(`(?m)^}\n`)
	concurrently  = "out.Concurrently("
	listMarshal   = regexp.MustCompile(`graphql\.MarshalSliceConcurrently\(ctx, len\(v\), (\d+), (true|false), func\(ctx context\.Context, i int\) graphql\.Marshaler \{\n(\s*fc := graphql\.GetFieldContext\(ctx\)\n\s*fc\.Result = &v\[i\]\n\s*return ec\.marshal[NO](\w+))`)
	listRewritten = `ec.marshalList(ctx, sel, %q, len(v), $1, $2, func(ctx context.Context, i int) graphql.Marshaler {
$3`
)

// objectTypes reads every object type's marshaller in src.
func objectTypes(src []byte) map[string]objectType {
	types := map[string]objectType{}
	for _, m := range objectFunc.FindAllSubmatchIndex(src, -1) {
		name, impl := string(src[m[2]:m[3]]), string(src[m[4]:m[5]])
		body := src[m[1]:]
		if end := funcEnd.FindIndex(body); end != nil {
			body = body[:end[0]]
		}
		t := objectType{implementors: impl}
		cases := fieldCase.FindAllSubmatchIndex(body, -1)
		for i, c := range cases {
			next := len(body)
			if i+1 < len(cases) {
				next = cases[i+1][0]
			}
			if bytes.Contains(body[c[1]:next], []byte(concurrently)) {
				t.waiting = append(t.waiting, string(body[c[2]:c[3]]))
			}
		}
		slices.Sort(t.waiting)
		types[name] = t
	}
	return types
}

// rewriteLists replaces each concurrent marshalling of a list of a known
// object type by marshalList. Lists of other types (interfaces, unions,
// enums) keep gqlgen's.
func rewriteLists(src []byte, types map[string]objectType) []byte {
	return listMarshal.ReplaceAllFunc(src, func(call []byte) []byte {
		m := listMarshal.FindSubmatch(call)
		elem := elementType(string(m[4]), types)
		if elem == "" {
			return call
		}
		return listMarshal.ReplaceAll(call, []byte(fmt.Sprintf(listRewritten, elem)))
	})
}

var deferredGroupPath = regexp.MustCompile(`(Defers:\s+deferLabelToView,\n\s+Path:\s+)graphql\.GetPath\(ctx\),`)

const deferredPathCall = "deferredPath(ctx, deferLabelToView)"

// rewriteDeferredPaths makes every object marshaller compute the path it
// hands to ProcessDeferredGroup only when it has deferred fields.
func rewriteDeferredPaths(src []byte) []byte {
	return deferredGroupPath.ReplaceAll(src, []byte("${1}"+deferredPathCall+","))
}

// elementType returns the object type an element marshaller marshals, ""
// for none: gqlgen names it "marshal", N or O, the GraphQL type's name,
// "2" and the Go type's, so the longest type name followed by "2" is it
// (a type's name may hold a 2 itself).
func elementType(marshaller string, types map[string]objectType) string {
	elem := ""
	for name := range types {
		if len(name) > len(elem) && strings.HasPrefix(marshaller, name+"2") {
			elem = name
		}
	}
	return elem
}

// tableSource is the Go file of the table marshalList reads.
func tableSource(types map[string]objectType) []byte {
	var b strings.Builder
	b.WriteString(`// Code generated by graph/internal/genlists; DO NOT EDIT.

package generated

// listTypes holds, for every object type, the names it satisfies and the
// fields gqlgen resolves concurrently: see marshalList.
var listTypes = map[string]listType{
`)
	for _, name := range slices.Sorted(maps.Keys(types)) {
		t := types[name]
		waiting := "nil"
		if len(t.waiting) > 0 {
			waiting = fmt.Sprintf("%#v", t.waiting)
		}
		fmt.Fprintf(&b, "\t%q: {%s, %s},\n", name, t.implementors, waiting)
	}
	b.WriteString("}\n")
	return []byte(b.String())
}
