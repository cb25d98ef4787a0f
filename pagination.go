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

// fetchPage fetches the page that starts at offset. first is true for the
// first request of a walk. It returns the last HTTP response it received,
// if any, with the page or the error.
type fetchPage[T any] func(ctx context.Context, offset int, first bool) (*Page[T], *http.Response, error)

// pageWalk is one range over a list: what every page of it shares.
type pageWalk[T any] struct {
	op    string // names the operation in errors
	fetch fetchPage[T]
	yield func(T, error) bool
	into  **http.Response // WithResponseInto's destination, or nil

	emptyRun int // empty pages in a row that named a next page
}

// allPages walks a list from offset start, following the server's
// next_page_offset exactly, and yields every item in server order. It stops
// after the last page, when the consumer stops (no further request), or at
// the first error, which it yields once as (zero, err); a walk that stops
// making progress is an error (see walk.advance). op names the operation in
// errors; into, when not nil, receives the response of each page as it is
// yielded. With concurrency above 1, pages after the first are fetched
// ahead in parallel; see WithConcurrency.
func allPages[T any](ctx context.Context, op string, start, concurrency int, into **http.Response, fetch fetchPage[T]) iter.Seq2[T, error] {
	return func(yield func(T, error) bool) {
		w := &pageWalk[T]{op: op, fetch: fetch, yield: yield, into: into}
		if concurrency <= 1 {
			w.oneByOne(ctx, start, true)
			return
		}
		page, resp, err := fetch(ctx, start, true)
		if err != nil {
			w.deliver(nil, resp, err)
			return
		}
		next, more, err := w.advance(page, start)
		if plan, ok := planPages(page); err == nil && more && ok && plan.next(page.Pagination.PageOffset) == next {
			// The first page's items go out once the requests for the
			// next pages are under way.
			if next, more = w.ahead(ctx, plan, page, resp, next, concurrency); more {
				w.oneByOne(ctx, next, false)
			}
			return
		}
		switch {
		case !w.deliver(page, resp, nil):
		case err != nil:
			w.fail(err)
		case more:
			w.oneByOne(ctx, next, false)
		}
	}
}

// oneByOne fetches one page after another from offset, following
// next_page_offset. first marks offset as the walk's first request.
func (w *pageWalk[T]) oneByOne(ctx context.Context, offset int, first bool) {
	for {
		page, resp, err := w.fetch(ctx, offset, first)
		if !w.deliver(page, resp, err) {
			return
		}
		next, more, err := w.advance(page, offset)
		if err != nil {
			w.fail(err)
			return
		}
		if !more {
			return
		}
		offset, first = next, false
	}
}

// deliver records resp for WithResponseInto, then yields err, or the page's
// items. It reports whether the walk goes on.
func (w *pageWalk[T]) deliver(page *Page[T], resp *http.Response, err error) bool {
	if w.into != nil && resp != nil {
		*w.into = resp
	}
	if err != nil {
		w.fail(err)
		return false
	}
	for _, item := range page.Items {
		if !w.yield(item, nil) {
			return false
		}
	}
	return true
}

// fail yields err as the walk's last value.
func (w *pageWalk[T]) fail(err error) {
	var zero T
	w.yield(zero, err)
}

// advance returns the server's next_page_offset for the page fetched at
// offset, false on the last page, or ErrPaginationStalled when the walk is
// not moving forward: the next offset is not past offset, or maxEmptyRun
// empty pages in a row still name a next page.
func (w *pageWalk[T]) advance(page *Page[T], offset int) (int, bool, error) {
	next, ok := page.NextOffset()
	if !ok {
		return 0, false, nil
	}
	if next <= offset {
		return 0, false, fmt.Errorf("prefactor: %s: %w: next_page_offset %d does not move past offset %d", w.op, ErrPaginationStalled, next, offset)
	}
	if len(page.Items) > 0 {
		w.emptyRun = 0
	} else if w.emptyRun++; w.emptyRun >= maxEmptyRun {
		return 0, false, fmt.Errorf("prefactor: %s: %w: %d empty pages in a row, up to offset %d, still name a next page", w.op, ErrPaginationStalled, w.emptyRun, offset)
	}
	return next, true, nil
}

