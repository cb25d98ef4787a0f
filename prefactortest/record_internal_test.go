package prefactortest

import (
	"net/http"
	"net/http/httptest"
	"runtime"
	"strconv"
	"strings"
	"testing"
)

// serveN hands n list requests straight to the server's handler, each with
// 1 KiB of header and its number i (from first) as the query n; the
// recording path is the one a request over the network takes.
func serveN(s *Server, first, n int) {
	pad := strings.Repeat("x", 1024)
	for i := first; i < first+n; i++ {
		r := httptest.NewRequest(http.MethodGet, "/api/v1/api_token?n="+strconv.Itoa(i), nil)
		r.Header.Set("Authorization", "Bearer "+Token)
		r.Header.Set("X-Pad", pad)
		s.serve(httptest.NewRecorder(), r)
	}
}

// heapInUse returns HeapInuse after a collection.
func heapInUse() uint64 {
	runtime.GC()
	var m runtime.MemStats
	runtime.ReadMemStats(&m)
	return m.HeapInuse
}

// checkKept fails t unless s kept exactly the requests numbered from first
// to last, in order.
func checkKept(t *testing.T, s *Server, first, last int) {
	t.Helper()
	reqs := s.Requests()
	if len(reqs) != last-first+1 {
		t.Fatalf("%d requests kept, want %d (numbers %d to %d)", len(reqs), last-first+1, first, last)
	}
	for i, r := range reqs {
		if got, want := r.Query.Get("n"), strconv.Itoa(first+i); got != want {
			t.Fatalf("kept request %d is number %s, want %s", i, got, want)
		}
	}
}

func TestRequestRecordKeepsDefaultLimit(t *testing.T) {
	s := NewServer(t)
	serveN(s, 0, DefaultRequestLimit+10)
	checkKept(t, s, 10, DefaultRequestLimit+9)
	if n := s.RequestCount(); n != DefaultRequestLimit+10 {
		t.Errorf("RequestCount %d, want %d", n, DefaultRequestLimit+10)
	}
}

// A long run keeps the heap flat: 20,000 requests with 1 KiB of header each
// would hold more than 20 MiB if all were kept; with a limit of 100 the heap
// after the run is within 2 MiB of the heap after the first 1,000.
func TestRequestRecordMemoryStaysFlat(t *testing.T) {
	const (
		limit  = 100
		warmup = 1000
		run    = 20000
		slack  = 2 << 20
	)
	s := NewServer(t)
	s.SetRequestLimit(limit)
	serveN(s, 0, warmup) // the ring is full, pools and maps are warm
	before := heapInUse()
	serveN(s, warmup, run)
	after := heapInUse()

	if after > before+slack {
		t.Errorf("HeapInuse grew from %d to %d bytes over %d requests (+%d), want at most +%d",
			before, after, run, after-before, slack)
	}
	checkKept(t, s, warmup+run-limit, warmup+run-1)
	if n := s.RequestCount(); n != warmup+run {
		t.Errorf("RequestCount %d, want %d", n, warmup+run)
	}
	t.Logf("HeapInuse %d → %d bytes over %d requests, keeping %d", before, after, run, limit)
}
