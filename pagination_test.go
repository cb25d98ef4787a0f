package prefactor

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"reflect"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
)

// scriptedPage is what a test server answers for one offset.
type scriptedPage struct {
	ids  []string
	next *int
}

// scriptedList answers a list request at offset with pages[offset], and an
// empty last page for any offset the script does not name (pages a
// parallel walk fetches ahead).
func scriptedList(pages map[int]scriptedPage) func(http.ResponseWriter, *http.Request, int) {
	return func(w http.ResponseWriter, r *http.Request, _ int) {
		offset, _ := strconv.Atoi(r.URL.Query().Get("pagination[offset]"))
		p := pages[offset]
		reply(w, http.StatusOK, listJSON(offset, p.next, p.ids...))
	}
}

// collect ranges over seq and returns the IDs and errors it yields.
func collect(seq func(func(*APIToken, error) bool)) (ids []string, errs []error) {
	for tok, err := range seq {
		if err != nil {
			errs = append(errs, err)
			continue
		}
		ids = append(ids, tok.ID)
	}
	return ids, errs
}

// A run of empty pages that name a next page is followed up to two pages
// long; a page with items ends the run. The third empty page in a row
// stops the walk with ErrPaginationStalled, without a further request.
func TestAllEmptyPageRuns(t *testing.T) {
	for _, tc := range []struct {
		name    string
		pages   map[int]scriptedPage
		want    []string
		stalled bool
		lastHit int // the highest offset the walk may request in order
	}{
		{
			name: "two empty pages, then items, twice",
			pages: map[int]scriptedPage{
				0: {[]string{"a", "b"}, ptr(2)},
				2: {nil, ptr(4)}, 4: {nil, ptr(6)},
				6: {[]string{"c"}, ptr(7)},
				7: {nil, ptr(8)}, 8: {nil, ptr(9)},
				9: {[]string{"d"}, nil},
			},
			want:    []string{"a", "b", "c", "d"},
			lastHit: 9,
		},
		{
			name: "an empty last page",
			pages: map[int]scriptedPage{
				0: {[]string{"a"}, ptr(1)},
				1: {nil, nil},
			},
			want:    []string{"a"},
			lastHit: 1,
		},
		{
			name: "three empty pages after items",
			pages: map[int]scriptedPage{
				0: {[]string{"a"}, ptr(1)},
				1: {nil, ptr(2)}, 2: {nil, ptr(3)}, 3: {nil, ptr(4)},
				4: {[]string{"never"}, nil},
			},
			want:    []string{"a"},
			stalled: true,
			lastHit: 3,
		},
		{
			name: "three empty pages from the start",
			pages: map[int]scriptedPage{
				0: {nil, ptr(10)}, 10: {nil, ptr(20)}, 20: {nil, ptr(30)},
				30: {[]string{"never"}, nil},
			},
			stalled: true,
			lastHit: 20,
		},
	} {
		for _, concurrency := range []int{1, 4} {
			t.Run(fmt.Sprintf("%s/concurrency %d", tc.name, concurrency), func(t *testing.T) {
				c, rec := setup(t, scriptedList(tc.pages))
				ids, errs := collect(c.APITokens.All(context.Background(), nil, WithConcurrency(concurrency)))
				if !reflect.DeepEqual(ids, tc.want) {
					t.Errorf("yielded %v, want %v", ids, tc.want)
				}
				switch {
				case tc.stalled && (len(errs) != 1 || !errors.Is(errs[0], ErrPaginationStalled)):
					t.Errorf("errors %v, want one ErrPaginationStalled", errs)
				case !tc.stalled && len(errs) != 0:
					t.Errorf("errors %v, want none", errs)
				}
				if concurrency > 1 {
					// Pages fetched ahead are requested too, but no more than
					// the walk's window of 2n.
					if max := len(tc.pages) + 2*concurrency; rec.count() > max {
						t.Errorf("server saw %d requests, want at most %d", rec.count(), max)
					}
					return
				}
				var offsets []int
				for i := range rec.count() {
					off, _ := strconv.Atoi(rec.get(i).URL.Query().Get("pagination[offset]"))
					offsets = append(offsets, off)
					if off > tc.lastHit {
						t.Errorf("request %d asked for offset %d, past the last page the walk needs (%d)", i+1, off, tc.lastHit)
					}
				}
				if offsets[len(offsets)-1] != tc.lastHit {
					t.Errorf("requested offsets %v, want the walk to end at %d", offsets, tc.lastHit)
				}
			})
		}
	}
}

