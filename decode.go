package prefactor

import (
	"bytes"
	"encoding/binary"
	"encoding/json"
	"fmt"
	"math/bits"
	"strconv"
	"sync"
	"time"
)

// This file holds the fast path for decoding list bodies. encoding/json
// finds every field by name at run time and allocates every string,
// pointer and slice growth on its own: about 900 allocations for a page of
// 100 tokens. The fast path reads the common shape of a body in one pass,
// sets each field in a switch, and allocates per page, not per token: the
// page's []APIToken, one string holding the page's distinct text, one
// []string and one []time.Time behind the pointer fields.
//
// It handles a strict subset of JSON: strings of printable ASCII without
// escapes, integers, null where a pointer takes it, and values it skips
// without keeping. On anything else (an escape, a float where an int
// belongs, a key that matches a field only case-insensitively, a repeated
// key, available_actions) it gives up without touching its output, and
// decodeSuccess (request.go) decodes the body with encoding/json instead.
// Results and error messages are therefore always those of encoding/json;
// decode_test.go and the FuzzDecodeList targets check that the two agree.
//
// The API's habits make it fast: the keys of every token in one order
// (compactToken), timestamps in UTC with a "Z" (parseUTC), and the same
// few values on every token (known).

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
		// encoding/json finds the mismatch for a plain slice, naming the Go
		// type; the value is called "non-array", as it always has been.
		var plain []*APIToken
		err := json.Unmarshal(b, &plain)
		if te, ok := err.(*json.UnmarshalTypeError); ok {
			err = &json.UnmarshalTypeError{Value: "non-array", Type: te.Type}
		}
		return err
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

