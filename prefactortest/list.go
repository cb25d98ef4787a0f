package prefactortest

import (
	"cmp"
	"fmt"
	"maps"
	"math"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"unicode/utf8"

	prefactor "github.com/prefactor-sdk/prefactor-go"
)

// DefaultPageSize is the page size the fake uses when a request sends no
// pagination[page_size]. A request may ask for 1 to MaxPageSize.
const DefaultPageSize = 25

// MaxPageSize is the largest pagination[page_size] the fake accepts; a
// larger one is refused with 400 invalid_value, as the API does.
const MaxPageSize = 100

// maxIdempotencyKey is the longest idempotency_key the API accepts.
const maxIdempotencyKey = 64

// reply is one answer of the fake: an HTTP status and the JSON body, which
// is a *listBody, an *errorBody or another success shape.
type reply struct {
	status int
	body   any
	header http.Header // extra headers, may be nil
}

// listBody is the API's success JSON for a list.
type listBody struct {
	Status     string                `json:"status"`
	Summaries  []prefactor.APIToken  `json:"summaries"`
	Pagination *prefactor.Pagination `json:"pagination"`
	Sorting    *prefactor.Sorting    `json:"sorting"`
}

// errorBody is the API's error JSON. Errors, when not nil, is the errors
// object: a map[string][]string, a map of messages and nested maps (the
// validation_errors form), or its JSON already encoded.
type errorBody struct {
	Status  string              `json:"status"`
	Code    prefactor.ErrorCode `json:"code"`
	Message string              `json:"message"`
	Errors  any                 `json:"errors,omitempty"`
}

// errorReply is the API's error answer. fieldErrors may be nil or empty,
// for an answer without "errors".
func errorReply(status int, code prefactor.ErrorCode, message string, fieldErrors map[string][]string) reply {
	body := &errorBody{Status: "error", Code: code, Message: message}
	if len(fieldErrors) > 0 {
		body.Errors = fieldErrors
	}
	return reply{status: status, body: body}
}

// invalidValue answers 400 invalid_value with one error per field, and a
// message that names them all.
func invalidValue(fieldErrors map[string][]string) reply {
	return fieldErrorReply(prefactor.CodeInvalidValue, fieldErrors)
}

// fieldErrorReply answers 400 with code (invalid_value or required_value),
// one error per field, and a message that names them all.
func fieldErrorReply(code prefactor.ErrorCode, fieldErrors map[string][]string) reply {
	fields := slices.Sorted(maps.Keys(fieldErrors))
	parts := make([]string, len(fields))
	for i, f := range fields {
		parts[i] = f + " " + strings.Join(fieldErrors[f], ", ")
	}
	return errorReply(http.StatusBadRequest, code, "invalid parameters: "+strings.Join(parts, "; "), fieldErrors)
}

// listQuery is a parsed list request.
type listQuery struct {
	accountID string
	sorting   *prefactor.Sorting // nil: none asked for
	offset    int
	pageSize  int
}

// sortableFields are the fields the API-token list sorts by.
var sortableFields = []prefactor.SortField{prefactor.SortByID, prefactor.SortByStatus}

// parseListQuery reads the list parameters and returns an error message per
// parameter it refuses, keyed by the parameter's name.
func parseListQuery(q url.Values) (listQuery, map[string][]string) {
	lq := listQuery{accountID: q.Get("account_id"), pageSize: DefaultPageSize}
	errs := map[string][]string{}

	if s := q.Get("sorting"); s != "" {
		dir := prefactor.SortAsc
		field := prefactor.SortField(s)
		if rest, ok := strings.CutPrefix(s, "-"); ok {
			dir, field = prefactor.SortDesc, prefactor.SortField(rest)
		}
		if slices.Contains(sortableFields, field) {
			lq.sorting = &prefactor.Sorting{Field: field, Direction: dir}
		} else {
			errs["sorting"] = []string{fmt.Sprintf("cannot sort API tokens by %q; sort by id or status, with a leading - for descending", field)}
		}
	}
	if s := q.Get("pagination[offset]"); s != "" {
		n, err := strconv.Atoi(s)
		if err != nil || n < 0 {
			errs["pagination[offset]"] = []string{"must be an integer of 0 or more"}
		}
		lq.offset = n
	}
	if s := q.Get("pagination[page_size]"); s != "" {
		n, err := strconv.Atoi(s)
		if err != nil || n < 1 || n > MaxPageSize {
			errs["pagination[page_size]"] = []string{fmt.Sprintf("must be an integer from 1 to %d", MaxPageSize)}
		}
		lq.pageSize = n
	}
	if k := q.Get("idempotency_key"); utf8.RuneCountInString(k) > maxIdempotencyKey {
		errs["idempotency_key"] = []string{fmt.Sprintf("must be at most %d characters", maxIdempotencyKey)}
	}
	return lq, errs
}

