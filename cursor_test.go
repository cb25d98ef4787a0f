package prefactor

import (
	"strings"
	"testing"
)

// keyPage is a page of string keys at offset in a list of count, with a
// next page unless last.
func keyPage(offset, count int, last bool, keys ...string) *Page[string] {
	p := &Page[string]{Items: keys, Pagination: &Pagination{ItemCount: count, PageOffset: offset, PageSize: len(keys)}}
	if !last {
		p.Pagination.NextPageOffset = ptr(offset + len(keys))
	}
	return p
}

func newKeyCursor(size int, desc bool) *cursor[string] {
	return &cursor[string]{key: func(s string) string { return s }, desc: desc, size: size, served: size}
}

func TestCursorCheck(t *testing.T) {
	c := newKeyCursor(4, false)
	c.last, c.yielded = "k05", 6
	for _, tc := range []struct {
		name   string
		page   *Page[string]
		offset int
		fresh  []string
		ok     bool
		err    string
	}{
		{"overlapping the last key", keyPage(5, 20, false, "k05", "k06", "k07"), 5, []string{"k06", "k07"}, true, ""},
		{"tokens added before: more overlap", keyPage(5, 20, false, "k03", "k04", "k05", "k06"), 5, []string{"k06"}, true, ""},
		{"nothing new", keyPage(5, 20, false, "k02", "k03", "k04"), 5, []string{}, true, ""},
		{"starts past the last key", keyPage(5, 20, false, "k07", "k08"), 5, nil, false, ""},
		{"empty past offset 0", keyPage(5, 3, true), 5, nil, false, ""},
		{"offset 0 always fits", keyPage(0, 20, false, "k07", "k08"), 0, []string{"k07", "k08"}, true, ""},
		{"out of order", keyPage(5, 20, false, "k05", "k09", "k06"), 5, nil, false, `not in the order of its sorting: "k09" then "k06"`},
		{"a repeated key", keyPage(5, 20, false, "k05", "k06", "k06"), 5, nil, false, "not in the order"},
		{"without pagination", &Page[string]{Items: []string{"k05", "k06"}}, 5, nil, false, "the page at offset 5 has no pagination"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			fresh, ok, err := c.check(tc.page, tc.offset)
			if tc.err != "" {
				if err == nil || !strings.Contains(err.Error(), tc.err) {
					t.Fatalf("err = %v; want one saying %q", err, tc.err)
				}
				return
			}
			if err != nil || ok != tc.ok || strings.Join(fresh, ",") != strings.Join(tc.fresh, ",") {
				t.Errorf("check = %q, %v, %v; want %q, %v", fresh, ok, err, tc.fresh, tc.ok)
			}
		})
	}
	d := newKeyCursor(4, true)
	d.last, d.yielded = "k05", 6
	if fresh, ok, err := d.check(keyPage(5, 20, false, "k05", "k04", "k03"), 5); err != nil || !ok || strings.Join(fresh, ",") != "k04,k03" {
		t.Errorf("descending: check = %q, %v, %v; want k04,k03", fresh, ok, err)
	}
}

func TestCursorRetreat(t *testing.T) {
	c := newKeyCursor(11, false)
	c.count, c.counted = 100, true
	// The list lost 10 items since the last accepted page: back by 10,
	// then twice as far on each further miss, never below 0.
	offset := 50
	for _, want := range []int{40, 20, 0} {
		got, err := c.retreat(keyPage(offset, 90, false, "x"), offset)
		if err != nil || got != want {
			t.Fatalf("retreat from %d = %d, %v; want %d", offset, got, err, want)
		}
		offset = got
	}
	// A page past the end of a list that is shorter than the walk
	// thought: back within the list, whatever the step.
	c.step, c.count = 0, 31
	if got, _ := c.retreat(keyPage(70, 30, true), 70); got != 29 {
		t.Errorf("retreat past the end = %d; want 29, the list's last item", got)
	}
}

