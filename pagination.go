package prefactor

import (
	"context"
	"fmt"
	"iter"
	"net/url"
	"strings"
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
	Field     SortField     `json:"field"`
	Direction SortDirection `json:"direction"`
}

// fetchPage fetches the page that starts at offset. first is true for the
// first request of a walk.
type fetchPage[T any] func(ctx context.Context, offset int, first bool) (*Page[T], error)

// allPages walks a list from offset start, following the server's
// next_page_offset exactly, and yields every item in server order. It stops
// after the last page, when the consumer stops (no further request), or at
// the first error, which it yields once as (zero, err). A next offset that does
// not move past the offset just requested is an error. op names the
// operation in errors.
func allPages[T any](ctx context.Context, op string, start int, fetch fetchPage[T]) iter.Seq2[T, error] {
	return func(yield func(T, error) bool) {
		var zero T
		offset, first := start, true
		for {
			page, err := fetch(ctx, offset, first)
			if err != nil {
				yield(zero, err)
				return
			}
			for _, item := range page.Items {
				if !yield(item, nil) {
					return
				}
			}
			next, ok := page.NextOffset()
			if !ok {
				return
			}
			if next <= offset {
				yield(zero, fmt.Errorf("prefactor: %s: %w: next_page_offset %d does not move past offset %d", op, ErrPaginationStalled, next, offset))
				return
			}
			offset, first = next, false
		}
	}
}