// pagePlan is the list's layout as a page's pagination describes it: pages
// of size items at offset, offset+size, … below count.
type pagePlan struct {
	size, count int
}

// planPages reads the layout from the first page; ok is false when its
// pagination is missing or does not describe one, or the page is empty
// (which no list with more to come starts with).
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

// expectNext reports whether page, fetched at offset, carries the
// next_page_offset the plan predicts.
func (p pagePlan) expectNext(page interface{ NextOffset() (int, bool) }, offset int) bool {
	got, ok := page.NextOffset()
	want := p.next(offset)
	if want < 0 {
		return !ok
	}
	return ok && got == want
}

// ahead fetches the pages of plan from offset on, with up to n requests in
// flight (fewer after a 429: the walk's pacer sets the pace of every
// attempt, see pacer) and at most 2n pages fetched ahead of the one being
// yielded, which bounds memory, and yields their items in order,
// after those of first, the page before them (received as firstResp). It
// starts the requests before yielding first, so the consumer's work
// overlaps them. A request starts as soon as any other finishes, so a slow
// page does not hold back requests for the pages after it.
//
// It returns the offset to continue from one page at a time and true when a
// page's next_page_offset disagreed with the plan or the page was empty;
// false when the walk is over (last page, consumer stopped, or an error,
// which it has yielded). Before returning it cancels the requests in flight
// and waits for them.
func (w *pageWalk[T]) ahead(ctx context.Context, plan pagePlan, first *Page[T], firstResp *http.Response, offset, n int) (int, bool) {
	type result struct {
		seq    int // position in the walk: 0 for the page at the first offset
		offset int
		page   *Page[T]
		resp   *http.Response
		err    error
	}
	window := 2 * n
	// results receives every finished request; it has room for all that can
	// be in flight, so a request never blocks on it, even after we return.
	results := make(chan result, n)
	ready := make([]*result, window) // finished, not yet yielded; by seq % window

	ctx, cancel := context.WithCancel(ctx)
	var wg sync.WaitGroup
	defer wg.Wait() // runs after cancel
	defer cancel()

	var (
		inFlight = 0     // requests started and not received
		started  = 0     // seq of the next request
		yielded  = 0     // seq of the next page to yield
		failed   = false // a request failed: start no more
	)
	start := func() {
		for inFlight < n && started-yielded < window && offset >= 0 && !failed {
			r := result{seq: started, offset: offset}
			wg.Add(1)
			go func() {
				defer wg.Done()
				r.page, r.resp, r.err = w.fetch(ctx, r.offset, false)
				results <- r
			}()
			inFlight++
			started++
			offset = plan.next(offset)
		}
	}
	receive := func() {
		r := <-results
		inFlight--
		failed = failed || r.err != nil
		ready[r.seq%window] = &r
	}

	start()
	if !w.deliver(first, firstResp, nil) {
		return 0, false
	}
	for yielded < started {
		for ready[yielded%window] == nil {
			receive()
			start()
		}
		r := ready[yielded%window]
		ready[yielded%window] = nil
		yielded++
		if r.err == nil && (len(r.page.Items) == 0 || !plan.expectNext(r.page, r.offset)) {
			// Off plan: drop what was fetched ahead and follow the server.
			if !w.deliver(r.page, r.resp, nil) {
				return 0, false
			}
			next, more, err := w.advance(r.page, r.offset)
			if err != nil {
				w.fail(err)
				return 0, false
			}
			return next, more
		}
		start() // keep fetching while the consumer works through this page
		if !w.deliver(r.page, r.resp, r.err) {
			return 0, false
		}
	}
	return 0, false
}