// A parallel walk that meets an empty page in the middle of the list drops
// the pages it fetched ahead, follows next_page_offset from there, and still
// yields each item the pages list once, in order. Empty pages count
// towards a stall even where their offsets agree with the plan: the third
// in a row ends the walk.
func TestConcurrencyEmptyPageMidWalk(t *testing.T) {
	const size, n = 2, 20
	for _, empty := range [][]int{{6}, {6, 8}, {6, 10}, {6, 8, 10}} {
		stalled := len(empty) == 3
		t.Run(fmt.Sprintf("empty at %v", empty), func(t *testing.T) {
			isEmpty := map[int]bool{}
			for _, off := range empty {
				isEmpty[off] = true
			}
			c, _ := setup(t, func(w http.ResponseWriter, r *http.Request, _ int) {
				offset, _ := strconv.Atoi(r.URL.Query().Get("pagination[offset]"))
				if isEmpty[offset] {
					reply(w, http.StatusOK, fmt.Sprintf(`{"status":"success","summaries":[],"pagination":{"item_count":%d,"page_offset":%d,"page_size":%d,"next_page_offset":%d}}`, n, offset, size, offset+size))
					return
				}
				reply(w, http.StatusOK, pagesJSON(offset/size, size, n))
			})
			ids, errs := collect(c.APITokens.All(context.Background(), &ListAPITokensOptions{PageSize: size}, WithConcurrency(4)))
			var want []string
			for i := range n {
				if stalled && i >= empty[0] {
					break
				}
				if !isEmpty[i-i%size] {
					want = append(want, tokenID(i))
				}
			}
			if stalled != (len(errs) == 1 && errors.Is(errs[0], ErrPaginationStalled)) || (!stalled && len(errs) != 0) {
				t.Errorf("errors %v, want stalled %v", errs, stalled)
			}
			if !reflect.DeepEqual(ids, want) {
				t.Errorf("yielded %v,\nwant    %v", ids, want)
			}
		})
	}
}

// The walk follows next_page_offset as the server sends it, even where it
// does not follow from page_offset and page_size, as the fake's always does.
func TestAllFollowsNextPageOffsetExactly(t *testing.T) {
	// The reference's own example: page_offset 90, page_size 10, next 110.
	pages := map[string]string{
		"90":  listJSON(0, ptr(110), "t1", "t2"),
		"110": listJSON(0, ptr(111), "t3"),
		"111": listJSON(0, nil, "t4", "t5"),
	}
	c, rec := setup(t, func(w http.ResponseWriter, r *http.Request, _ int) {
		body, ok := pages[r.URL.Query().Get("pagination[offset]")]
		if !ok {
			reply(w, 400, `{"status":"error","code":"invalid_value","message":"unexpected offset"}`)
			return
		}
		reply(w, 200, body)
	})
	opts := &ListAPITokensOptions{Offset: 90, PageSize: 10, AccountID: "acc", Sort: Sort{Field: SortByStatus, Direction: SortDesc}, IdempotencyKey: "first-only"}
	before := *opts
	seq := c.APITokens.All(context.Background(), opts)
	for round := 1; round <= 2; round++ { // ranging twice starts over
		var ids []string
		for tok, err := range seq {
			if err != nil {
				t.Fatal(err)
			}
			ids = append(ids, tok.ID)
		}
		if want := []string{"t1", "t2", "t3", "t4", "t5"}; !reflect.DeepEqual(ids, want) {
			t.Errorf("round %d: ids = %v, want %v", round, ids, want)
		}
	}
	if *opts != before {
		t.Errorf("caller's options changed to %+v", *opts)
	}
	if rec.count() != 6 {
		t.Fatalf("%d requests, want 6", rec.count())
	}
	for i, wantOffset := range []string{"90", "110", "111", "90", "110", "111"} {
		q := rec.get(i).URL.Query()
		if q.Get("pagination[offset]") != wantOffset || q.Get("pagination[page_size]") != "10" ||
			q.Get("account_id") != "acc" || q.Get("sorting") != "-status" {
			t.Errorf("request %d query = %v", i, q)
		}
		wantKey := ""
		if wantOffset == "90" {
			wantKey = "first-only"
		}
		if got := q.Get("idempotency_key"); got != wantKey {
			t.Errorf("request %d idempotency_key = %q, want %q", i, got, wantKey)
		}
	}
}

