package prefactor

import (
	"context"
	"fmt"
	"iter"
	"sync"
	"sync/atomic"
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

// IterOption configures an iterator such as APITokensService.All.
type IterOption func(*iterConfig)

// iterConfig is what the IterOptions set.
type iterConfig struct {
	concurrency int
}

// maxConcurrency bounds Concurrency; it matches the idle connections the
// client's own transport keeps per host, so parallel pages reuse them.
const maxConcurrency = 16

// Concurrency lets an iterator fetch up to n pages at once. It still yields
// items in server order, each exactly once, and the idempotency key still
// goes with the first page only.
//
// The first page is fetched alone; its pagination (page_offset, page_size,
// item_count) gives the offsets of the others, which are then fetched with
// up to n requests in flight and at most 2n pages ahead of the one being
// yielded, so memory stays bounded however long the list. Whenever the
// server has answered 429 Too Many Requests since the last page arrived,
// the iterator halves the number of requests it keeps in flight (down to
// one; the throttled request itself is retried as usual). When a page's
// next_page_offset disagrees with the computed offsets — the list changed,
// or the server pages differently — the iterator drops the pages fetched
// ahead and follows next_page_offset one page at a time from there. When the
// caller stops ranging, an error occurs or ctx ends, requests in flight are
// cancelled and the iterator returns only after they have finished.
//
// n below 1 means 1, fetching one page after another, the default; n above
// 16 means 16. With WithHTTPClient, give the transport at least n idle
// connections per host (http.Transport.MaxIdleConnsPerHost) so that
// connections are reused.
func Concurrency(n int) IterOption {
	return func(c *iterConfig) { c.concurrency = min(max(n, 1), maxConcurrency) }
}

func newIterConfig(opts []IterOption) iterConfig {
	cfg := iterConfig{concurrency: 1}
	for _, opt := range opts {
		if opt != nil {
			opt(&cfg)
		}
	}
	return cfg
}

// fetchPage fetches the page that starts at offset. first is true for the
// first request of a walk; throttled, when not nil, counts the 429 answers
// the request receives.
type fetchPage[T any] func(ctx context.Context, offset int, first bool, throttled *atomic.Int64) (*Page[T], error)

// allPages walks a list from offset start, following the server's
// next_page_offset exactly, and yields every item in server order. It stops
// after the last page, when the consumer stops (no further request), or at
// the first error, which it yields once as (zero, err). A next offset that does
// not move past the offset just requested is an error. op names the
// operation in errors. With cfg.concurrency above 1, pages after the first
// are fetched ahead in parallel; see Concurrency.
func allPages[T any](ctx context.Context, op string, start int, cfg iterConfig, fetch fetchPage[T]) iter.Seq2[T, error] {
	return func(yield func(T, error) bool) {
		var pr progress
		if cfg.concurrency <= 1 {
			walkPages(ctx, op, start, true, &pr, fetch, yield)
			return
		}
		var zero T
		page, err := fetch(ctx, start, true, nil)
		if err != nil {
			yield(zero, err)
			return
		}
		next, more, err := advance(&pr, op, page, start)
		switch plan, ok := planPages(page); {
		case err != nil:
			if yieldItems(page, yield) {
				yield(zero, err)
			}
			return
		case !more:
			yieldItems(page, yield)
			return
		case ok && plan.next(page.Pagination.PageOffset) == next:
			if next, more = fetchAhead(ctx, op, plan, page, next, cfg.concurrency, &pr, fetch, yield); !more {
				return
			}
		default:
			if !yieldItems(page, yield) {
				return
			}
		}
		walkPages(ctx, op, next, false, &pr, fetch, yield)
	}
}

// walkPages fetches one page after another from offset, following
// next_page_offset. first marks offset as the walk's first request.
func walkPages[T any](ctx context.Context, op string, offset int, first bool, pr *progress, fetch fetchPage[T], yield func(T, error) bool) {
	var zero T
	for {
		page, err := fetch(ctx, offset, first, nil)
		if err != nil {
			yield(zero, err)
			return
		}
		if !yieldItems(page, yield) {
			return
		}
		next, more, err := advance(pr, op, page, offset)
		if err != nil {
			yield(zero, err)
			return
		}
		if !more {
			return
		}
		offset, first = next, false
	}
}

// yieldItems yields the page's items and reports whether the consumer wants
// more.
func yieldItems[T any](page *Page[T], yield func(T, error) bool) bool {
	for _, item := range page.Items {
		if !yield(item, nil) {
			return false
		}
	}
	return true
}

// maxEmptyRun is how many empty pages in a row may name a next page
// before a walk stops with ErrPaginationStalled: a list that only seems to
// go on would otherwise be followed without end, and with nothing yielded
// the caller's loop never gets the chance to break.
const maxEmptyRun = 3

// progress is what a walk remembers to tell that it moves forward.
type progress struct {
	emptyRun int // empty pages in a row that named a next page
}

// advance returns the server's next_page_offset for the page fetched at
// offset, false on the last page, or ErrPaginationStalled when the walk is
// not moving forward: the next offset is not past offset, or maxEmptyRun
// empty pages in a row still name a next page.
func advance[T any](pr *progress, op string, page *Page[T], offset int) (int, bool, error) {
	next, ok := page.NextOffset()
	if !ok {
		return 0, false, nil
	}
	if next <= offset {
		return 0, false, fmt.Errorf("prefactor: %s: %w: next_page_offset %d does not move past offset %d", op, ErrPaginationStalled, next, offset)
	}
	if len(page.Items) > 0 {
		pr.emptyRun = 0
	} else if pr.emptyRun++; pr.emptyRun >= maxEmptyRun {
		return 0, false, fmt.Errorf("prefactor: %s: %w: %d empty pages in a row, up to offset %d, still name a next page", op, ErrPaginationStalled, pr.emptyRun, offset)
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

// fetchAhead fetches the pages of plan from offset on and yields their
// items in order, after those of first, the page before them; it starts the
// requests before yielding first, so the consumer's work overlaps them. At
// most n requests are in flight (fewer after a 429) and at most 2n pages
// are fetched ahead of the one being yielded, which bounds memory; a
// request starts as soon as any other finishes, so a slow page does not
// hold back requests for the pages after it.
//
// It returns the offset to continue from one page at a time and true when a
// page's next_page_offset disagreed with the plan or the page was empty;
// false when the walk is
// over (last page, consumer stopped, or an error, which it has yielded).
// Before returning it cancels the requests in flight and waits for them.
func fetchAhead[T any](ctx context.Context, op string, plan pagePlan, first *Page[T], offset, n int, pr *progress, fetch fetchPage[T], yield func(T, error) bool) (int, bool) {
	var zero T
	type result struct {
		seq    int // position in the walk: 0 for the page at the first offset
		offset int
		page   *Page[T]
		err    error
	}
	window := 2 * n
	// results receives every finished request; it has room for all that can
	// be in flight, so a request never blocks on it, even after we return.
	results := make(chan result, n)
	ready := make([]*result, window) // finished, not yet yielded; by seq % window

	thr := new(atomic.Int64) // 429s the walk's requests received
	ctx, cancel := context.WithCancel(ctx)
	var wg sync.WaitGroup
	defer wg.Wait() // runs after cancel
	defer cancel()

	var (
		limit     = n     // requests allowed in flight
		inFlight  = 0     // requests started and not received
		started   = 0     // seq of the next request
		yielded   = 0     // seq of the next page to yield
		failed    = false // a request failed: start no more
		throttled int64   // 429s seen so far
	)
	start := func() {
		for inFlight < limit && started-yielded < window && offset >= 0 && !failed {
			r := result{seq: started, offset: offset}
			wg.Add(1)
			go func() {
				defer wg.Done()
				r.page, r.err = fetch(ctx, r.offset, false, thr)
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
		if t := thr.Load(); t != throttled {
			throttled, limit = t, max(limit/2, 1)
		}
		ready[r.seq%window] = &r
	}

	start()
	if !yieldItems(first, yield) {
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
		if r.err != nil {
			yield(zero, r.err)
			return 0, false
		}
		if len(r.page.Items) == 0 || !plan.expectNext(r.page, r.offset) {
			// Off plan: drop what was fetched ahead and follow the server.
			if !yieldItems(r.page, yield) {
				return 0, false
			}
			next, more, err := advance(pr, op, r.page, r.offset)
			if err != nil {
				yield(zero, err)
				return 0, false
			}
			return next, more
		}
		start() // keep fetching while the consumer works through this page
		if !yieldItems(r.page, yield) {
			return 0, false
		}
	}
	return 0, false
}
