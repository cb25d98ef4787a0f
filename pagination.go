package prefactor

import (
	"context"
	"fmt"
	"iter"
	"net/http"
	"sync"
)

// Page is one page of a list.
type Page[T any] struct {
	// Items are the page's entries in server order.
	Items []T
	// Pagination describes where the page sits in the list; nil when the
	// server sent none.
	Pagination *Pagination
	// Sorting is the order the server applied; nil when it sent none.
	Sorting *Sorting
}

// NextOffset returns the offset of the next page and true, or 0 and false on
// the last page.
func (p *Page[T]) NextOffset() (int, bool) {
	if p == nil || p.Pagination == nil || p.Pagination.NextPageOffset == nil {
		return 0, false
	}
	return *p.Pagination.NextPageOffset, true
}

// Pagination is the server's description of a page. Indexes named Start, End
// and Index are one-based; offsets are zero-based.
type Pagination struct {
	// ItemCount is the number of items in the whole list.
	ItemCount int `json:"item_count"`
	// ItemStart is the one-based index of the page's first item.
	ItemStart int `json:"item_start"`
	// ItemEnd is the one-based index of the page's last item.
	ItemEnd int `json:"item_end"`
	// PageCount is the number of pages in the whole list.
	PageCount int `json:"page_count"`
	// PageIndex is the one-based index of this page.
	PageIndex int `json:"page_index"`
	// PageOffset is the zero-based offset of the page's first item.
	PageOffset int `json:"page_offset"`
	// PageSize is the number of items per page.
	PageSize int `json:"page_size"`
	// NextPageOffset is the offset of the next page, nil on the last page.
	NextPageOffset *int `json:"next_page_offset"`
	// PreviousPageOffset is the offset of the previous page, nil on the
	// first page.
	PreviousPageOffset *int `json:"previous_page_offset"`
}

// Sorting is the order the server applied to a list.
type Sorting struct {
	// Field is the field the list is sorted by.
	Field SortField `json:"field"`
	// Direction is SortAsc or SortDesc.
	Direction SortDirection `json:"direction"`
}

// This file also holds the walk behind All, in two kinds:
//
//   - In key order (a list sorted by ID, which the server confirms in its
//     sorting object, with pages laid out by position), the walk is a
//     cursor: it remembers the last key it yielded and asks each page from
//     where that key should be, one item of overlap, so that the seam
//     between two pages can be checked. A page that starts past the last
//     key may have missed items that moved before its offset (something
//     before it was deleted): it is not yielded, and the walk steps back.
//     Only keys past the last one are yielded. So every item that exists
//     for the whole walk is yielded once and none twice, however the list
//     changes meanwhile; see cursor.
//   - Otherwise it follows the server's next_page_offset exactly, yielding
//     every item of every page.
//
// With concurrency above 1 either kind fetches the pages it expects next
// ahead, in parallel (see ahead), and checks each as it yields it.

// pageRequest is one page a walk asks for.
type pageRequest struct {
	offset, size int
	// first marks the walk's first request, which alone carries the
	// caller's idempotency key.
	first bool
}

// fetchPage fetches a page. It returns the HTTP response with the page or
// the error when the walk hands responses to the caller (WithResponseInto),
// else nil.
type fetchPage[T any] func(ctx context.Context, r pageRequest) (*Page[T], *http.Response, error)

// walkSpec describes a walk over a list.
type walkSpec[T any] struct {
	// named makes an error of the walk's own (a page out of order, no
	// progress) one that leaves the SDK: named with the operation and
	// scrubbed of the token (Client.fail). Errors of fetch are so already.
	named       func(error) error
	start, size int // offset and page size of the first request
	concurrency int // pages fetched at once
	into        **http.Response
	fetch       fetchPage[T]
	// key returns an item's key, and order is the sorting by that key the
	// walk asked for, as the server echoes it. key nil: the walk is not in
	// key order.
	key   func(T) string
	order Sorting
}