func TestAllStopsOnStalledPagination(t *testing.T) {
	for _, tc := range []struct {
		name string
		next int
	}{{"same offset", 5}, {"backwards", 2}, {"negative", -1}} {
		t.Run(tc.name, func(t *testing.T) {
			c, rec := setup(t, func(w http.ResponseWriter, r *http.Request, _ int) {
				reply(w, 200, listJSON(0, ptr(tc.next), "a"))
			})
			var ids []string
			var errs []error
			for tok, err := range c.APITokens.All(context.Background(), &ListAPITokensOptions{Offset: 5}) {
				if err != nil {
					errs = append(errs, err)
					continue
				}
				ids = append(ids, tok.ID)
			}
			if len(errs) != 1 || !errors.Is(errs[0], ErrPaginationStalled) || !strings.Contains(errs[0].Error(), "does not move past offset 5") {
				t.Fatalf("errors = %v, want one ErrPaginationStalled", errs)
			}
			if !reflect.DeepEqual(ids, []string{"a"}) || rec.count() != 1 {
				t.Errorf("ids = %v after %d requests; want [a] after 1", ids, rec.count())
			}
		})
	}
}

// idList is a list server for walks in ID order, whose tests reshape its
// answers or change the list as requests come: before is called with each
// request's offset and size, shape may rewrite the page it answers.
type idList struct {
	mu     sync.Mutex
	ids    []string // ascending
	before func(l *idList, offset, size int)
	shape  func(items []string, offset, size int, p map[string]any) []string
	lists  int
}

func newIDList(n int) *idList {
	l := &idList{}
	for i := range n {
		l.ids = append(l.ids, fmt.Sprintf("t%06d", i))
	}
	return l
}

// delete removes ids; the caller holds l.mu.
func (l *idList) delete(ids ...string) {
	l.ids = slices.DeleteFunc(l.ids, func(id string) bool { return slices.Contains(ids, id) })
}

func (l *idList) serve(w http.ResponseWriter, r *http.Request, _ int) {
	q := r.URL.Query()
	offset, _ := strconv.Atoi(q.Get("pagination[offset]"))
	size, _ := strconv.Atoi(q.Get("pagination[page_size]"))
	l.mu.Lock()
	l.lists++
	if l.before != nil {
		l.before(l, offset, size)
	}
	items := l.ids[min(offset, len(l.ids)):min(offset+size, len(l.ids))]
	p := map[string]any{"item_count": len(l.ids), "page_offset": offset, "page_size": size, "next_page_offset": nil}
	if offset+size < len(l.ids) {
		p["next_page_offset"] = offset + size
	}
	if l.shape != nil {
		items = l.shape(items, offset, size, p)
	}
	body := map[string]any{"status": "success", "summaries": []map[string]string{}, "pagination": p, "sorting": map[string]string{"field": "id", "direction": "asc"}}
	for _, id := range items {
		body["summaries"] = append(body["summaries"].([]map[string]string), map[string]string{"id": id})
	}
	l.mu.Unlock()
	b, _ := json.Marshal(body)
	reply(w, http.StatusOK, string(b))
}

// walkIDList walks l in ID order and returns what it yielded, the list
// requests it took, and the error.
func walkIDList(t *testing.T, l *idList, concurrency int) ([]string, int, error) {
	t.Helper()
	c, _ := setup(t, l.serve)
	var got []string
	for tok, err := range c.APITokens.All(context.Background(), nil, WithConcurrency(concurrency)) {
		if err != nil {
			return got, l.lists, err
		}
		got = append(got, tok.ID)
	}
	return got, l.lists, nil
}

// A server that says item_count is 10^12 and answers every offset with the
// same tokens brings nothing new after its first page; the walk ends with
// ErrPaginationStalled after as many requests as what it received allows,
// not as the count it was told.
func TestAllStallsWithinWhatItReceived(t *testing.T) {
	for _, concurrency := range []int{1, 4} {
		l := newIDList(3)
		l.shape = func(_ []string, _, _ int, p map[string]any) []string {
			p["item_count"] = 1_000_000_000_000
			p["next_page_offset"] = p["page_offset"].(int) + p["page_size"].(int)
			return []string{"t000000", "t000001", "t000002"}
		}
		got, lists, err := walkIDList(t, l, concurrency)
		if len(got) != 3 || !errors.Is(err, ErrPaginationStalled) || lists > 80 {
			t.Errorf("concurrency %d: yielded %d, err %v after %d requests; want 3 and ErrPaginationStalled within 80", concurrency, len(got), err, lists)
		}
	}
}

