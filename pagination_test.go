package prefactor

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"reflect"
	"strconv"
	"strings"
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
