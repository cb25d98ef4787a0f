package prefactortest_test

import (
	"net/http"
	"slices"
	"testing"

	"github.com/prefactor-sdk/prefactor-go/prefactortest"
)

// recordedOffsets returns the pagination[offset] of each request srv kept.
func recordedOffsets(srv *prefactortest.Server) []string {
	var offsets []string
	for _, r := range srv.Requests() {
		offsets = append(offsets, r.Query.Get("pagination[offset]"))
	}
	return offsets
}

func TestSetRequestLimit(t *testing.T) {
	srv := prefactortest.NewServer(t)
	srv.SetRequestLimit(3)
	for _, offset := range []string{"1", "2", "3", "4", "5"} {
		get(t, srv, "pagination[offset]="+offset, bearer)
	}
	if got, want := recordedOffsets(srv), []string{"3", "4", "5"}; !slices.Equal(got, want) {
		t.Errorf("limit 3 kept offsets %q, want the last three %q", got, want)
	}

	srv.SetRequestLimit(2) // drops the oldest at once
	if got, want := recordedOffsets(srv), []string{"4", "5"}; !slices.Equal(got, want) {
		t.Errorf("lowered to 2: kept %q, want %q", got, want)
	}
	get(t, srv, "pagination[offset]=6", bearer)
	if got, want := recordedOffsets(srv), []string{"5", "6"}; !slices.Equal(got, want) {
		t.Errorf("after one more: kept %q, want %q", got, want)
	}

	srv.SetRequestLimit(0) // recording off
	get(t, srv, "pagination[offset]=7", bearer)
	if got := srv.Requests(); len(got) != 0 {
		t.Errorf("recording off: %d requests kept, want 0", len(got))
	}

	srv.SetRequestLimit(-1) // counts as 0
	get(t, srv, "pagination[offset]=8", bearer)
	if got := srv.Requests(); len(got) != 0 {
		t.Errorf("limit -1: %d requests kept, want 0", len(got))
	}

	srv.SetRequestLimit(4) // on again, from the next request
	get(t, srv, "pagination[offset]=9", bearer)
	send(t, srv, http.MethodDelete, listPath+"/nope?pagination[offset]=10", "")
	if got, want := recordedOffsets(srv), []string{"9", "10"}; !slices.Equal(got, want) {
		t.Errorf("on again: kept %q, want %q", got, want)
	}
	if n := srv.RequestCount(); n != 10 {
		t.Errorf("RequestCount %d, want all 10 requests, kept or not", n)
	}
}
