package prefactor

import (
	"bytes"
	"encoding/json"
	"fmt"
	"reflect"
	"strings"
	"sync"
	"time"
)

// This file holds the fast path for decoding list bodies. encoding/json
// spends most of a page's time in reflection and allocates every string,
// pointer and slice growth on its own; a page of 100 tokens is about 900
// allocations. The fast path reads the common shape of a body in one pass
// and allocates per page, not per token: one []APIToken for all tokens, one
// string holding all their distinct text, one []string and one []time.Time
// behind the pointer fields. Enum-like values ("api_token", "active", …)
// are the package's constants and cost nothing.
//
// It handles a strict subset of JSON: strings of printable ASCII without
// escapes, integers, null, and values it skips without keeping. On anything
// else — an escape, a float where an int belongs, a key that matches a field
// only case-insensitively, a duplicate key, a field type it does not know —
// it gives up without touching its output, and decodeSuccess (request.go)
// decodes the body with encoding/json instead. Results and error messages are therefore
// always those of encoding/json; decode_test.go checks the two agree.
//
// The fields it fills are read from the struct tags of APIToken, Pagination
// and Sorting when the package loads, so a field added to those types is
// decoded here too (or, for a type the fast path does not know, sends every
// body that has the field to encoding/json). APIToken.AvailableActions is
// such a field on purpose: list summaries never carry available_actions.

// maxPageItems bounds the items of one page. The API sends at most 100; a
// page of a million empty objects would otherwise cost hundreds of bytes of
// memory for each three bytes received.
const maxPageItems = 1000

// errTooManyItems is the error for a page of more than maxPageItems items.
var errTooManyItems = fmt.Errorf("%w: a page holds more than %d items", ErrResponseTooLarge, maxPageItems)

// tokenList is the summaries array of a list body. Decoding it stops at
// maxPageItems, so what a page can cost is bounded by the bytes received
// and by that cap, whichever path decodes it.
type tokenList []*APIToken

// UnmarshalJSON decodes the array one element at a time and refuses more
// than maxPageItems with an error matching ErrResponseTooLarge.
func (l *tokenList) UnmarshalJSON(b []byte) error {
	if string(b) == "null" {
		*l = nil
		return nil
	}
	dec := json.NewDecoder(bytes.NewReader(b))
	if t, err := dec.Token(); err != nil {
		return err
	} else if t != json.Delim('[') {
		return &json.UnmarshalTypeError{Value: "non-array", Type: reflect.TypeFor[tokenList]()}
	}
	items := make(tokenList, 0, min(maxPageItems, 128))
	for dec.More() {
		if len(items) == maxPageItems {
			return errTooManyItems
		}
		var tok *APIToken
		if err := dec.Decode(&tok); err != nil {
			return err
		}
		items = append(items, tok)
	}
	*l = items
	return nil
}

// fastDecoder is an envelope that can decode a whole 2xx body itself.
// decodeFast reports false, leaving the receiver untouched, when the body is
// outside the subset it handles; it returns an error, also leaving the
// receiver untouched, for a body it refuses outright (a page of more than
// maxPageItems items), so that the body is not decoded a second time.
type fastDecoder interface {
	envelope
	decodeFast(body []byte) (bool, error)
}

// fieldKind is how the fast path fills one struct field.
type fieldKind uint8

const (
	kindUnsupported fieldKind = iota // the body goes to encoding/json
	kindString                       // any string type
	kindStringPtr                    // *string
	kindTime                         // time.Time
	kindTimePtr                      // *time.Time
	kindInt                          // int
	kindIntPtr                       // *int
)

type structField struct {
	name  string // JSON key
	index int    // field index in the struct
	kind  fieldKind
}

// structFields lists the JSON fields of a struct type the way encoding/json
// names them. ok is false when the type has a shape the fast path does not
// model (embedded fields, the ",string" option); it then never decodes that
// type.
func structFields(t reflect.Type) (fields []structField, ok bool) {
	var (
		stringPtr = reflect.TypeFor[*string]()
		timeType  = reflect.TypeFor[time.Time]()
		timePtr   = reflect.TypeFor[*time.Time]()
		intPtr    = reflect.TypeFor[*int]()
	)
	for i := range t.NumField() {
		f := t.Field(i)
		if f.Anonymous {
			return nil, false
		}
		if !f.IsExported() {
			continue
		}
		name, opts, _ := strings.Cut(f.Tag.Get("json"), ",")
		if name == "-" && opts == "" {
			continue
		}
		if name == "" {
			name = f.Name
		}
		for _, opt := range strings.Split(opts, ",") {
			if opt != "" && opt != "omitempty" && opt != "omitzero" {
				return nil, false // ",string" changes decoding
			}
		}
		sf := structField{name: name, index: i}
		switch {
		case f.Type == stringPtr:
			sf.kind = kindStringPtr
		case f.Type == timeType:
			sf.kind = kindTime
		case f.Type == timePtr:
			sf.kind = kindTimePtr
		case f.Type == intPtr:
			sf.kind = kindIntPtr
		case f.Type.Kind() == reflect.String:
			sf.kind = kindString
		case f.Type.Kind() == reflect.Int:
			sf.kind = kindInt
		}
		fields = append(fields, sf)
	}
	return fields, len(fields) <= 64 // seen-sets are 64-bit masks
}