// When the caller deletes the token it was just given while another
// client deletes 2,000 tokens further on, the drop in item_count is not how
// far the list moved before the walk's place: the walk steps back a page,
// then twice as far, instead of by the whole drop, and does not crawl back.
func TestAllStepsBackAPageAtFirst(t *testing.T) {
	l := newIDList(6000)
	done := false
	l.before = func(l *idList, offset, _ int) {
		if offset >= 2900 && !done {
			done = true
			l.delete(l.ids[offset:min(len(l.ids), offset+1)]...) // the last token yielded
			l.delete(l.ids[offset+500 : offset+2500]...)         // and 2,000 after the walk's place
		}
	}
	got, lists, err := walkIDList(t, l, 1)
	if err != nil || len(got) != 4000 || !slices.IsSorted(got) {
		t.Fatalf("yielded %d tokens, err %v; want the 4000 in order (the 3,999 left and the one deleted after it was yielded)", len(got), err)
	}
	// An unchanged walk of 6,000 takes 61 requests; this list ends shorter.
	if lists > 45 {
		t.Errorf("the walk took %d requests; want at most 45", lists)
	}
}

// A server that serves at most 10 tokens a page, however many are asked:
// a parallel walk plans its pages by what the server serves, not by what
// it asked, and costs about what a sequential one does.
func TestAllPlansByWhatTheServerServes(t *testing.T) {
	for _, concurrency := range []int{1, 8} {
		l := newIDList(1000)
		l.shape = func(items []string, offset, _ int, p map[string]any) []string {
			items = items[:min(len(items), 10)]
			p["page_size"] = 10
			if next := offset + 10; next < 1000 {
				p["next_page_offset"] = next
			} else {
				p["next_page_offset"] = nil
			}
			return items
		}
		got, lists, err := walkIDList(t, l, concurrency)
		if err != nil || len(got) != 1000 {
			t.Fatalf("concurrency %d: yielded %d, %v", concurrency, len(got), err)
		}
		if lists > 130 {
			t.Errorf("concurrency %d: %d requests for 1000 tokens served 10 a page; want at most 130", concurrency, lists)
		}
	}
}

// In ID order a page without pagination is an error: the walk would not
// know whether it was the last, and ending there would skip the rest.
func TestAllRefusesAPageWithoutPagination(t *testing.T) {
	l := newIDList(500)
	c, _ := setup(t, func(w http.ResponseWriter, r *http.Request, n int) {
		if n == 1 {
			l.serve(w, r, n)
			return
		}
		reply(w, http.StatusOK, `{"status":"success","summaries":[{"id":"t000099"},{"id":"t000100"}],"pagination":null,"sorting":null}`)
	})
	var got []string
	var err error
	for tok, e := range c.APITokens.All(context.Background(), nil) {
		if e != nil {
			err = e
			break
		}
		got = append(got, tok.ID)
	}
	if len(got) != 100 || err == nil || !strings.Contains(err.Error(), "has no pagination") {
		t.Errorf("yielded %d, err %v; want the first page and an error naming the missing pagination", len(got), err)
	}
}

// A server can put anything in an ID, the bearer token or a megabyte: the
// error of a page out of ID order quotes its IDs cut and scrubbed, as
// every error that leaves the SDK.
func TestAllOutOfOrderErrorIsScrubbedAndCut(t *testing.T) {
	long := strings.Repeat("a", 1<<20)
	c, _ := setup(t, func(w http.ResponseWriter, r *http.Request, _ int) {
		body := fmt.Sprintf(`{"status":"success","summaries":[{"id":"%s"},{"id":"%s"}],`+
			`"pagination":{"item_count":2,"page_offset":0,"page_size":100,"next_page_offset":null},"sorting":{"field":"id","direction":"asc"}}`,
			"zz"+testToken, long)
		reply(w, http.StatusOK, body)
	})
	var err error
	for _, e := range c.APITokens.All(context.Background(), nil) {
		err = e
	}
	if err == nil || !strings.Contains(err.Error(), "not in the order of its sorting") || !strings.HasPrefix(err.Error(), "prefactor: list API tokens: ") {
		t.Fatalf("err = %.200v; want the page out of order, naming the operation", err)
	}
	noSecret(t, "error", err.Error())
	if len(err.Error()) > 1000 {
		t.Errorf("error of %d bytes; want the IDs cut", len(err.Error()))
	}
}