// listReply answers GET /api/v1/api_token over tokens for the query q. It
// is the one implementation of the list behind both the fake server and
// ListResponder. tokens is not modified.
//
// Without account_id the caller's account is listed, as on the real
// service: tokens of AccountID, and tokens with no AccountID at all (hand-
// built test data); with it, only that account's tokens, whichever account
// it names.
// Without sorting the order is by ID ascending; sorting by status breaks
// ties by ID ascending, in both directions.
func listReply(tokens []prefactor.APIToken, q url.Values) reply {
	lq, errs := parseListQuery(q)
	if len(errs) > 0 {
		return invalidValue(errs)
	}

	selected := make([]prefactor.APIToken, 0, len(tokens))
	for _, t := range tokens {
		if listed(t, lq.accountID) {
			selected = append(selected, t)
		}
	}
	slices.SortStableFunc(selected, tokenOrder(lq.sorting))

	pg := paginate(len(selected), lq.offset, lq.pageSize)
	items := []prefactor.APIToken{}
	if pg.ItemEnd > 0 {
		items = selected[pg.ItemStart-1 : pg.ItemEnd]
	}
	return reply{status: http.StatusOK, body: &listBody{
		Status:     "success",
		Summaries:  items,
		Pagination: &pg,
		Sorting:    lq.sorting,
	}}
}

// listed reports whether t belongs in a list of account, "" meaning the
// caller's: AccountID, together with tokens that have no account.
func listed(t prefactor.APIToken, account string) bool {
	if account == "" {
		return t.AccountID == AccountID || t.AccountID == ""
	}
	return t.AccountID == account
}

// tokenOrder compares tokens for sorting s (nil: by ID ascending).
func tokenOrder(s *prefactor.Sorting) func(a, b prefactor.APIToken) int {
	byID := func(a, b prefactor.APIToken) int { return strings.Compare(a.ID, b.ID) }
	if s == nil {
		return byID
	}
	sign := 1
	if s.Direction == prefactor.SortDesc {
		sign = -1
	}
	if s.Field == prefactor.SortByStatus {
		return func(a, b prefactor.APIToken) int {
			return cmp.Or(sign*strings.Compare(string(a.Status), string(b.Status)), byID(a, b))
		}
	}
	return func(a, b prefactor.APIToken) int { return sign * byID(a, b) }
}

// paginate describes the page of up to size items starting at the
// zero-based offset in a list of count items, as the API reference defines
// the fields.
//
// The pages are those a client walks through from this one, following
// next_page_offset and previous_page_offset: offset+k*size for whole k,
// and, when offset is not a multiple of size, one short first page at 0
// holding the offset%size items before the rest. For an offset that is a
// multiple of size that is the usual grid of pages; for any other, the
// fields still agree: the previous page's page_index is one less, the next
// one's one more, and previous_page_offset is null exactly on page 1.
//
//   - item_start and item_end are the one-based indexes of the page's first
//     and last item, both 0 when the page is empty (an empty list, or an
//     offset at or past the end);
//   - page_index is the one-based page number: the pages before this one,
//     ceil(offset/size), plus 1 (offset 5, size 10 is page 2, after the
//     short page 0..4); it stops at MaxInt, which only offset MaxInt with
//     size 1 would pass;
//   - page_offset is the offset asked for, page_size the size used;
//   - page_count is the number of those pages that hold items, at least 1
//     (an empty list is one empty page): ceil(count/size) when offset is a
//     multiple of size, else 1 + ceil((count - offset%size)/size); on a
//     page with items, page_index is page_count exactly when
//     next_page_offset is null;
//   - next_page_offset is offset+size, null when no item lies there;
//   - previous_page_offset is offset-size (at least 0), null when offset
//     is 0, which is page 1.
//
// size must be at least 1 and offset at least 0.
func paginate(count, offset, size int) prefactor.Pagination {
	short := offset % size // items on a short first page, before the grid through offset
	pages := (max(0, count-short) + size - 1) / size
	if short > 0 {
		pages++
	}
	p := prefactor.Pagination{
		ItemCount:  count,
		PageCount:  max(1, pages),
		PageIndex:  pageIndex(offset, size),
		PageOffset: offset,
		PageSize:   size,
	}
	if offset < count {
		p.ItemStart = offset + 1
		p.ItemEnd = offset + min(size, count-offset)
	}
	if size < count-offset { // offset+size < count, without overflow
		next := offset + size
		p.NextPageOffset = &next
	}
	if offset > 0 {
		prev := max(0, offset-size)
		p.PreviousPageOffset = &prev
	}
	return p
}

// pageIndex is ceil(offset/size)+1, computed without overflow and capped at
// math.MaxInt.
func pageIndex(offset, size int) int {
	before := offset / size
	if offset%size != 0 {
		before++ // at most MaxInt/2+1: size is 2 or more here
	}
	if before == math.MaxInt {
		return math.MaxInt
	}
	return before + 1
}
