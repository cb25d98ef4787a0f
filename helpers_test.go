package prefactor

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"
)

// testToken is the bearer token every test client uses; tests check it
// never leaks.
const testToken = "pft_live_S3CR3T-test-token-value"

// basePrefix is a path prefix on the base URL, as a gateway would add, to
// prove the client keeps it.
const basePrefix = "/gateway/prefactor"

// recorder counts and keeps the requests a test server saw.
type recorder struct {
	mu   sync.Mutex
	reqs []*http.Request
}

func (r *recorder) add(req *http.Request) int {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.reqs = append(r.reqs, req.Clone(context.Background()))
	return len(r.reqs)
}

func (r *recorder) count() int {
	r.mu.Lock()
	defer r.mu.Unlock()
	return len(r.reqs)
}

func (r *recorder) get(i int) *http.Request {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.reqs[i]
}

// setup starts a loopback server whose handler answers under basePrefix and
// returns a client pointed at it with tiny retry waits. n is the 1-based
// number of the request being answered.
func setup(t *testing.T, handler func(w http.ResponseWriter, r *http.Request, n int), opts ...Option) (*Client, *recorder) {
	t.Helper()
	rec := &recorder{}
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		n := rec.add(r)
		if !strings.HasPrefix(r.URL.Path, basePrefix+"/api/v1/") {
			http.Error(w, "unexpected path "+r.URL.Path, http.StatusTeapot)
			return
		}
		handler(w, r, n)
	}))
	t.Cleanup(srv.Close)
	all := append([]Option{WithBaseURL(srv.URL + basePrefix), WithRetryWait(time.Millisecond, 2*time.Millisecond)}, opts...)
	c, err := NewClient(testToken, all...)
	if err != nil {
		t.Fatalf("NewClient: %v", err)
	}
	return c, rec
}

// reply writes a JSON body with the given status.
func reply(w http.ResponseWriter, status int, body string) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_, _ = w.Write([]byte(body))
}

// asAPIError returns err's *APIError or fails the test.
func asAPIError(t *testing.T, err error) *APIError {
	t.Helper()
	var apiErr *APIError
	if !errors.As(err, &apiErr) {
		t.Fatalf("error %v (%T) is not an *APIError", err, err)
	}
	return apiErr
}

// noSecret fails the test when s holds the bearer token.
func noSecret(t *testing.T, what, s string) {
	t.Helper()
	if strings.Contains(s, testToken) || strings.Contains(s, "S3CR3T") {
		t.Errorf("%s leaks the bearer token: %s", what, s)
	}
}

// tokenJSON is one list entry as the API sends it.
func tokenJSON(id string) string {
	return `{"id":"` + id + `","type":"api_token","account_id":"acc_1",` +
		`"created_by_admin_user_id":null,"environment_id":null,` +
		`"expires_at":"2030-01-01T00:00:00Z","inserted_at":"2024-01-01T00:00:00Z",` +
		`"updated_at":"2024-01-02T00:00:00Z","last_used_at":null,` +
		`"status":"active","token_scope":"account"}`
}

// listJSON is a success body holding ids, with next as next_page_offset
// (nil: the last page).
func listJSON(offset int, next *int, ids ...string) string {
	items := make([]string, len(ids))
	for i, id := range ids {
		items[i] = tokenJSON(id)
	}
	nextJSON := "null"
	if next != nil {
		nextJSON = strconv.Itoa(*next)
	}
	return fmt.Sprintf(`{"status":"success","summaries":[%s],"pagination":{"item_count":99,"item_start":%d,"item_end":%d,`+
		`"page_count":9,"page_index":1,"page_offset":%d,"page_size":%d,"next_page_offset":%s,"previous_page_offset":null},"sorting":null}`,
		strings.Join(items, ","), offset+1, offset+len(ids), offset, len(ids), nextJSON)
}

func ptr[T any](v T) *T { return &v }

// waitGoroutines fails the test unless the goroutine count comes back to at
// most before within a bounded time; connections that were just closed need
// a moment for their read and write loops to end.
func waitGoroutines(t *testing.T, before int) {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for runtime.NumGoroutine() > before {
		if time.Now().After(deadline) {
			buf := make([]byte, 1<<20)
			n := runtime.Stack(buf, true)
			t.Fatalf("goroutine leak: %d before, %d after\n%s", before, runtime.NumGoroutine(), buf[:n])
		}
		runtime.Gosched()
	}
}