// decodeFast fills r from body; see fastDecoder.
func (r *listAPITokensResponse) decodeFast(body []byte) (bool, error) {
	if len(body) > maxSuccessBody {
		return false, nil // request.go never asks; the spans are int32
	}
	d := decoders.Get().(*decoder)
	defer d.release()
	d.scanner = scanner{b: body}
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

// decoder holds the scratch space of one page's decoding. It is pooled, so
// that once warm only the page's own results are allocated, and it keeps
// what it learned about the server's habits from one page to the next.
type decoder struct {
	scanner
	slab    []APIToken       // the page's tokens: the results themselves
	pending []pending        // per token, what finish gives it
	text    []byte           // the page's distinct string values, back to back
	last    [nTokenKeys]span // per key, the previous token's value
	nStrs   int              // non-null *string fields: the page's []string
	nTimes  int              // non-null *time.Time fields: the page's []time.Time
	tooMany bool             // the page holds more than maxPageItems items

	order [16]uint8 // the keys of the last token object read, in order (see key)
	hint  int       // the previous page's tokens: the next slab's capacity
}

// pending is what a token's string and pointer fields wait for: the page's
// text and shared slices, which can be made only once every token is read.
type pending struct {
	spans    [nTokenKeys]span // string and *string fields, by key number
	lastUsed time.Time        // LastUsedAt's value, when hasLast
	hasLast  bool
}

// span locates a string value: in the page's text, among the known values,
// or nowhere (the key was absent or null).
type span struct {
	from     uint8 // unset, inText or inKnown
	off, end int32 // for inKnown, off is the index in known
}

const unset, inText, inKnown = 0, 1, 2

func (s span) in(text string) string {
	switch s.from {
	case inText:
		return text[s.off:s.end]
	case inKnown:
		return known[s.off]
	}
	return ""
}

var decoders = sync.Pool{New: func() any { return new(decoder) }}

func (d *decoder) release() {
	if cap(d.text) <= maxPooledText {
		*d = decoder{text: d.text[:0], pending: d.pending[:0], order: d.order, hint: d.hint}
		decoders.Put(d)
	}
}

// keys numbers the keys of one kind of object from 1; 0 stands for any key
// the object does not have, whose value is skipped.
type keys []string

// The key numbers of the four kinds of object.
const (
	envStatus, envSummaries, envPagination, envSorting = 1, 2, 3, 4

	pgItemCount, pgItemStart, pgItemEnd, pgPageCount, pgPageIndex, pgPageOffset, pgPageSize = 1, 2, 3, 4, 5, 6, 7
	pgNextPageOffset, pgPreviousPageOffset                                                  = 8, 9

	srtField, srtDirection = 1, 2
)

const (
	tkID = 1 + iota
	tkType
	tkAccountID
	tkCreatedBy
	tkEnvironmentID
	tkExpiresAt
	tkInsertedAt
	tkUpdatedAt
	tkLastUsedAt
	tkStatus
	tkTokenScope
	tkAgentID
	tkAgentDeploymentID
	tkAvailableActions
	nTokenKeys
)

var (
	envelopeKeys = keys{envStatus: "status", envSummaries: "summaries", envPagination: "pagination", envSorting: "sorting"}
	tokenKeys    = keys{
		tkID: "id", tkType: "type", tkAccountID: "account_id",
		tkCreatedBy: "created_by_admin_user_id", tkEnvironmentID: "environment_id",
		tkExpiresAt: "expires_at", tkInsertedAt: "inserted_at", tkUpdatedAt: "updated_at", tkLastUsedAt: "last_used_at",
		tkStatus: "status", tkTokenScope: "token_scope",
		tkAgentID: "agent_id", tkAgentDeploymentID: "agent_deployment_id",
		tkAvailableActions: "available_actions",
	}
	paginationKeys = keys{
		pgItemCount: "item_count", pgItemStart: "item_start", pgItemEnd: "item_end",
		pgPageCount: "page_count", pgPageIndex: "page_index", pgPageOffset: "page_offset", pgPageSize: "page_size",
		pgNextPageOffset: "next_page_offset", pgPreviousPageOffset: "previous_page_offset",
	}
	sortingKeys = keys{srtField: "field", srtDirection: "direction"}

	// tokenLiterals are the keys of a token as compactToken matches them.
	tokenLiterals = func() (l [nTokenKeys]string) {
		for k, name := range tokenKeys {
			l[k] = `"` + name + `":`
		}
		return l
	}()
)

// lookup numbers key: 0 when it matches no name, -1 when it matches one only
// case-insensitively, which encoding/json would accept (give up).
func (ks keys) lookup(key []byte) int {
	for k := 1; k < len(ks); k++ {
		if string(key) == ks[k] {
			return k
		}
	}
	for k := 1; k < len(ks); k++ {
		if bytes.EqualFold(key, []byte(ks[k])) {
			return -1
		}
	}
	return 0
}

// object reads an object with the keys ks, calling member with the number
// of each key it has once the key's colon is read; member reads the value.
// order, unless nil, learns the numbers of the object's keys, in order,
// ending with 0; an unknown key or too many make order[0] 0.
func (d *decoder) object(ks keys, order []uint8, member func(k int) bool) bool {
	if !d.consume('{') {
		return false
	}
	if d.consume('}') {
		return true
	}
	var seen uint64
	for n := 0; ; n++ {
		k, ok := d.key(ks, order, n)
		switch {
		case !ok:
			return false
		case k == 0:
			if !d.skip(1) {
				return false
			}
		case seen&(1<<k) != 0:
			return false // a repeated key: leave the merging rules to encoding/json
		default:
			seen |= 1 << k
			if !member(k) {
				return false
			}
		}
		if !d.consume(',') {
			return d.consume('}')
		}
	}
}

// key reads the n-th key of an object and its colon; see object.
func (d *decoder) key(ks keys, order []uint8, n int) (int, bool) {
	name, ok := d.str()
	if !ok || !d.consume(':') {
		return 0, false
	}
	k := ks.lookup(name)
	switch {
	case order == nil || k < 0:
	case k == 0 || n >= len(order):
		order[0] = 0 // a key compactToken cannot match: leave such tokens to object
	default:
		order[n] = uint8(k)
		if n+1 < len(order) {
			order[n+1] = 0 // the end, unless another key follows
		}
	}
	return k, k >= 0
}

// envelope reads {"status":…,"summaries":[…],"pagination":…,"sorting":…}.
func (d *decoder) envelope(out *listAPITokensResponse) bool {
	return d.object(envelopeKeys, nil, func(k int) bool {
		var ok bool
		switch k {
		case envStatus:
			out.Status, ok = d.stringValue()
		case envSummaries:
			var items tokenList
			items, ok = d.summaries()
			out.Summaries = &items
		case envPagination:
			if d.literal("null") {
				return true
			}
			out.Pagination = new(Pagination)
			ok = d.pagination(out.Pagination)
		case envSorting:
			if d.literal("null") {
				return true
			}
			out.Sorting = new(Sorting)
			ok = d.sorting(out.Sorting)
		}
		return ok
	})
}

func (d *decoder) pagination(p *Pagination) bool {
	ints := [...]*int{pgItemCount: &p.ItemCount, pgItemStart: &p.ItemStart, pgItemEnd: &p.ItemEnd,
		pgPageCount: &p.PageCount, pgPageIndex: &p.PageIndex, pgPageOffset: &p.PageOffset, pgPageSize: &p.PageSize}
	return d.object(paginationKeys, nil, func(k int) bool {
		switch k {
		case pgNextPageOffset:
			return d.intPtr(&p.NextPageOffset)
		case pgPreviousPageOffset:
			return d.intPtr(&p.PreviousPageOffset)
		}
		n, ok := d.integer()
		*ints[k] = n
		return ok
	})
}

func (d *decoder) sorting(s *Sorting) bool {
	return d.object(sortingKeys, nil, func(k int) bool {
		v, ok := d.stringValue()
		switch k {
		case srtField:
			s.Field = SortField(v)
		case srtDirection:
			s.Direction = SortDirection(v)
		}
		return ok
	})
}

// tokenBytes is fewer bytes than a token of the API takes (about 400): a
// slab starts with room for one token per tokenBytes of the body at most.
const tokenBytes = 128

// summaries reads the array of tokens into a new slab and returns the
// items, which point into it.
func (d *decoder) summaries() (tokenList, bool) {
	if !d.consume('[') {
		return nil, false
	}
	d.slab = make([]APIToken, 0, min(d.hint, len(d.b)/tokenBytes))
	for n := 0; !d.consume(']'); n++ {
		if n > 0 && !d.consume(',') {
			return nil, false
		}
		if n == maxPageItems {
			d.tooMany = true
			return nil, false
		}
		d.slab = append(d.slab, APIToken{})
		d.pending = append(d.pending, pending{})
		t, p := &d.slab[n], &d.pending[n]
		if !d.compactToken(t, p) && !d.object(tokenKeys, d.order[:], func(k int) bool { d.space(); return d.tokenMember(uint8(k), t, p) }) {
			return nil, false
		}
	}
	d.hint = len(d.slab)
	return d.finish(), true
}

// compactToken reads a token written as the previous one was: its keys in
// the same order, each with its quotes and colon matched as one literal,
// and no white space. At the first difference it puts everything back and
// reports false, and object reads the token instead (learning its order).
func (d *decoder) compactToken(t *APIToken, p *pending) bool {
	start, nStrs, nTimes := d.i, d.nStrs, d.nTimes
	var seen uint64
	sep := byte('{')
	for _, k := range d.order {
		if k == 0 || seen&(1<<k) != 0 || d.i >= len(d.b) || d.b[d.i] != sep {
			break
		}
		d.i++
		if !d.match(tokenLiterals[k]) || !d.tokenMember(k, t, p) {
			break
		}
		if d.i < len(d.b) && d.b[d.i] == '}' {
			d.i++
			return true
		}
		seen, sep = seen|1<<k, ','
	}
	*t, *p, d.i, d.nStrs, d.nTimes = APIToken{}, pending{}, start, nStrs, nTimes
	return false
}

// tokenMember reads the value of key k of token t, which starts at once.
// Times go into t; strings and pointers wait in p for finish.
func (d *decoder) tokenMember(k uint8, t *APIToken, p *pending) bool {
	switch k {
	case tkID, tkType, tkAccountID, tkStatus, tkTokenScope:
		return d.keep(k, p)
	case tkCreatedBy, tkEnvironmentID, tkAgentID, tkAgentDeploymentID:
		if d.match("null") {
			return true
		}
		d.nStrs++
		return d.keep(k, p)
	case tkExpiresAt:
		return d.timeValue(&t.ExpiresAt)
	case tkInsertedAt:
		return d.timeValue(&t.InsertedAt)
	case tkUpdatedAt:
		return d.timeValue(&t.UpdatedAt)
	case tkLastUsedAt:
		if d.match("null") {
			return true
		}
		d.nTimes++
		p.hasLast = true
		return d.timeValue(&p.lastUsed)
	}
	return false // available_actions: a type the fast path leaves to encoding/json
}

// keep reads the string value of key k into p: the previous token's value
// of k again when equal (one account ID serves a whole page), a known value
// by its index, any other as a new span of the page's text.
func (d *decoder) keep(k uint8, p *pending) bool {
	v, ok := d.str()
	if !ok {
		return false
	}
	last := d.last[k]
	switch {
	case last.from == inText && string(d.text[last.off:last.end]) == string(v):
	case last.from == inKnown && known[last.off] == string(v):
	default:
		if i, ok := knownIndex(v); ok {
			last = span{from: inKnown, off: int32(i)}
		} else {
			last = span{from: inText, off: int32(len(d.text)), end: int32(len(d.text) + len(v))}
			d.text = append(d.text, v...)
		}
		d.last[k] = last
	}
	p.spans[k] = last
	return true
}

// finish makes the page's shared allocations, gives every token its string
// and pointer fields, and returns the items.
func (d *decoder) finish() tokenList {
	text := string(d.text)
	strs := make([]string, 0, d.nStrs)
	times := make([]time.Time, 0, d.nTimes)
	strPtr := func(s span) *string {
		if s.from == unset {
			return nil
		}
		strs = append(strs, s.in(text))
		return &strs[len(strs)-1]
	}
	items := make(tokenList, len(d.slab))
	for i := range d.slab {
		t, p := &d.slab[i], &d.pending[i]
		t.ID = p.spans[tkID].in(text)
		t.Type = p.spans[tkType].in(text)
		t.AccountID = p.spans[tkAccountID].in(text)
		t.Status = TokenStatus(p.spans[tkStatus].in(text))
		t.TokenScope = TokenScope(p.spans[tkTokenScope].in(text))
		t.CreatedByAdminUserID = strPtr(p.spans[tkCreatedBy])
		t.EnvironmentID = strPtr(p.spans[tkEnvironmentID])
		t.AgentID = strPtr(p.spans[tkAgentID])
		t.AgentDeploymentID = strPtr(p.spans[tkAgentDeploymentID])
		if p.hasLast {
			times = append(times, p.lastUsed)
			t.LastUsedAt = &times[len(times)-1]
		}
		items[i] = t
	}
	return items
}

// known are values the API sends on every token and page. A field holding
// one of them shares the constant instead of the page's text.
var known = [...]string{
	"success", "api_token",
	string(TokenStatusActive), string(TokenStatusSuspended), string(TokenStatusRevoked),
	string(TokenScopeAccount), string(TokenScopeEnvironment), string(TokenScopeAgentDeployment),
	string(SortAsc), string(SortDesc), string(SortByID), string(SortByStatus),
}

func knownIndex(v []byte) (int, bool) {
	if len(v) > len("agent_deployment") {
		return 0, false // longer than any: an ID
	}
	for i, k := range known {
		if string(v) == k {
			return i, true
		}
	}
	return 0, false
}

// stringValue reads a string value; a known value costs nothing.
func (d *decoder) stringValue() (string, bool) {
	v, ok := d.str()
	if !ok {
		return "", false
	}
	if i, ok := knownIndex(v); ok {
		return known[i], true
	}
	return string(v), true
}

func (d *decoder) intPtr(dst **int) bool {
	if d.literal("null") {
		return true
	}
	n, ok := d.integer()
	*dst = &n
	return ok
}

// timeValue reads a timestamp as time.Time.UnmarshalJSON does, which is
// what encoding/json calls: the API's layout with parseUTC, straight from
// the body, any other with that method.
func (d *decoder) timeValue(dst *time.Time) bool {
	if t, n := parseUTC(d.b[d.i:]); n > 0 {
		*dst = t
		d.i += n
		return true
	}
	v, ok := d.str()
	if !ok {
		return false
	}
	return dst.UnmarshalJSON(d.b[d.i-len(v)-2:d.i]) == nil
}

// parseUTC parses the JSON string at the start of b if it holds
// 2006-01-02T15:04:05Z, with a fraction of any length after the seconds or
// none, with the checks and the result of time.Time.UnmarshalJSON. It
// returns the time and the length of the string, quotes included, or 0 for
// anything else, such as an offset, whose Location depends on the local
// zone. The string needs no other check: every byte it takes is a digit or
// a separator.
func parseUTC(b []byte) (time.Time, int) {
	const layout = `"2006-01-02T15:04:05`
	if len(b) < len(layout)+2 || b[0] != '"' || b[5] != '-' || b[8] != '-' || b[11] != 'T' || b[14] != ':' || b[17] != ':' {
		return time.Time{}, 0
	}
	// With its separators read as '0', the layout is three words of eight
	// digits: 2006-01- 02T15:04 15:04:05.
	const first, others, zeros = 0xff<<32 | 0xff<<56, 0xff<<16 | 0xff<<40, 0x3030303030303030
	le := binary.LittleEndian
	if !digits(le.Uint64(b[1:])&^first|first&zeros) || !digits(le.Uint64(b[9:])&^others|others&zeros) ||
		!digits(le.Uint64(b[12:])&^others|others&zeros) {
		return time.Time{}, 0
	}
	d := func(i int) int { return int(b[i] - '0') }
	year, month, day := d(1)*1000+d(2)*100+d(3)*10+d(4), d(6)*10+d(7), d(9)*10+d(10)
	hour, minute, sec := d(12)*10+d(13), d(15)*10+d(16), d(18)*10+d(19)
	if month < 1 || month > 12 || day < 1 || day > 31 || hour > 23 || minute > 59 || sec > 59 {
		return time.Time{}, 0
	}
	nsec, n := 0, len(layout)
	if b[n] == '.' {
		// As the standard parser: nine digits count, the rest are dropped.
		digits := 0
		for n++; n < len(b) && '0' <= b[n] && b[n] <= '9'; n++ {
			if digits < 9 {
				nsec = nsec*10 + int(b[n]-'0')
			}
			digits++
		}
		if digits == 0 {
			return time.Time{}, 0
		}
		for ; digits < 9; digits++ {
			nsec *= 10
		}
	}
	if n+1 >= len(b) || b[n] != 'Z' || b[n+1] != '"' {
		return time.Time{}, 0
	}
	days := daysSince1970(year, month, day)
	if day > 28 && daysSince1970(year, month+1, 1) <= days {
		return time.Time{}, 0 // no such day in that month
	}
	secs := int64(days)*86400 + int64(hour*3600+minute*60+sec)
	return time.Unix(secs, int64(nsec)).UTC(), n + 2 // the same value as time.Date
}

// daysSince1970 counts the days from 1970-01-01 to a date of the
// proleptic Gregorian calendar. It counts years from March, so that a
// leap day ends its year, and month 13 is the next January.
func daysSince1970(year, month, day int) int {
	if month < 3 {
		year, month = year-1, month+12
	}
	year += 400 // keeps year 0's January positive; 400 years are 146097 days
	return 365*year + year/4 - year/100 + year/400 + (153*(month-3)+2)/5 + day - 1 - 146097 - 719468
}

// digits reports whether each of the eight bytes of x is an ASCII digit.
// Adding 0x46 sets the top bit of a byte above '9', subtracting 0x30 that
// of one below '0'; a carry or borrow between bytes starts only at a byte
// that is itself marked.
func digits(x uint64) bool {
	const ones, tops = 0x0101010101010101, 0x8080808080808080
	return ((x+ones*0x46)|(x-ones*0x30))&tops == 0
}

// scanner reads JSON from a byte slice. Its methods report false on
// anything outside the fast path's subset.
type scanner struct {
	b []byte
	i int
}

var whitespace = [256]bool{' ': true, '\t': true, '\n': true, '\r': true}

func (s *scanner) space() {
	for s.i < len(s.b) && whitespace[s.b[s.i]] {
		s.i++
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

// literal consumes lit ("null", "true" …) after white space.
func (s *scanner) literal(lit string) bool {
	s.space()
	return s.match(lit)
}

// match consumes lit ("null", `"id":` …) where the scanner stands.
func (s *scanner) match(lit string) bool {
	if len(s.b)-s.i >= len(lit) && string(s.b[s.i:s.i+len(lit)]) == lit {
		s.i += len(lit)
		return true
	}
	return false
}

// str reads a string of printable ASCII without escapes and returns its
// contents, which alias the input. It looks at eight bytes at a time.
func (s *scanner) str() ([]byte, bool) {
	if s.peek() != '"' {
		return nil, false
	}
	b, j := s.b, s.i+1
	for j+8 <= len(b) {
		if m := specials(binary.LittleEndian.Uint64(b[j:])); m != 0 {
			j += bits.TrailingZeros64(m) / 8
			break
		}
		j += 8
	}
	for j < len(b) && b[j] >= 0x20 && b[j] < 0x80 && b[j] != '"' && b[j] != '\\' {
		j++
	}
	if j < len(b) && b[j] == '"' {
		v := b[s.i+1 : j]
		s.i = j + 1
		return v, true
	}
	return nil, false
}

// specials sets the top bit of the first byte of x (in memory order) that is
// not printable ASCII or is the quote or the backslash, and is 0 when there
// is none. Subtracting 1 from each byte sets the top bit of one that was 0,
// and subtracting 0x20 that of one below 0x20; a borrow that reaches the
// bytes above can mark them too, but never one before the first found.
func specials(x uint64) uint64 {
	const ones, tops = 0x0101010101010101, 0x8080808080808080
	quote, backslash := x^(ones*'"'), x^(ones*'\\')
	return ((x-ones*0x20)&^x | (quote-ones)&^quote | (backslash-ones)&^backslash | x) & tops
}

// integer reads an integer that fits in an int. A fraction or an exponent
// fails strconv.Atoi, as it fails encoding/json for an int.
func (s *scanner) integer() (int, bool) {
	s.space()
	start := s.i
	if !s.skipNumber() {
		return 0, false
	}
	n, err := strconv.Atoi(string(s.b[start:s.i]))
	return n, err == nil
}

// skip reads and discards any JSON value, checking its syntax.
func (s *scanner) skip(depth int) bool {
	if depth > maxSkipDepth {
		return false
	}
	switch c := s.peek(); c {
	case '"':
		return s.skipString()
	case 't', 'f', 'n':
		return s.literal("true") || s.literal("false") || s.literal("null")
	case '{', '[':
		end := c + 2 // '}' or ']'
		s.i++
		if s.consume(end) {
			return true
		}
		for {
			if c == '{' && !(s.peek() == '"' && s.skipString() && s.consume(':')) {
				return false
			}
			if !s.skip(depth + 1) {
				return false
			}
			if !s.consume(',') {
				return s.consume(end)
			}
		}
	}
	return s.skipNumber()
}

// skipString skips a string without escapes. Any byte but a control
// character may be in it, as encoding/json accepts.
func (s *scanner) skipString() bool {
	for j := s.i + 1; j < len(s.b); j++ {
		switch c := s.b[j]; {
		case c == '"':
			s.i = j + 1
			return true
		case c < 0x20 || c == '\\':
			return false
		}
	}
	return false
}

// skipNumber skips a number in JSON's grammar.
func (s *scanner) skipNumber() bool {
	b, i := s.b, s.i
	digits := func() int {
		start := i
		for i < len(b) && '0' <= b[i] && b[i] <= '9' {
			i++
		}
		return i - start
	}
	if i < len(b) && b[i] == '-' {
		i++
	}
	if n := digits(); n == 0 || n > 1 && b[i-n] == '0' {
		return false // no digits, or a leading zero
	}
	if i < len(b) && b[i] == '.' {
		if i++; digits() == 0 {
			return false
		}
	}
	if i < len(b) && (b[i] == 'e' || b[i] == 'E') {
		if i++; i < len(b) && (b[i] == '+' || b[i] == '-') {
			i++
		}
		if digits() == 0 {
			return false
		}
	}
	s.i = i
	return true
}