// fieldTable is the decoded form of one struct type.
type fieldTable struct {
	fields []structField
	ok     bool
}

func newFieldTable(t reflect.Type) *fieldTable {
	fields, ok := structFields(t)
	return &fieldTable{fields: fields, ok: ok}
}

// lookup finds key among the fields. It reports -1 and false for a key
// that matches no field even case-insensitively (skip it), and -1 and true
// for one that matches only case-insensitively, as encoding/json would
// accept (give up).
func (t *fieldTable) lookup(key []byte) (i int, giveUp bool) {
	for i, f := range t.fields {
		if string(key) == f.name {
			return i, false
		}
	}
	for _, f := range t.fields {
		if bytes.EqualFold(key, []byte(f.name)) {
			return -1, true
		}
	}
	return -1, false
}

var (
	tokenTable      = newFieldTable(reflect.TypeFor[APIToken]())
	paginationTable = newFieldTable(reflect.TypeFor[Pagination]())
	sortingTable    = newFieldTable(reflect.TypeFor[Sorting]())
)

// intern returns the package's copy of the enum-like values the API sends on
// every token, so decoding them allocates nothing.
func intern(b []byte) (string, bool) {
	switch string(b) {
	case "api_token":
		return "api_token", true
	case string(TokenStatusActive):
		return string(TokenStatusActive), true
	case string(TokenStatusSuspended):
		return string(TokenStatusSuspended), true
	case string(TokenStatusRevoked):
		return string(TokenStatusRevoked), true
	case string(TokenScopeAccount):
		return string(TokenScopeAccount), true
	case string(TokenScopeEnvironment):
		return string(TokenScopeEnvironment), true
	case string(TokenScopeAgentDeployment):
		return string(TokenScopeAgentDeployment), true
	case "success":
		return "success", true
	case string(SortAsc):
		return string(SortAsc), true
	case string(SortDesc):
		return string(SortDesc), true
	case string(SortByID):
		return string(SortByID), true
	}
	return "", false
}

// scanner reads JSON from a byte slice. Its methods report false on
// anything outside the fast path's subset.
type scanner struct {
	b []byte
	i int
}

// maxSkipDepth bounds the nesting of values the fast path skips; deeper
// ones go to encoding/json, which has its own limit.
const maxSkipDepth = 64

func (s *scanner) space() {
	for s.i < len(s.b) {
		switch s.b[s.i] {
		case ' ', '\t', '\n', '\r':
			s.i++
		default:
			return
		}
	}
}

// peek returns the next byte after white space, or 0 at the end.
func (s *scanner) peek() byte {
	s.space()
	if s.i < len(s.b) {
		return s.b[s.i]
	}
	return 0
}

// consume skips c, after white space, and reports whether it was there.
func (s *scanner) consume(c byte) bool {
	if s.peek() == c {
		s.i++
		return true
	}
	return false
}

// literal consumes lit ("null", "true", "false").
func (s *scanner) literal(lit string) bool {
	s.space()
	if bytes.HasPrefix(s.b[s.i:], []byte(lit)) {
		s.i += len(lit)
		return true
	}
	return false
}

// str reads a string of printable ASCII without escapes and returns its
// contents, which alias the input, and the quoted form.
func (s *scanner) str() (contents, quoted []byte, ok bool) {
	if s.peek() != '"' {
		return nil, nil, false
	}
	b, start := s.b, s.i
	j := start + 1
	for j < len(b) && plainByte[b[j]] {
		j++
	}
	if j < len(b) && b[j] == '"' {
		s.i = j + 1
		return b[start+1 : j], b[start : j+1], true
	}
	return nil, nil, false
}

// plainByte marks the bytes str accepts inside a string: printable ASCII
// but the quote and the backslash.
var plainByte = func() (t [256]bool) {
	for c := 0x20; c < 0x80; c++ {
		t[c] = c != '"' && c != '\\'
	}
	return t
}()

