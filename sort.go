package prefactor

import (
	"fmt"
	"net/url"
	"strings"
)

// SortField names the field a list is sorted by. It is open: any string
// goes to the server, which answers a field its list does not sort by with
// an *APIError whose Code is CodeInvalidValue. The token list sorts by
// SortByID and SortByStatus.
type SortField string

// Sort fields of the token list.
const (
	SortByID     SortField = "id"
	SortByStatus SortField = "status"
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