// walk is one range over a list.
type walk[T any] struct {
	walkSpec[T]
	yield func(T, error) bool
	empty int // empty pages in a row that named a next page (by-server walks)
	// depth is how many pages ahead of the one being yielded a parallel
	// walk fetches, 1 to twice its concurrency: a key-order walk halves it
	// when its plan misses, and adds one for each page the plan got right.
	depth int
}

// allPages walks a list as spec says and yields every item. It stops after
// the last page, when the consumer stops (no further request), or at the
// first error, which it yields once as (zero, err). A walk that stops
// making progress is an error (ErrPaginationStalled). Requests in flight
// are cancelled and waited for before it returns.
func allPages[T any](ctx context.Context, spec walkSpec[T]) iter.Seq2[T, error] {
	return func(yield func(T, error) bool) {
		w := &walk[T]{walkSpec: spec, yield: yield, depth: 2 * spec.concurrency}
		first := pageRequest{offset: spec.start, size: spec.size, first: true}
		page, resp, err := w.fetch(ctx, first)
		switch {
		case err != nil:
			w.deliver(nil, resp, err)
		case w.keyed(page, first.offset):
			w.byKey(ctx, page, resp, first.offset)
		default:
			w.byServer(ctx, page, resp, first.offset)
		}
	}
}

// keyed reports whether the walk can go in key order from its first page,
// fetched at offset: the walk asked for key order, the server says it
// sorted by the key that way, and laid the page out by position.
func (w *walk[T]) keyed(page *Page[T], offset int) bool {
	s, p := page.Sorting, page.Pagination
	if w.key == nil || s == nil || p == nil || s.Field != w.order.Field || p.PageOffset != offset {
		return false
	}
	dir := s.Direction
	if dir == "" {
		dir = SortAsc
	}
	return dir == w.order.Direction
}

// deliver records resp for WithResponseInto, then yields err, or items. It
// reports whether the walk goes on.
func (w *walk[T]) deliver(items []T, resp *http.Response, err error) bool {
	if w.into != nil && resp != nil {
		*w.into = resp
	}
	if err != nil {
		w.fail(err)
		return false
	}
	for _, item := range items {
		if !w.yield(item, nil) {
			return false
		}
	}
	return true
}

// fail yields err as the walk's last value.
func (w *walk[T]) fail(err error) {
	var zero T
	w.yield(zero, err)
}

// stalled is the error of a walk that stops making progress.
func (w *walk[T]) stalled(format string, args ...any) error {
	return w.named(fmt.Errorf("%w: "+format, append([]any{ErrPaginationStalled}, args...)...))
}

// byKey walks in key order from page, the first, fetched at offset: the
// cursor checks each page, and decides where to ask next.
func (w *walk[T]) byKey(ctx context.Context, page *Page[T], resp *http.Response, offset int) {
	size := min(w.size+1, maxPageSize)
	c := &cursor[T]{key: w.key, desc: w.order.Direction == SortDesc, start: offset, size: size, served: size}
	asked := w.size
	for {
		fresh, ok, err := c.check(page, offset)
		switch {
		case err != nil:
			w.fail(w.named(err))
			return
		case !ok:
			if offset, err = c.retreat(page, offset); err != nil {
				w.fail(w.stalled("%v", err))
				return
			}
		default:
			if !w.deliver(fresh, resp, nil) {
				return
			}
			var more bool
			offset, more, err = c.advance(page, offset, asked, fresh)
			if err != nil {
				w.fail(w.stalled("%v", err))
				return
			}
			if !more {
				return
			}
			if w.concurrency > 1 {
				r := w.keyedAhead(ctx, c, offset)
				switch {
				case r.over:
					return
				case r.missed != nil:
					// A page ahead failed its check: step back from it.
					page, resp, offset, asked = r.missed, r.resp, r.offset, c.size
					continue
				}
				offset = r.offset
			}
		}
		asked = c.size
		page, resp, err = w.fetch(ctx, pageRequest{offset: offset, size: asked})
		if err != nil {
			w.deliver(nil, resp, err)
			return
		}
	}
}