// int reads an integer without fraction or exponent that fits in an int.
func (s *scanner) int() (int, bool) {
	s.space()
	b, i := s.b, s.i
	neg := i < len(b) && b[i] == '-'
	if neg {
		i++
	}
	if i >= len(b) || b[i] < '0' || b[i] > '9' {
		return 0, false
	}
	const limit = int(^uint(0)>>1) / 10
	n := 0
	if b[i] == '0' {
		i++
	} else {
		for ; i < len(b) && b[i] >= '0' && b[i] <= '9'; i++ {
			if n > limit {
				return 0, false
			}
			n = n*10 + int(b[i]-'0')
			if n < 0 {
				return 0, false
			}
		}
	}
	if i < len(b) && (b[i] == '.' || b[i] == 'e' || b[i] == 'E' || (b[i] >= '0' && b[i] <= '9')) {
		return 0, false
	}
	s.i = i
	if neg {
		n = -n
	}
	return n, true
}

// skip reads and discards any JSON value, checking its syntax.
func (s *scanner) skip(depth int) bool {
	if depth > maxSkipDepth {
		return false
	}
	switch c := s.peek(); {
	case c == '"':
		return s.skipString()
	case c == '{':
		s.i++
		if s.consume('}') {
			return true
		}
		for {
			if s.peek() != '"' || !s.skipString() || !s.consume(':') || !s.skip(depth+1) {
				return false
			}
			if !s.consume(',') {
				return s.consume('}')
			}
		}
	case c == '[':
		s.i++
		if s.consume(']') {
			return true
		}
		for {
			if !s.skip(depth + 1) {
				return false
			}
			if !s.consume(',') {
				return s.consume(']')
			}
		}
	case c == 't':
		return s.literal("true")
	case c == 'f':
		return s.literal("false")
	case c == 'n':
		return s.literal("null")
	case c == '-' || (c >= '0' && c <= '9'):
		return s.skipNumber()
	}
	return false
}

// skipString skips a string, escapes and any bytes but control characters
// included, as encoding/json accepts them.
func (s *scanner) skipString() bool {
	b := s.b
	for j := s.i + 1; j < len(b); j++ {
		switch c := b[j]; {
		case c == '"':
			s.i = j + 1
			return true
		case c < 0x20:
			return false
		case c == '\\':
			j++
			if j >= len(b) {
				return false
			}
			switch b[j] {
			case '"', '\\', '/', 'b', 'f', 'n', 'r', 't':
			case 'u':
				if j+4 >= len(b) {
					return false
				}
				for _, h := range b[j+1 : j+5] {
					if !('0' <= h && h <= '9' || 'a' <= h && h <= 'f' || 'A' <= h && h <= 'F') {
						return false
					}
				}
				j += 4
			default:
				return false
			}
		}
	}
	return false
}

// skipNumber skips a number in JSON's grammar.
func (s *scanner) skipNumber() bool {
	b, i := s.b, s.i
	digits := func() bool {
		start := i
		for i < len(b) && b[i] >= '0' && b[i] <= '9' {
			i++
		}
		return i > start
	}
	if i < len(b) && b[i] == '-' {
		i++
	}
	switch {
	case i < len(b) && b[i] == '0':
		i++
	case !digits():
		return false
	}
	if i < len(b) && b[i] == '.' {
		i++
		if !digits() {
			return false
		}
	}
	if i < len(b) && (b[i] == 'e' || b[i] == 'E') {
		i++
		if i < len(b) && (b[i] == '+' || b[i] == '-') {
			i++
		}
		if !digits() {
			return false
		}
	}
	s.i = i
	return true
}

// fixup is a string or pointer field of a decoded token that gets its value
// once the page's shared allocations exist.
type fixup struct {
	token int32
	field int32 // index into tokenTable.fields
	off   int32 // into the text arena, or the index in the times slice
	n     int32 // length in the arena; -1 for a *time.Time
}

// tokenDecoder holds the scratch space of one page's decoding; it is pooled
// so that, once warm, only the page's own results are allocated.
type tokenDecoder struct {
	s      scanner
	tokens []APIToken // decoded tokens before they move to the page's slab
	text   []byte     // the distinct string values of the page, back to back
	fixups []fixup
	times  []time.Time // values behind *time.Time fields
	nPtrs  int         // how many *string fields are set
	last   []span      // per field, the last value placed in text
	// tooMany is set when the page holds more than maxPageItems items.
	tooMany bool
}

type span struct{ off, n int32 }

var tokenDecoders = sync.Pool{New: func() any { return new(tokenDecoder) }}

