package prefactor

import "fmt"

// A cursor keeps a walk in key order over a list that may change while it
// is walked, with nothing but offsets to ask by. It remembers the last key
// the walk yielded, and:
//
//   - check accepts a page only if it starts at or before that key (or at
//     offset 0): then nothing between the last key and the page's end can
//     hide before its offset, and every item of the list when the page was
//     served that comes after the last key is on the page. Only those are
//     yielded, so no key is yielded twice and, since an item that exists
//     for the whole walk was there when each page was served, none is
//     missed.
//   - retreat, for a page that starts past the last key (items before its
//     offset were deleted, so the list moved up), steps back: by the drop
//     in item_count, at most a page, then twice as far on each further
//     miss. Offset 0 always passes, so the misses of one page are bounded
//     by the log of its offset.
//   - advance asks the next page where the last key is, so it overlaps by
//     one item, moved by the drift just seen (the drop in item_count, at
//     most a page), so that a caller who deletes every item it is given
//     still costs about one request a page.
//   - spend bounds the pages in a row that bring nothing new by what
//     finding the walk's place again can take, counted from what the walk
//     received, not what the server declares; past it the walk ends with
//     ErrPaginationStalled.
//
// Items created or deleted during the walk may or may not be yielded, but
// never twice. The cursor holds one key and a few counts, whatever the
// length of the list.
type cursor[T any] struct {
	key   func(T) string
	desc  bool
	start int // the walk's first offset
	size  int // page size asked after the first page: one more than the caller's, to overlap

	last      string // the last key yielded
	yielded   int    // keys yielded so far
	count     int    // item_count of the last page accepted
	counted   bool   // whether count is known
	served    int    // the most items the server serves a page, as far as seen; c.size until it serves fewer
	step      int    // how far the last retreat stepped back; 0 after an accepted page
	fruitless int    // pages in a row that brought nothing new
}

// after reports whether key a comes after key b in the walk's order.
func (c *cursor[T]) after(a, b string) bool {
	if c.desc {
		return a < b
	}
	return a > b
}

// check returns the items of page, fetched at offset, that come after the
// last key yielded, and whether the page may be yielded at all (see
// cursor). It returns an error when the page is not in the key order the
// server said it applied, or comes without the pagination the walk goes
// by.
func (c *cursor[T]) check(page *Page[T], offset int) (fresh []T, ok bool, err error) {
	if page.Pagination == nil {
		return nil, false, fmt.Errorf("the page at offset %d has no pagination", offset)
	}
	items := page.Items
	for i := 1; i < len(items); i++ {
		if a, b := c.key(items[i-1]), c.key(items[i]); !c.after(b, a) {
			return nil, false, fmt.Errorf("the page at offset %d is not in the order of its sorting: %q then %q",
				offset, shorten(a, maxShown, ""), shorten(b, maxShown, "")) // the scrub comes where the error leaves
		}
	}
	if c.yielded == 0 {
		return items, true, nil
	}
	j := 0
	for j < len(items) && !c.after(c.key(items[j]), c.last) {
		j++
	}
	if j == 0 && offset > 0 {
		return nil, false, nil // it starts past the last key, or is empty: items may hide before it
	}
	return items[j:], true, nil
}

// retreat returns the offset to ask after page, fetched at offset, failed
// check: back by the drop in item_count since the last accepted page, at
// most a page, or twice the last step; never past the list's end.
func (c *cursor[T]) retreat(page *Page[T], offset int) (int, error) {
	if err := c.spend(); err != nil {
		return 0, err
	}
	p := page.Pagination
	if c.step == 0 {
		// Items deleted after the walk's place count in the drop too:
		// start with a page at most, and double.
		c.step = max(1, min(c.count-p.ItemCount, c.size-1))
	} else {
		c.step *= 2
	}
	back := offset - min(c.step, offset)
	if p.ItemCount > 0 {
		back = min(back, p.ItemCount-1)
	}
	return back, nil
}

// spend counts a page that brought nothing new, and returns an error when
// there were more in a row than finding the walk's place again can take:
// the steps back to offset 0, and every page from there to where the walk
// was, which is at most the walk's start plus the keys it yielded.
func (c *cursor[T]) spend() error {
	c.fruitless++
	if budget := 64 + 2*(c.start+c.yielded)/(c.size-1); c.fruitless > budget {
		return fmt.Errorf("%d pages in a row brought nothing new and still named a next page", c.fruitless)
	}
	return nil
}

// stride is how far apart the pages of a walk that nothing changes are:
// the items a page brings, less the one of overlap.
func (c *cursor[T]) stride() int { return max(1, min(c.size, c.served)-1) }

// advance takes page into account, asked at offset for asked items and
// accepted with fresh its new items, and returns the offset of the next
// page; false after the last page. It returns an error when spend does.
func (c *cursor[T]) advance(page *Page[T], offset, asked int, fresh []T) (int, bool, error) {
	c.step = 0
	p := page.Pagination
	drift := 0
	if c.counted {
		drift = p.ItemCount - c.count
	}
	c.count, c.counted = p.ItemCount, true
	if len(fresh) > 0 {
		c.last, c.fruitless = c.key(fresh[len(fresh)-1]), 0
		c.yielded += len(fresh)
	}
	if p.NextPageOffset == nil {
		return 0, false, nil
	}
	if n := len(page.Items); n > 0 && n < asked {
		c.served = n // a page short of what was asked, yet not the last
	}
	if len(fresh) == 0 {
		if err := c.spend(); err != nil {
			return 0, false, err
		}
		if len(page.Items) == 0 {
			// Nothing to overlap with: an empty first page that names a
			// next one. Follow the server.
			if next := *p.NextPageOffset; next > offset {
				return next, true, nil
			}
			return 0, false, fmt.Errorf("next_page_offset %d does not move past offset %d", *p.NextPageOffset, offset)
		}
		// Everything on it came before the last key: items were added
		// before the cursor, or a step back went far. Move on, overlapping
		// the last item seen.
		return offset + max(1, len(page.Items)-1), true, nil
	}
	// Ask where the last key is now: the page's last item, moved up by the
	// items deleted meanwhile if they go on being deleted before it.
	return max(0, offset+len(page.Items)-1+max(-c.size, min(0, drift))), true, nil
}