// aheadResult is how keyedAhead ended.
type aheadResult[T any] struct {
	over bool // the walk is over: the last page, the consumer stopped, or an error it yielded
	// missed is the first page that failed its check, fetched at offset
	// with resp; nil when the planned pages ran out or one brought nothing
	// new, and the walk goes on from offset.
	missed *Page[T]
	resp   *http.Response
	offset int
}

// keyedAhead fetches the pages from offset on ahead, where they are if the
// list does not change: each a stride further (see cursor.stride). It
// yields each page the cursor accepts, and says how it ended.
func (w *walk[T]) keyedAhead(ctx context.Context, c *cursor[T], offset int) aheadResult[T] {
	count, stride := c.count, c.stride()
	plan := func(o int) int {
		if o >= count-stride-1 { // the page at o reaches the end, as far as the plan knows
			return -1
		}
		return o + stride
	}
	r := aheadResult[T]{offset: offset}
	w.ahead(ctx, offset, c.size, plan, func(f fetched[T]) bool {
		if f.err != nil {
			w.deliver(nil, f.resp, f.err)
			r.over = true
			return false
		}
		fresh, ok, err := c.check(f.page, f.offset)
		switch {
		case err != nil:
			w.fail(w.named(err))
			r.over = true
			return false
		case !ok:
			r.missed, r.resp, r.offset = f.page, f.resp, f.offset
			w.depth = max(1, w.depth/2) // the list moved up: look less far ahead
			return false
		}
		if !w.deliver(fresh, f.resp, nil) {
			r.over = true
			return false
		}
		next, more, err := c.advance(f.page, f.offset, c.size, fresh)
		switch {
		case err != nil:
			w.fail(w.stalled("%v", err))
			r.over = true
		case !more:
			r.over = true
		case len(fresh) == 0:
			// Nothing new: items were added before the planned pages,
			// which now lag behind. Go on from where the cursor says, and
			// look less far ahead.
			r.offset = next
			w.depth = max(1, w.depth/2)
		case plan(f.offset) < 0:
			r.offset = next // the plan ran out, the list did not
		default:
			w.depth = min(2*w.concurrency, w.depth+1)
			return true
		}
		return false
	})
	return r
}

// byServer walks by the server's next_page_offset from page, the first,
// fetched at offset, yielding every item of every page. With concurrency
// above 1 and a first page that lays the list out in pages of one size, it
// fetches the pages of that layout ahead, and follows the server one page
// at a time for the rest of the walk once a page is off the layout.
func (w *walk[T]) byServer(ctx context.Context, page *Page[T], resp *http.Response, offset int) {
	for first := true; ; first = false {
		if !w.deliver(page.Items, resp, nil) {
			return
		}
		next, more, err := w.serverNext(page, offset)
		switch {
		case err != nil:
			w.fail(err)
			return
		case !more:
			return
		}
		if plan, ok := planPages(page); ok && first && w.concurrency > 1 && plan.next(offset) == next {
			if next, more = w.serverAhead(ctx, plan, next); !more {
				return
			}
		}
		offset = next
		page, resp, err = w.fetch(ctx, pageRequest{offset: offset, size: w.size})
		if err != nil {
			w.deliver(nil, resp, err)
			return
		}
	}
}

// serverAhead fetches the pages of plan from offset on ahead and yields
// them. It returns the offset to go on from one page at a time and true
// when a page was off the plan (its next_page_offset disagreed, or it was
// empty); false when the walk is over.
func (w *walk[T]) serverAhead(ctx context.Context, plan pagePlan, offset int) (int, bool) {
	at, more := 0, false
	w.ahead(ctx, offset, w.size, plan.next, func(f fetched[T]) bool {
		if !w.deliver(pageItems(f.page), f.resp, f.err) {
			return false
		}
		next, goOn, err := w.serverNext(f.page, f.offset)
		switch {
		case err != nil:
			w.fail(err)
			return false
		case !goOn:
			return false
		case len(f.page.Items) == 0 || next != plan.next(f.offset):
			at, more = next, true // off the plan: follow the server
			return false
		}
		return true
	})
	return at, more
}