// maxPooledScratch keeps a page with unusually large values from pinning its
// scratch space in the pool.
const maxPooledScratch = 1 << 20

func (d *tokenDecoder) release() {
	clear(d.tokens)
	clear(d.times)
	d.tokens, d.text, d.fixups, d.times, d.nPtrs, d.tooMany = d.tokens[:0], d.text[:0], d.fixups[:0], d.times[:0], 0, false
	d.s = scanner{}
	if cap(d.text) > maxPooledScratch || cap(d.tokens) > 4096 {
		return
	}
	tokenDecoders.Put(d)
}

// decodeFast fills r from body; see fastDecoder.
func (r *listAPITokensResponse) decodeFast(body []byte) (bool, error) {
	if !tokenTable.ok || !paginationTable.ok || !sortingTable.ok {
		return false, nil
	}
	d := tokenDecoders.Get().(*tokenDecoder)
	defer d.release()
	d.s = scanner{b: body}
	var out listAPITokensResponse
	if !d.envelope(&out) {
		if d.tooMany {
			return false, errTooManyItems
		}
		return false, nil
	}
	*r = out
	return true, nil
}

// envelope reads {"status":…,"summaries":[…],"pagination":…,"sorting":…}.
func (d *tokenDecoder) envelope(out *listAPITokensResponse) bool {
	s := &d.s
	if !s.consume('{') {
		return false
	}
	if s.consume('}') {
		return true
	}
	var seen uint8
	for {
		key, _, ok := s.str()
		if !ok || !s.consume(':') {
			return false
		}
		field := envelopeField(key)
		switch {
		case field < 0:
			return false // a case-insensitive match: encoding/json's call
		case field > 0 && seen&(1<<field) != 0:
			return false // a repeated key: leave the merging rules to encoding/json
		}
		seen |= 1 << field
		switch field {
		case envStatus:
			v, _, ok := s.str()
			if !ok {
				return false
			}
			if out.Status, ok = intern(v); !ok {
				out.Status = string(v)
			}
		case envSummaries:
			items, ok := d.summaries()
			if !ok {
				return false
			}
			list := tokenList(items)
			out.Summaries = &list
		case envPagination:
			if !s.literal("null") {
				p := new(Pagination)
				if !d.object(reflect.ValueOf(p).Elem(), paginationTable, -1) {
					return false
				}
				out.Pagination = p
			}
		case envSorting:
			if !s.literal("null") {
				v := new(Sorting)
				if !d.object(reflect.ValueOf(v).Elem(), sortingTable, -1) {
					return false
				}
				out.Sorting = v
			}
		default:
			if !s.skip(1) {
				return false
			}
		}
		if !s.consume(',') {
			return s.consume('}')
		}
	}
}

// The keys of a list body, as envelopeField numbers them.
const (
	envOther = iota
	envStatus
	envSummaries
	envPagination
	envSorting
)

var envelopeKeys = [...]string{envStatus: "status", envSummaries: "summaries", envPagination: "pagination", envSorting: "sorting"}

// envelopeField numbers a key of the list body: envOther for one to skip,
// -1 for one that matches a known key only case-insensitively.
func envelopeField(key []byte) int {
	for i, k := range envelopeKeys {
		if i != envOther && string(key) == k {
			return i
		}
	}
	for i, k := range envelopeKeys {
		if i != envOther && bytes.EqualFold(key, []byte(k)) {
			return -1
		}
	}
	return envOther
}

// summaries reads the array of tokens and moves them to one slab.
func (d *tokenDecoder) summaries() ([]*APIToken, bool) {
	s := &d.s
	if !s.consume('[') {
		return nil, false
	}
	if len(d.last) != len(tokenTable.fields) {
		d.last = make([]span, len(tokenTable.fields))
	}
	for i := range d.last {
		d.last[i] = span{n: -1}
	}
	if !s.consume(']') {
		for {
			d.tokens = append(d.tokens, APIToken{})
			if len(d.tokens) > maxPageItems {
				d.tooMany = true
				return nil, false
			}
			i := len(d.tokens) - 1
			if !d.object(reflect.ValueOf(&d.tokens[i]).Elem(), tokenTable, i) {
				return nil, false
			}
			if !s.consume(',') {
				if !s.consume(']') {
					return nil, false
				}
				break
			}
		}
	}

	// The page's allocations: tokens, text, pointer targets, item pointers.
	slab := make([]APIToken, len(d.tokens))
	copy(slab, d.tokens)
	text := string(d.text)
	var strs []string
	if d.nPtrs > 0 {
		strs = make([]string, 0, d.nPtrs)
	}
	var times []time.Time
	if len(d.times) > 0 {
		times = make([]time.Time, len(d.times))
		copy(times, d.times)
	}
	for _, f := range d.fixups {
		v := reflect.ValueOf(&slab[f.token]).Elem().Field(tokenTable.fields[f.field].index)
		switch {
		case f.n < 0:
			v.Set(reflect.ValueOf(&times[f.off]))
		case tokenTable.fields[f.field].kind == kindStringPtr:
			strs = append(strs, text[f.off:f.off+f.n])
			v.Set(reflect.ValueOf(&strs[len(strs)-1]))
		default:
			v.SetString(text[f.off : f.off+f.n])
		}
	}
	items := make([]*APIToken, len(slab))
	for i := range slab {
		items[i] = &slab[i]
	}
	return items, true
}

