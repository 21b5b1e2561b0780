package graph

import (
	"encoding/base64"
	"strconv"
	"strings"

	"github.com/omnicanal/omnicanal/commerce"
	"github.com/omnicanal/omnicanal/graph/model"
)

// maxFirst caps every `first` argument, whatever the connection.
const maxFirst = 100

// pageSize reads a `first` argument: its default when omitted, else 0..maxFirst.
func pageSize(first *int, def int) (int, error) {
	if first == nil {
		return def, nil
	}
	if *first < 0 || *first > maxFirst {
		return 0, commerce.InvalidInput("first", "first must be between 0 and %d", maxFirst)
	}
	return *first, nil
}

// Cursors are opaque to clients: base64 of "kind:key". The kind stops a
// cursor of one connection from being replayed against another.
func encodeCursor(kind, key string) string {
	return base64.RawURLEncoding.EncodeToString([]byte(kind + ":" + key))
}

func decodeCursor(after *string, kind string) (string, error) {
	if after == nil || *after == "" {
		return "", nil
	}
	raw, err := base64.RawURLEncoding.DecodeString(*after)
	key, ok := strings.CutPrefix(string(raw), kind+":")
	if err != nil || !ok {
		return "", commerce.InvalidInput("after", "after is not a cursor of this list")
	}
	return key, nil
}

// offsetPage cuts one page out of a short, fully loaded list (stores) using
// offset cursors, and reports where it sits.
func offsetPage[T any](all []T, first *int, after *string, kind string) ([]T, int, *model.PageInfo, error) {
	n, err := pageSize(first, 20)
	if err != nil {
		return nil, 0, nil, err
	}
	key, err := decodeCursor(after, kind)
	if err != nil {
		return nil, 0, nil, err
	}
	start := 0
	if key != "" {
		i, err := strconv.Atoi(key)
		if err != nil || i < 0 {
			return nil, 0, nil, commerce.InvalidInput("after", "after is not a cursor of this list")
		}
		start = min(i+1, len(all))
	}
	end := min(start+n, len(all))
	info := &model.PageInfo{HasNextPage: end < len(all), HasPreviousPage: start > 0}
	if end > start {
		s, e := encodeCursor(kind, strconv.Itoa(start)), encodeCursor(kind, strconv.Itoa(end-1))
		info.StartCursor, info.EndCursor = &s, &e
	}
	return all[start:end], start, info, nil
}
