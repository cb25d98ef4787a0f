package prefactor

import (
	"context"
	"fmt"
	"iter"
	"net/url"
	"strings"
	"sync"
	"sync/atomic"
)

// SortField names the field a list is sorted by. Which fields a list accepts
// depends on the list; the server answers an unsupported one with
// CodeInvalidValue.
type SortField string

// Sort fields the API documents.
const (
	SortByID                 SortField = "id"
	SortByLastSeen           SortField = "last_seen"
	SortByStatus             SortField = "status"
	SortByTitle              SortField = "title"
	SortByTimestamp          SortField = "timestamp"
	SortByStartedAt          SortField = "started_at"
	SortByFinishedAt         SortField = "finished_at"
	SortByEmail              SortField = "email"
	SortByName               SortField = "name"
	SortByExternalIdentifier SortField = "external_identifier"
)

// SortDirection is ascending or descending.
type SortDirection string

// Sort directions.
const (
	SortAsc  SortDirection = "asc"
	SortDesc SortDirection = "desc"
)

// Sort asks the server to order a list. The zero Sort leaves the order to the
// server. On the wire it is the query parameter sorting: "status" ascending,
// "-status" descending.
type Sort struct {
	// Field to sort by; "" sends no sorting parameter.
	Field SortField
	// Direction is SortAsc or SortDesc; "" means SortAsc.
	Direction SortDirection
}

// IsZero reports whether s asks for no sorting.
func (s Sort) IsZero() bool { return s.Field == "" }

// validate reports a Sort the server could not read.
func (s Sort) validate() error {
	if s.Field == "" {
		if s.Direction != "" {
			return fmt.Errorf("sort direction %q given without a field", s.Direction)
		}
		return nil
	}
	if strings.HasPrefix(string(s.Field), "-") || strings.TrimSpace(string(s.Field)) != string(s.Field) {
		return fmt.Errorf("sort field %q: give the bare field name and set Direction", s.Field)
	}
	switch s.Direction {
	case "", SortAsc, SortDesc:
		return nil
	}
	return fmt.Errorf("sort direction %q: want %q or %q", s.Direction, SortAsc, SortDesc)
}

// EncodeValues adds the sorting parameter to v; go-querystring calls it.
func (s Sort) EncodeValues(key string, v *url.Values) error {
	if err := s.validate(); err != nil {
		return err
	}
	if s.Field == "" {
		return nil
	}
	if s.Direction == SortDesc {
		v.Set(key, "-"+string(s.Field))
	} else {
		v.Set(key, string(s.Field))
	}
	return nil
}

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
// first request of a walk.
type fetchPage[T any] func(ctx context.Context, offset int, first bool) (*Page[T], error)

// allPages walks a list from offset start, following the server's
// next_page_offset exactly, and yields every item in server order. It stops
// after the last page, when the consumer stops (no further request), or at
// the first error, which it yields once as (zero, err). A next offset that does
// not move past the offset just requested is an error. op names the
// operation in errors. With cfg.concurrency above 1, pages after the first
// are fetched ahead in parallel; see Concurrency.
func allPages[T any](ctx context.Context, op string, start int, cfg iterConfig, fetch fetchPage[T]) iter.Seq2[T, error] {
	return func(yield func(T, error) bool) {
		if cfg.concurrency <= 1 {
			walkPages(ctx, op, start, true, fetch, yield)
			return
		}
		var zero T
		page, err := fetch(ctx, start, true)
		if err != nil {
			yield(zero, err)
			return
		}
		next, more, err := nextOffset(op, page, start)
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
			if next, more = fetchAhead(ctx, op, plan, page, next, cfg.concurrency, fetch, yield); !more {
				return
			}
		default:
			if !yieldItems(page, yield) {
				return
			}
		}
		walkPages(ctx, op, next, false, fetch, yield)
	}
}

// walkPages fetches one page after another from offset, following
// next_page_offset. first marks offset as the walk's first request.
func walkPages[T any](ctx context.Context, op string, offset int, first bool, fetch fetchPage[T], yield func(T, error) bool) {
	var zero T
	for {
		page, err := fetch(ctx, offset, first)
		if err != nil {
			yield(zero, err)
			return
		}
		if !yieldItems(page, yield) {
			return
		}
		next, more, err := nextOffset(op, page, offset)
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

// nextOffset returns the server's next_page_offset for the page fetched at
// offset, false on the last page, or ErrPaginationStalled when it does not
// move forward.
func nextOffset[T any](op string, page *Page[T], offset int) (int, bool, error) {
	next, ok := page.NextOffset()
	if !ok {
		return 0, false, nil
	}
	if next <= offset {
		return 0, false, fmt.Errorf("prefactor: %s: %w: next_page_offset %d does not move past offset %d", op, ErrPaginationStalled, next, offset)
	}
	return next, true, nil
}

// pagePlan is the list's layout as a page's pagination describes it: pages
// of size items at offset, offset+size, … below count.
type pagePlan struct {
	size, count int
}

// planPages reads the layout from the first page; ok is false when its
// pagination is missing or does not describe one.
func planPages[T any](page *Page[T]) (pagePlan, bool) {
	p := page.Pagination
	if p == nil || p.PageSize <= 0 || p.PageOffset < 0 || p.ItemCount <= p.PageOffset {
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

// throttle counts the 429 answers the requests of a parallel walk receive;
// the retry hook finds it in the request's context.
type throttle struct{ n atomic.Int64 }

type throttleKey struct{}

// noteThrottled records a 429 answer to a request made with ctx.
func noteThrottled(ctx context.Context) {
	if t, ok := ctx.Value(throttleKey{}).(*throttle); ok {
		t.n.Add(1)
	}
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
// page's next_page_offset disagreed with the plan; false when the walk is
// over (last page, consumer stopped, or an error, which it has yielded).
// Before returning it cancels the requests in flight and waits for them.
func fetchAhead[T any](ctx context.Context, op string, plan pagePlan, first *Page[T], offset, n int, fetch fetchPage[T], yield func(T, error) bool) (int, bool) {
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

	thr := new(throttle)
	ctx, cancel := context.WithCancel(context.WithValue(ctx, throttleKey{}, thr))
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
				r.page, r.err = fetch(ctx, r.offset, false)
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
		if t := thr.n.Load(); t != throttled {
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
		if !plan.expectNext(r.page, r.offset) {
			// Off plan: drop what was fetched ahead and follow the server.
			if !yieldItems(r.page, yield) {
				return 0, false
			}
			next, more, err := nextOffset(op, r.page, r.offset)
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
