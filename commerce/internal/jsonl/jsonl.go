// Package jsonl reads the JSON Lines feeds of the commerce areas (the
// catalog import, the stock feed): line by line, bounded in line length
// and count, one JSON object per line.
package jsonl

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"strings"
)

// Line is one non-blank line of a feed.
type Line struct {
	N   int    // its number, from 1, blank lines included
	Raw []byte // its bytes without the newline; nil when TooLong or TooMany
	// TooLong: the line is longer than the limit; it was read to its end
	// but not kept.
	TooLong bool
	// TooMany: the line is over the line count limit; reading stops
	// after it.
	TooMany bool
}

// Each reads r and calls fn with each non-blank line, in order, until the
// input ends, the line count limit is passed (fn gets the first line over
// it, then Each returns nil), ctx ends, reading fails or fn returns an
// error. Lines longer than maxBytes are reported, not returned.
func Each(ctx context.Context, r io.Reader, maxBytes, maxLines int, fn func(Line) error) error {
	br := bufio.NewReaderSize(r, 64<<10)
	count := 0
	for n := 1; ; n++ {
		if err := ctx.Err(); err != nil {
			return err
		}
		raw, tooLong, readErr := readLine(br, maxBytes)
		if readErr != nil && !errors.Is(readErr, io.EOF) {
			return fmt.Errorf("reading line %d: %w", n, readErr)
		}
		if len(bytes.TrimSpace(raw)) > 0 || tooLong {
			count++
			l := Line{N: n, Raw: raw, TooLong: tooLong}
			if count > maxLines {
				l = Line{N: n, TooMany: true}
				readErr = io.EOF // stop reading: the input is over the limit
			}
			if err := fn(l); err != nil {
				return err
			}
		}
		if readErr != nil { // io.EOF: the last line was handled above
			return nil
		}
	}
}

// readLine reads one line without its newline. A line longer than max is
// consumed to its end but not returned, and reported as tooLong.
func readLine(br *bufio.Reader, max int) (line []byte, tooLong bool, err error) {
	for {
		chunk, err := br.ReadSlice('\n')
		if !tooLong {
			if len(line)+len(chunk) > max+1 { // +1: the newline itself does not count
				tooLong, line = true, nil
			} else {
				line = append(line, chunk...)
			}
		}
		if errors.Is(err, bufio.ErrBufferFull) {
			continue
		}
		return bytes.TrimSuffix(line, []byte("\n")), tooLong, err
	}
}

// Decode decodes one line holding one JSON object into v, refusing unknown
// keys. Its error describes the problem without echoing the input.
func Decode(raw []byte, v any) error {
	dec := json.NewDecoder(bytes.NewReader(raw))
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		return errors.New(problem(err))
	}
	if dec.More() {
		return errors.New("a line holds one JSON object")
	}
	return nil
}

// problem describes a decoding error briefly.
func problem(err error) string {
	var typeErr *json.UnmarshalTypeError
	if errors.As(err, &typeErr) {
		return fmt.Sprintf("%s must be a %s, not a %s", typeErr.Field, typeErr.Type, typeErr.Value)
	}
	if msg := strings.TrimPrefix(err.Error(), "json: "); len(msg) < 200 {
		return msg
	}
	return "invalid JSON"
}