func pageItems[T any](p *Page[T]) []T {
	if p == nil {
		return nil
	}
	return p.Items
}

// serverNext returns the server's next_page_offset for the page fetched at
// offset, false on the last page, or ErrPaginationStalled when the walk is
// not moving forward: the next offset is not past offset, or maxEmptyRun
// empty pages in a row still name a next page.
func (w *walk[T]) serverNext(page *Page[T], offset int) (int, bool, error) {
	next, ok := page.NextOffset()
	if !ok {
		return 0, false, nil
	}
	if next <= offset {
		return 0, false, w.stalled("next_page_offset %d does not move past offset %d", next, offset)
	}
	if len(page.Items) > 0 {
		w.empty = 0
	} else if w.empty++; w.empty >= maxEmptyRun {
		return 0, false, w.stalled("%d empty pages in a row, up to offset %d, still name a next page", w.empty, offset)
	}
	return next, true, nil
}

// pagePlan is the list's layout as a page's pagination describes it: pages
// of size items at offset, offset+size, … below count.
type pagePlan struct {
	size, count int
}

// planPages reads the layout from a page; ok is false when its pagination
// is missing or does not describe one, or the page is empty (which no list
// with more to come has).
func planPages[T any](page *Page[T]) (pagePlan, bool) {
	p := page.Pagination
	if p == nil || len(page.Items) == 0 || p.PageSize <= 0 || p.PageOffset < 0 || p.ItemCount <= p.PageOffset {
		return pagePlan{}, false
	}
	return pagePlan{size: p.PageSize, count: p.ItemCount}, true
}

// next returns the offset of the page after the one at offset, or -1 when
// that page is the last.
func (p pagePlan) next(offset int) int {
	if offset >= p.count-p.size { // offset+size >= count, without overflow
		return -1
	}
	return offset + p.size
}

// fetched is a page a walk fetched ahead, or the error fetching it.
type fetched[T any] struct {
	offset int
	page   *Page[T]
	resp   *http.Response
	err    error
}

// ahead fetches the pages at offset, plan(offset), plan(plan(offset)), …
// (plan returns -1 after the last) with up to w.concurrency requests in
// flight and at most w.depth fetched ahead of the one take is given, which
// bounds memory, and gives them to take in order. A request starts as soon
// as another finishes, so a slow page does not hold back those after it; a
// failed one stops new ones. When take returns false, or the plan runs
// out, ahead cancels the requests in flight and waits for them before it
// returns.
func (w *walk[T]) ahead(ctx context.Context, offset, size int, plan func(int) int, take func(fetched[T]) bool) {
	n := w.concurrency
	window := 2 * n // w.depth never exceeds it
	type result struct {
		seq int // position in this run: 0 for the page at offset
		fetched[T]
	}
	// results has room for every request in flight, so a request never
	// blocks on it, even after ahead returned.
	results := make(chan result, n)
	ready := make([]*result, window) // received, not yet taken; by seq % window

	ctx, cancel := context.WithCancel(ctx)
	var wg sync.WaitGroup
	defer wg.Wait() // runs after cancel
	defer cancel()

	var (
		inFlight = 0     // requests started and not received
		started  = 0     // seq of the next request
		taken    = 0     // seq of the next page to take
		failed   = false // a request failed: start no more
	)
	start := func() {
		for inFlight < n && started-taken < w.depth && offset >= 0 && !failed {
			r := result{seq: started, fetched: fetched[T]{offset: offset}}
			wg.Add(1)
			go func() {
				defer wg.Done()
				r.page, r.resp, r.err = w.fetch(ctx, pageRequest{offset: r.offset, size: size})
				results <- r
			}()
			inFlight++
			started++
			offset = plan(offset)
		}
	}
	start()
	for taken < started {
		for ready[taken%window] == nil {
			r := <-results
			inFlight--
			failed = failed || r.err != nil
			ready[r.seq%window] = &r
			start()
		}
		r := ready[taken%window]
		ready[taken%window] = nil
		taken++
		start() // keep fetching while the consumer works through this page
		if !take(r.fetched) {
			return
		}
	}
}
