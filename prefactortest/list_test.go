package prefactortest_test

import (
	"encoding/json"
	"math"
	"math/big"
	"net/http"
	"strconv"
	"testing"

	prefactor "github.com/prefactor-sdk/prefactor-go"
	"github.com/prefactor-sdk/prefactor-go/prefactortest"
)

// Offsets near the largest int still give the page_index the fake's doc
// promises, ceil(offset/size)+1, never a wrapped-around negative one.
func TestPageIndexOfHugeOffsets(t *testing.T) {
	respond := prefactortest.ListResponder(prefactortest.FakeTokens(3))
	for _, size := range []int{1, 2, 7, 25, 100} {
		for _, offset := range []int{math.MaxInt, math.MaxInt - 1, math.MaxInt - 24, math.MaxInt - 99, math.MaxInt / 2, math.MaxInt/2 + 1} {
			q := "pagination%5Boffset%5D=" + strconv.Itoa(offset) + "&pagination%5Bpage_size%5D=" + strconv.Itoa(size)
			a := respondTo(t, respond, http.MethodGet, listPath+"?"+q, "")
			var l struct{ Pagination prefactor.Pagination }
			if err := json.Unmarshal(a.body, &l); err != nil || a.status != http.StatusOK {
				t.Fatalf("offset %d, size %d: %d %s", offset, size, a.status, a.body)
			}

			// ceil(offset/size)+1 in exact arithmetic, capped at MaxInt.
			want := new(big.Int).Add(big.NewInt(int64(offset)), big.NewInt(int64(size-1)))
			want.Div(want, big.NewInt(int64(size))).Add(want, big.NewInt(1))
			if want.Cmp(big.NewInt(math.MaxInt)) > 0 {
				want.SetInt64(math.MaxInt)
			}
			p := l.Pagination
			if int64(p.PageIndex) != want.Int64() {
				t.Errorf("offset %d, size %d: page_index %d, want %s", offset, size, p.PageIndex, want)
			}
			if p.PreviousPageOffset == nil || *p.PreviousPageOffset != offset-size || p.NextPageOffset != nil || p.ItemStart != 0 {
				t.Errorf("offset %d, size %d: pagination %+v", offset, size, p)
			}
		}
	}
}