func TestCursorAdvance(t *testing.T) {
	c := newKeyCursor(11, false)
	next, more, err := c.advance(keyPage(0, 100, false, "a", "b", "c"), 0, 3, []string{"a", "b", "c"})
	if err != nil || !more || next != 2 || c.last != "c" {
		t.Fatalf("first page: next %d, %v, %v, last %q; want 2 (the last item's place)", next, more, err, c.last)
	}
	// 3 items went since the last page: the next is asked 3 earlier.
	if next, _, _ = c.advance(keyPage(2, 97, false, "c", "d", "e", "f"), 2, 4, []string{"d", "e", "f"}); next != 2 {
		t.Errorf("after a drop of 3: next %d; want 2+4-1-3 = 2", next)
	}
	// A drop of more than a page moves it back by a page at most.
	if next, _, _ = c.advance(keyPage(20, 50, false, "f", "g", "h"), 20, 3, []string{"g", "h"}); next != 20+3-1-11 {
		t.Errorf("after a drop of 47: next %d; want %d", next, 20+3-1-11)
	}
	// A page of nothing new moves on past it, whatever the drift.
	if next, _, _ = c.advance(keyPage(30, 40, false, "a", "b", "c"), 30, 3, nil); next != 32 {
		t.Errorf("after a page of nothing new: next %d; want 32", next)
	}
	if _, more, _ = c.advance(keyPage(32, 40, true, "h", "i"), 32, 2, []string{"i"}); more {
		t.Error("the last page names no next one, yet the walk goes on")
	}
}

// TestCursorSpends: pages in a row that bring nothing new end the walk
// once there are more than finding its place again could take, counted
// from where the walk started and what it yielded, whatever item_count
// the server claims.
func TestCursorSpends(t *testing.T) {
	c := newKeyCursor(11, false)
	c.start, c.last, c.yielded = 30, "z", 170
	page := keyPage(0, 1<<40, false, "a", "b")
	budget := 64 + 2*(30+170)/10
	for i := 1; i <= budget; i++ {
		if _, _, err := c.advance(page, 0, 2, nil); err != nil {
			t.Fatalf("page %d of nothing new: %v; want the walk to go on up to %d", i, err, budget)
		}
	}
	if _, _, err := c.advance(page, 0, 2, nil); err == nil || !strings.Contains(err.Error(), "brought nothing new") {
		t.Errorf("page %d of nothing new: %v; want the walk to end", budget+1, err)
	}
	if _, err := c.retreat(page, 50); err == nil {
		t.Error("a retreat after the budget was spent went on")
	}
}

// TestCursorRetreatStartsWithAPage: a drop in item_count larger than a
// page, which deletions after the walk's place make too, steps back a page
// at first, then twice as far on each miss.
func TestCursorRetreatStartsWithAPage(t *testing.T) {
	c := newKeyCursor(100, false)
	c.count, c.counted, c.yielded = 6000, true, 2970
	offset := 2970
	for _, want := range []int{2871, 2673, 2277} {
		got, err := c.retreat(keyPage(offset, 4000, false, "x"), offset)
		if err != nil || got != want {
			t.Fatalf("retreat from %d = %d, %v; want %d", offset, got, err, want)
		}
		offset = got
	}
}

// TestCursorStride: a server that serves fewer items than asked, yet not
// on its last page, sets how far apart the walk plans its pages.
func TestCursorStride(t *testing.T) {
	c := newKeyCursor(101, false)
	c.served = 101
	if got := c.stride(); got != 100 {
		t.Fatalf("stride %d; want 100", got)
	}
	c.advance(keyPage(0, 1000, false, "a", "b", "c", "d", "e", "f", "g", "h", "i", "j"), 0, 101, []string{"a", "b", "c", "d", "e", "f", "g", "h", "i", "j"})
	if got := c.stride(); got != 9 {
		t.Errorf("after a page of 10 when 101 were asked: stride %d; want 9", got)
	}
}