// object reads a JSON object into v, a struct described by table. token is
// the index of the token being decoded, whose string and pointer fields
// wait for the page's shared allocations, or -1 for a struct filled at once.
func (d *tokenDecoder) object(v reflect.Value, table *fieldTable, token int) bool {
	s := &d.s
	if !s.consume('{') {
		return false
	}
	if s.consume('}') {
		return true
	}
	var seen uint64
	for {
		key, _, ok := s.str()
		if !ok || !s.consume(':') {
			return false
		}
		i, giveUp := table.lookup(key)
		switch {
		case giveUp:
			return false
		case i < 0:
			if !s.skip(1) {
				return false
			}
		default:
			if seen&(1<<i) != 0 {
				return false
			}
			seen |= 1 << i
			if !d.field(v, table, i, token) {
				return false
			}
		}
		if !s.consume(',') {
			return s.consume('}')
		}
	}
}

// field reads the value of field i of v.
func (d *tokenDecoder) field(v reflect.Value, table *fieldTable, i, token int) bool {
	s := &d.s
	f := table.fields[i]
	fv := v.Field(f.index)
	switch f.kind {
	case kindString, kindStringPtr:
		if f.kind == kindStringPtr && s.literal("null") {
			return true
		}
		b, _, ok := s.str()
		if !ok {
			return false
		}
		if f.kind == kindString {
			if c, ok := intern(b); ok {
				fv.SetString(c)
				return true
			}
		}
		if token < 0 {
			if f.kind == kindString {
				fv.SetString(string(b))
			} else {
				fv.Set(reflect.ValueOf(newPtr(string(b))))
			}
			return true
		}
		return d.text1(token, i, b, f.kind == kindStringPtr)
	case kindTime, kindTimePtr:
		if f.kind == kindTimePtr && s.literal("null") {
			return true
		}
		_, quoted, ok := s.str()
		if !ok {
			return false
		}
		if f.kind == kindTime {
			// The same parser encoding/json calls, so results match exactly.
			return fv.Addr().Interface().(*time.Time).UnmarshalJSON(quoted) == nil
		}
		d.times = append(d.times, time.Time{})
		if d.times[len(d.times)-1].UnmarshalJSON(quoted) != nil {
			return false
		}
		if token < 0 {
			fv.Set(reflect.ValueOf(newPtr(d.times[len(d.times)-1])))
			d.times = d.times[:len(d.times)-1]
			return true
		}
		d.fixups = append(d.fixups, fixup{token: int32(token), field: int32(i), off: int32(len(d.times) - 1), n: -1})
		return true
	case kindInt, kindIntPtr:
		if f.kind == kindIntPtr && s.literal("null") {
			return true
		}
		n, ok := s.int()
		if !ok {
			return false
		}
		if f.kind == kindInt {
			fv.SetInt(int64(n))
		} else {
			fv.Set(reflect.ValueOf(newPtr(n)))
		}
		return true
	}
	return false
}

// newPtr returns a pointer to a copy of v.
func newPtr[T any](v T) *T { return &v }

// text1 records a string value of a token: it reuses the previous token's
// value of the same field when equal (one account ID serves a whole page),
// or appends it to the page's text.
func (d *tokenDecoder) text1(token, field int, b []byte, ptr bool) bool {
	if len(d.text)+len(b) > maxSuccessBody {
		return false
	}
	last := d.last[field]
	if last.n != int32(len(b)) || !bytes.Equal(d.text[last.off:last.off+last.n], b) {
		last = span{off: int32(len(d.text)), n: int32(len(b))}
		d.text = append(d.text, b...)
		d.last[field] = last
	}
	d.fixups = append(d.fixups, fixup{token: int32(token), field: int32(field), off: last.off, n: last.n})
	if ptr {
		d.nPtrs++
	}
	return true
}
