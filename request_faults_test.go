package prefactor

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"math"
	"net"
	"net/http"
	"net/url"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"
)

// The fault matrix: every fault we can make on loopback, each against a
// test server (newTestServer, or newRawServer for what net/http would not
// send), with the error's type and fields, the attempts the server saw, the
// elapsed time and the goroutine count checked per row.
//
// Run with -v to see each row's measured attempts and elapsed time.

// faultEnv is what one row's server handler and call share: the channels
// and hooks that let them meet without sleeping, and the idempotency keys
// the server saw.
type faultEnv struct {
	t       *testing.T
	release chan struct{} // closed when the row's call has returned
	headers chan struct{} // one value per response whose headers reached the client (hooked rows)

	mu      sync.Mutex
	onRetry func()   // called when the client decides to retry, before it waits
	onHead  func()   // called when response headers reach the client (hooked rows)
	keys    []string // idempotency keys the server saw, in order (noteKey)
}

// noteKey records the idempotency key r carries, "" for none. It consumes
// r's body.
func (e *faultEnv) noteKey(r *http.Request) {
	key, _ := idempotencyKeyOf(r)
	e.mu.Lock()
	e.keys = append(e.keys, key)
	e.mu.Unlock()
}

// seenKeys returns the idempotency keys noteKey recorded.
func (e *faultEnv) seenKeys() []string {
	e.mu.Lock()
	defer e.mu.Unlock()
	return append([]string(nil), e.keys...)
}

func (e *faultEnv) setOnRetry(f func()) { e.mu.Lock(); e.onRetry = f; e.mu.Unlock() }
func (e *faultEnv) setOnHead(f func())  { e.mu.Lock(); e.onHead = f; e.mu.Unlock() }

func (e *faultEnv) fire(which *func()) {
	e.mu.Lock()
	f := *which
	e.mu.Unlock()
	if f != nil {
		f()
	}
}

// waitHeaders blocks a handler until the client has the response headers,
// or the row is over.
func (e *faultEnv) waitHeaders() {
	select {
	case <-e.headers:
	case <-e.release:
	}
}

// headerHook is a RoundTripper that reports each response whose headers
// arrived, so a handler can break the connection strictly mid-body.
type headerHook struct {
	rt http.RoundTripper
	e  *faultEnv
}

func (h headerHook) RoundTrip(req *http.Request) (*http.Response, error) {
	resp, err := h.rt.RoundTrip(req)
	if err == nil {
		h.e.fire(&h.e.onHead)
		select {
		case h.e.headers <- struct{}{}:
		default:
		}
	}
	return resp, err
}

// retryDecided reports whether r is the client's retry decision with retry=true.
func retryDecided(r slog.Record) bool {
	if r.Message != "prefactor: retry decision" {
		return false
	}
	yes := false
	r.Attrs(func(a slog.Attr) bool {
		if a.Key == "retry" && a.Value.Kind() == slog.KindBool && a.Value.Bool() {
			yes = true
		}
		return true
	})
	return yes
}

func okPage(w http.ResponseWriter) { reply(w, 200, listJSON(0, nil, "tok_a", "tok_b")) }

// sendHalfPage takes the raw connection, sends the headers of a 200 with a
// two-token page and the first half of its body, and returns the connection
// for the caller to break.
func sendHalfPage(t *testing.T, w http.ResponseWriter) net.Conn {
	conn, rw := hijack(t, w)
	body := listJSON(0, nil, "tok_a", "tok_b")
	fmt.Fprintf(rw, "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: %d\r\n\r\n%s", len(body), body[:len(body)/2])
	_ = rw.Flush()
	return conn
}

// sendCut takes the raw connection, sends status with a JSON body cut in
// half, with no Content-Length (the body ends when the connection does),
// and closes the connection.
func sendCut(t *testing.T, w http.ResponseWriter, status int, body string) {
	conn, rw := hijack(t, w)
	fmt.Fprintf(rw, "HTTP/1.1 %d %s\r\nContent-Type: application/json\r\nConnection: close\r\n\r\n%s", status, http.StatusText(status), body[:len(body)/2])
	_ = rw.Flush()
	_ = conn.Close()
}

// pagedServe answers list calls from pages, keyed by the requested offset.
func pagedServe(pages map[int]string) func(*faultEnv, int, http.ResponseWriter, *http.Request) {
	return func(e *faultEnv, _ int, w http.ResponseWriter, r *http.Request) {
		off, _ := strconv.Atoi(r.URL.Query().Get("pagination[offset]"))
		body, ok := pages[off]
		if !ok {
			e.t.Errorf("unexpected request for offset %d", off)
			reply(w, 404, `{"status":"error","code":"not_found","message":"no such page"}`)
			return
		}
		reply(w, 200, body)
	}
}

// maxServed bounds the requests a misbehaving test server answers as asked;
// after that it answers 400, so a client that does not stop by itself ends
// the test quickly instead of hanging it.
const maxServed = 1000

// risingEmptyPages answers every list call with an empty page whose
// next_page_offset is the requested offset plus 100, and whose pagination
// describes a list of 2^30 items, so a parallel walk plans pages ahead.
func risingEmptyPages(_ *faultEnv, n int, w http.ResponseWriter, r *http.Request) {
	if n > maxServed {
		reply(w, 400, `{"status":"error","code":"bad_request","message":"test server: request bound reached"}`)
		return
	}
	off, _ := strconv.Atoi(r.URL.Query().Get("pagination[offset]"))
	reply(w, 200, fmt.Sprintf(`{"status":"success","summaries":[],"pagination":{"item_count":%d,"item_start":%d,"item_end":%d,`+
		`"page_count":%d,"page_index":%d,"page_offset":%d,"page_size":100,"next_page_offset":%d,"previous_page_offset":null},"sorting":null}`,
		1<<30, off+1, off, (1<<30)/100, off/100+1, off, off+100))
}

// answerAny answers each kind of call with success: a list page, a created
// token, or 204 to a delete.
func answerAny(_ *faultEnv, _ int, w http.ResponseWriter, r *http.Request) {
	switch r.Method {
	case http.MethodPost:
		reply(w, 201, createdJSON("tok_new", "pf_new_secret_value"))
	case http.MethodDelete:
		w.WriteHeader(http.StatusNoContent)
	default:
		okPage(w)
	}
}

// emptyObjectsList is a success body whose summaries are n empty objects.
func emptyObjectsList(n int) []byte {
	items := ""
	if n > 0 {
		items = strings.Repeat("{},", n-1) + "{}"
	}
	return []byte(`{"status":"success","summaries":[` + items + `]}`)
}

// allResult is what ranging over All produced.
type allResult struct {
	ids []string
	err error
}

func rangeAll(ctx context.Context, c *Client, stopAfter int) allResult {
	var res allResult
	for tok, err := range c.APITokens.All(ctx, &ListAPITokensOptions{PageSize: 2}) {
		if err != nil {
			res.err = err
			break
		}
		res.ids = append(res.ids, tok.ID)
		if len(res.ids) == stopAfter {
			break
		}
	}
	return res
}

// yielded is what collectAll saw.
type yielded struct {
	ids  []string
	errs []error
}

// allYielded ranges over seq to the end without breaking, so an iterator
// that yields after an error is caught; it gives up after 10000 yields.
// Its error is the first one yielded.
func allYielded(seq func(func(*APIToken, error) bool)) (any, error) {
	var y yielded
	n := 0
	for tok, err := range seq {
		if n++; n > 10000 {
			break
		}
		if err != nil {
			y.errs = append(y.errs, err)
			continue
		}
		y.ids = append(y.ids, tok.ID)
	}
	if len(y.errs) > 0 {
		return y, y.errs[0]
	}
	return y, nil
}

// createResult is what a Create returned and the idempotency keys the
// server saw.
type createResult struct {
	created *CreatedAPIToken
	keys    []string
}

func wantAPIError(t *testing.T, err error, status int, code ErrorCode, attempts int) *APIError {
	t.Helper()
	var apiErr *APIError
	if !errors.As(err, &apiErr) {
		t.Fatalf("error %v (%T): want an *APIError", err, err)
	}
	if apiErr.StatusCode != status || apiErr.Code != code || apiErr.Attempts != attempts {
		t.Errorf("APIError status %d code %q attempts %d; want %d %q %d", apiErr.StatusCode, apiErr.Code, apiErr.Attempts, status, code, attempts)
	}
	if apiErr.Method != http.MethodGet || apiErr.Path != basePrefix+"/api/v1/api_token" {
		t.Errorf("APIError names %s %s; want GET %s/api/v1/api_token", apiErr.Method, apiErr.Path, basePrefix)
	}
	if !strings.HasPrefix(err.Error(), "prefactor: list API tokens: ") {
		t.Errorf("error %q does not name the operation", err)
	}
	return apiErr
}

func wantNoAPIError(t *testing.T, err error) {
	t.Helper()
	if err == nil {
		t.Fatal("no error")
	}
	var apiErr *APIError
	if errors.As(err, &apiErr) {
		t.Fatalf("error %v is an *APIError; want a non-HTTP failure", err)
	}
	if !strings.HasPrefix(err.Error(), "prefactor: list API tokens: ") {
		t.Errorf("error %q does not name the operation", err)
	}
}

// wantFailure fails the test unless err is a list failure other than an
// HTTP status (see wantNoAPIError) that matches target.
func wantFailure(t *testing.T, err, target error) {
	t.Helper()
	wantNoAPIError(t, err)
	if !errors.Is(err, target) {
		t.Errorf("error %v; want one matching %v", err, target)
	}
}

// wantInvalidArgument fails the test unless err matches ErrInvalidArgument.
func wantInvalidArgument(t *testing.T, err error) {
	t.Helper()
	if !errors.Is(err, ErrInvalidArgument) {
		t.Errorf("error %v; want one matching ErrInvalidArgument", err)
	}
}

// wantTransportError fails the test unless errors.As finds both the
// *url.Error and the *net.OpError in err, and nothing in err shows tok.
func wantTransportError(t *testing.T, err error, tok string) {
	t.Helper()
	if err == nil {
		t.Fatal("no error")
	}
	var urlErr *url.Error
	if !errors.As(err, &urlErr) {
		t.Errorf("errors.As(%v, **url.Error) = false", err)
	}
	var opErr *net.OpError
	if !errors.As(err, &opErr) {
		t.Errorf("errors.As(%v, **net.OpError) = false; want the transport's *net.OpError", err)
	}
	noTokenIn(t, "transport error", err, tok)
}

func wantPage(t *testing.T, got any, err error, ids ...string) {
	t.Helper()
	if err != nil {
		t.Fatalf("error %v; want success", err)
	}
	page, ok := got.(*Page[*APIToken])
	if !ok {
		t.Fatalf("result %T; want a page", got)
	}
	var gotIDs []string
	for _, tok := range page.Items {
		gotIDs = append(gotIDs, tok.ID)
	}
	if strings.Join(gotIDs, ",") != strings.Join(ids, ",") {
		t.Errorf("page items %v; want %v", gotIDs, ids)
	}
}

func wantAll(t *testing.T, got any, wantErr error, ids ...string) {
	t.Helper()
	res := got.(allResult)
	if strings.Join(res.ids, ",") != strings.Join(ids, ",") {
		t.Errorf("All yielded %v; want %v", res.ids, ids)
	}
	switch {
	case wantErr == nil && res.err != nil:
		t.Errorf("All error %v; want none", res.err)
	case wantErr != nil && !errors.Is(res.err, wantErr):
		t.Errorf("All error %v; want %v", res.err, wantErr)
	}
}

// wantOneError fails the test unless got, a yielded, holds no token and
// exactly one error, matching target.
func wantOneError(t *testing.T, got any, target error) {
	t.Helper()
	y := got.(yielded)
	if len(y.ids) != 0 {
		t.Errorf("yielded %d tokens; want none", len(y.ids))
	}
	if len(y.errs) != 1 || !errors.Is(y.errs[0], target) {
		t.Errorf("yielded errors %v; want exactly one matching %v", y.errs, target)
	}
}

// faultRow is one fault: how the server misbehaves, how the client is
// configured and called, and what must come out.
type faultRow struct {
	name string
	// serve answers the n-th request (1-based).
	serve func(e *faultEnv, n int, w http.ResponseWriter, r *http.Request)
	// raw, when set, replaces the HTTP server with a bare TCP listener and
	// gets each accepted connection; attempts then counts connections.
	raw func(e *faultEnv, conn net.Conn)
	// opts come after the matrix defaults (3 attempts, 1–2 ms waits, 10 s
	// per attempt) and override them.
	opts []Option
	// hook sends requests through headerHook on a transport of the test's own.
	hook bool
	// call makes the call; nil means List with page size 2.
	call func(ctx context.Context, e *faultEnv, c *Client) (any, error)
	// attempts is how many requests the server must see.
	attempts int
	// maxAttempts, when set, replaces attempts: the server must see 1 to
	// maxAttempts requests.
	maxAttempts int
	// token is the client's bearer token; "" means testToken.
	token string
	// maxAlloc, when set, bounds the bytes the call allocates
	// (runtime.MemStats.TotalAlloc, the server's share included).
	maxAlloc uint64
	// minElapsed and maxElapsed bound the call's duration.
	minElapsed, maxElapsed time.Duration
	check                  func(t *testing.T, got any, err error)
}

var (
	pastDate   = time.Date(2000, 1, 1, 0, 0, 0, 0, time.UTC).Format(http.TimeFormat)
	bigPayload = strings.Repeat("a", maxSuccessBody+1)
)

func faultRows() []faultRow {
	all := func(stopAfter int) func(context.Context, *faultEnv, *Client) (any, error) {
		return func(ctx context.Context, _ *faultEnv, c *Client) (any, error) {
			res := rangeAll(ctx, c, stopAfter)
			return res, res.err
		}
	}
	slowBackoff := WithRetryWait(10*time.Second, 10*time.Second) // a backoff wait would show as >= 5 s
	fast := 3 * time.Second                                      // bound for rows that never wait on purpose
	// A 16 MiB page of empty objects: 5,592,394 of them.
	emptyObjects := emptyObjectsList((16<<20 - len(emptyObjectsList(0)) + 1) / 3)
	badKey := "ab\xffcd" // not UTF-8
	hugeID := strings.Repeat("a", 1<<20)

	rows := []faultRow{
		{
			name: "429 with Retry-After seconds, then success",
			serve: func(_ *faultEnv, n int, w http.ResponseWriter, _ *http.Request) {
				if n == 1 {
					w.Header().Set("Retry-After", "1")
					reply(w, 429, `{"status":"error","code":"unknown","message":"slow down"}`)
					return
				}
				okPage(w)
			},
			attempts:   2,
			minElapsed: time.Second, // the server's wait, not the 1–2 ms backoff
			maxElapsed: time.Second + fast,
			check: func(t *testing.T, got any, err error) {
				wantPage(t, got, err, "tok_a", "tok_b")
			},
		},
		{
			name: "429 with Retry-After HTTP-date in the past, then success",
			serve: func(_ *faultEnv, n int, w http.ResponseWriter, _ *http.Request) {
				if n == 1 {
					w.Header().Set("Retry-After", pastDate)
					reply(w, 429, `{"status":"error","code":"unknown","message":"slow down"}`)
					return
				}
				okPage(w)
			},
			opts:       []Option{slowBackoff}, // the date, not the backoff, sets the wait
			attempts:   2,
			maxElapsed: fast,
			check: func(t *testing.T, got any, err error) {
				wantPage(t, got, err, "tok_a", "tok_b")
			},
		},
		{
			name: "429 with Retry-After HTTP-date every time",
			serve: func(_ *faultEnv, _ int, w http.ResponseWriter, _ *http.Request) {
				w.Header().Set("Retry-After", pastDate)
				reply(w, 429, `{"status":"error","code":"unknown","message":"slow down"}`)
			},
			opts:       []Option{slowBackoff},
			attempts:   3,
			maxElapsed: fast,
			check: func(t *testing.T, _ any, err error) {
				e := wantAPIError(t, err, 429, CodeUnknown, 3)
				if e.RetryAfter != 0 || e.Message != "slow down" {
					t.Errorf("RetryAfter %s, Message %q; want 0 (date in the past), %q", e.RetryAfter, e.Message, "slow down")
				}
			},
		},
		{
			name: "429 with huge Retry-After is not slept",
			serve: func(_ *faultEnv, _ int, w http.ResponseWriter, _ *http.Request) {
				w.Header().Set("Retry-After", "3600")
				w.Header().Set("X-Request-Id", "req-429")
				reply(w, 429, `{"status":"error","code":"unknown","message":"come back later"}`)
			},
			attempts:   1,
			maxElapsed: fast,
			check: func(t *testing.T, _ any, err error) {
				e := wantAPIError(t, err, 429, CodeUnknown, 1)
				if e.RetryAfter != time.Hour || e.RequestID != "req-429" {
					t.Errorf("RetryAfter %s, RequestID %q; want 1h0m0s, req-429", e.RetryAfter, e.RequestID)
				}
				if !strings.Contains(err.Error(), "retry after 1h0m0s") {
					t.Errorf("error %q does not say how long the server asked to wait", err)
				}
			},
		},
		{
			name: "503 with Retry-After beyond int64 is not slept",
			serve: func(_ *faultEnv, _ int, w http.ResponseWriter, _ *http.Request) {
				w.Header().Set("Retry-After", "99999999999999999999999")
				w.WriteHeader(503)
			},
			attempts:   1,
			maxElapsed: fast,
			check: func(t *testing.T, _ any, err error) {
				e := wantAPIError(t, err, 503, "", 1)
				if e.RetryAfter != math.MaxInt64 {
					t.Errorf("RetryAfter %s; want the largest Duration", e.RetryAfter)
				}
			},
		},
		{
			name: "503 with Retry-After over WithRetryAfterLimit",
			serve: func(_ *faultEnv, _ int, w http.ResponseWriter, _ *http.Request) {
				w.Header().Set("Retry-After", "1")
				reply(w, 503, `{"status":"error","code":"unexpected","message":"maintenance"}`)
			},
			opts:       []Option{WithRetryAfterLimit(500 * time.Millisecond)},
			attempts:   1,
			maxElapsed: fast,
			check: func(t *testing.T, _ any, err error) {
				e := wantAPIError(t, err, 503, CodeUnexpected, 1)
				if e.RetryAfter != time.Second {
					t.Errorf("RetryAfter %s; want 1s", e.RetryAfter)
				}
			},
		},
		{
			name: "429 with Retry-After past the caller's deadline is not slept",
			serve: func(_ *faultEnv, _ int, w http.ResponseWriter, _ *http.Request) {
				w.Header().Set("Retry-After", "30") // within the 60 s limit
				reply(w, 429, `{"status":"error","code":"unknown","message":"slow down"}`)
			},
			call: func(ctx context.Context, _ *faultEnv, c *Client) (any, error) {
				ctx, cancel := context.WithTimeout(ctx, 10*time.Second)
				defer cancel()
				return c.APITokens.List(ctx, nil)
			},
			attempts:   1,
			maxElapsed: fast,
			check: func(t *testing.T, _ any, err error) {
				e := wantAPIError(t, err, 429, CodeUnknown, 1)
				if e.RetryAfter != 30*time.Second {
					t.Errorf("RetryAfter %s; want 30s", e.RetryAfter)
				}
			},
		},
		{
			name: "503 then success",
			serve: func(_ *faultEnv, n int, w http.ResponseWriter, _ *http.Request) {
				if n == 1 {
					reply(w, 503, `{"status":"error","code":"unexpected","message":"busy"}`)
					return
				}
				okPage(w)
			},
			attempts:   2,
			maxElapsed: fast,
			check: func(t *testing.T, got any, err error) {
				wantPage(t, got, err, "tok_a", "tok_b")
			},
		},
		{
			name: "HTML 502 every time",
			serve: func(_ *faultEnv, _ int, w http.ResponseWriter, _ *http.Request) {
				w.Header().Set("Content-Type", "text/html")
				w.WriteHeader(502)
				_, _ = io.WriteString(w, "<html>\n<head><title>502 Bad Gateway</title></head>\n<body><center><h1>502 Bad Gateway</h1></center>\n"+strings.Repeat("<!-- padding -->\n", 100)+"</body></html>")
			},
			attempts:   3,
			maxElapsed: fast,
			check: func(t *testing.T, _ any, err error) {
				e := wantAPIError(t, err, 502, "", 3)
				if !strings.HasPrefix(e.Message, "<html> <head><title>502 Bad Gateway</title>") || len(e.Message) > 200 || strings.Contains(e.Message, "\n") {
					t.Errorf("Message %q; want a one-line snippet of at most 200 bytes", e.Message)
				}
				if !strings.Contains(err.Error(), "502 Bad Gateway") || !strings.Contains(err.Error(), "after 3 attempts") {
					t.Errorf("error %q; want the status text and the attempts", err)
				}
			},
		},
		{
			name: "404 is final",
			serve: func(_ *faultEnv, _ int, w http.ResponseWriter, _ *http.Request) {
				reply(w, 404, `{"status":"error","code":"not_found","message":"no such account"}`)
			},
			attempts:   1,
			maxElapsed: fast,
			check: func(t *testing.T, _ any, err error) {
				wantAPIError(t, err, 404, CodeNotFound, 1)
				if !errors.Is(err, ErrNotFound) {
					t.Errorf("errors.Is(%v, ErrNotFound) = false", err)
				}
			},
		},
		{
			name: "connection reset before headers, every time",
			serve: func(e *faultEnv, _ int, w http.ResponseWriter, _ *http.Request) {
				conn, _ := hijack(e.t, w)
				reset(conn)
			},
			attempts:   3,
			maxElapsed: fast,
			check: func(t *testing.T, _ any, err error) {
				wantNoAPIError(t, err)
				var urlErr *url.Error
				if !errors.As(err, &urlErr) || !strings.Contains(err.Error(), "giving up after 3 attempts") {
					t.Errorf("error %v; want a *url.Error after 3 attempts", err)
				}
			},
		},
		{
			name: "connection reset before headers, then success",
			serve: func(e *faultEnv, n int, w http.ResponseWriter, _ *http.Request) {
				if n == 1 {
					conn, _ := hijack(e.t, w)
					reset(conn)
					return
				}
				okPage(w)
			},
			attempts:   2,
			maxElapsed: fast,
			check: func(t *testing.T, got any, err error) {
				wantPage(t, got, err, "tok_a", "tok_b")
			},
		},
		{
			name: "connection reset mid-body, then success",
			hook: true,
			serve: func(e *faultEnv, n int, w http.ResponseWriter, _ *http.Request) {
				if n == 1 {
					conn := sendHalfPage(e.t, w)
					e.waitHeaders()
					reset(conn)
					return
				}
				okPage(w)
			},
			attempts:   2,
			maxElapsed: fast,
			check: func(t *testing.T, got any, err error) {
				wantPage(t, got, err, "tok_a", "tok_b")
			},
		},
		{
			name: "connection reset mid-body, every time",
			hook: true,
			serve: func(e *faultEnv, _ int, w http.ResponseWriter, _ *http.Request) {
				conn := sendHalfPage(e.t, w)
				e.waitHeaders()
				reset(conn)
			},
			attempts:   3,
			maxElapsed: fast,
			check: func(t *testing.T, _ any, err error) {
				wantNoAPIError(t, err)
				if !strings.Contains(err.Error(), "giving up after 3 attempts: reading response body") || !errors.Is(err, syscall.ECONNRESET) {
					t.Errorf("error %v; want a body read failure with ECONNRESET after 3 attempts", err)
				}
			},
		},
		{
			name: "connection closed mid-body (short Content-Length), every time",
			serve: func(e *faultEnv, _ int, w http.ResponseWriter, _ *http.Request) {
				conn := sendHalfPage(e.t, w)
				_ = conn.Close()
			},
			attempts:   3,
			maxElapsed: fast,
			check: func(t *testing.T, _ any, err error) {
				wantNoAPIError(t, err)
				if !strings.Contains(err.Error(), "reading response body") || !errors.Is(err, io.ErrUnexpectedEOF) {
					t.Errorf("error %v; want a body read failure with io.ErrUnexpectedEOF", err)
				}
			},
		},
		{
			name: "server hangs before headers (WithTimeout 50ms)",
			serve: func(e *faultEnv, _ int, _ http.ResponseWriter, r *http.Request) {
				select {
				case <-r.Context().Done():
				case <-e.release:
				}
			},
			opts:       []Option{WithTimeout(50 * time.Millisecond)},
			attempts:   3,
			minElapsed: 150 * time.Millisecond, // three whole attempts
			maxElapsed: 150*time.Millisecond + fast,
			check: func(t *testing.T, _ any, err error) {
				wantNoAPIError(t, err)
				var netErr net.Error
				if !errors.As(err, &netErr) || !netErr.Timeout() || !strings.Contains(err.Error(), "giving up after 3 attempts") {
					t.Errorf("error %v; want a timeout after 3 attempts", err)
				}
			},
		},
		{
			name: "listener accepts and never reads or answers (WithTimeout 50ms)",
			raw: func(e *faultEnv, conn net.Conn) {
				<-e.release
				_ = conn.Close()
			},
			opts:       []Option{WithTimeout(50 * time.Millisecond)},
			attempts:   3, // (retries + 1) × timeout, plus 1–2 ms waits
			minElapsed: 150 * time.Millisecond,
			maxElapsed: 150*time.Millisecond + fast,
			check: func(t *testing.T, _ any, err error) {
				wantNoAPIError(t, err)
				var netErr net.Error
				if !errors.As(err, &netErr) || !netErr.Timeout() || !strings.Contains(err.Error(), "giving up after 3 attempts") {
					t.Errorf("error %v; want a timeout after 3 attempts", err)
				}
			},
		},
		{
			name: "server hangs mid-body (WithTimeout 100ms)",
			serve: func(e *faultEnv, _ int, w http.ResponseWriter, r *http.Request) {
				body := listJSON(0, nil, "tok_a", "tok_b")
				w.Header().Set("Content-Length", strconv.Itoa(len(body)))
				w.WriteHeader(200)
				_, _ = io.WriteString(w, body[:10])
				_ = http.NewResponseController(w).Flush()
				select {
				case <-r.Context().Done():
				case <-e.release:
				}
			},
			opts:       []Option{WithTimeout(100 * time.Millisecond), WithMaxRetries(1)},
			attempts:   2,
			minElapsed: 200 * time.Millisecond,
			maxElapsed: 200*time.Millisecond + fast,
			check: func(t *testing.T, _ any, err error) {
				wantNoAPIError(t, err)
				if !strings.Contains(err.Error(), "giving up after 2 attempts: reading response body") {
					t.Errorf("error %v; want a body read timeout after 2 attempts", err)
				}
			},
		},
		{
			name: "server hangs, caller's deadline ends the attempt",
			serve: func(e *faultEnv, _ int, _ http.ResponseWriter, r *http.Request) {
				select {
				case <-r.Context().Done():
				case <-e.release:
				}
			},
			call: func(ctx context.Context, _ *faultEnv, c *Client) (any, error) {
				ctx, cancel := context.WithTimeout(ctx, 100*time.Millisecond)
				defer cancel()
				return c.APITokens.List(ctx, nil)
			},
			attempts:   1,
			minElapsed: 100 * time.Millisecond,
			maxElapsed: fast,
			check: func(t *testing.T, _ any, err error) {
				wantNoAPIError(t, err)
				if !errors.Is(err, context.DeadlineExceeded) {
					t.Errorf("error %v; want context.DeadlineExceeded", err)
				}
			},
		},
		{
			// Failure class 6: a body whose Content-Length matches the bytes
			// sent arrived whole; if its JSON stops short, the server sent it
			// so, and sending again would not help. (A body cut in transfer
			// is the read failures above, and a body delimited by the
			// connection's close is checked for a whole JSON value: see
			// "200 body cut, no Content-Length".)
			name: "truncated JSON in a complete 200 response",
			serve: func(_ *faultEnv, _ int, w http.ResponseWriter, _ *http.Request) {
				body := listJSON(0, nil, "tok_a", "tok_b")
				reply(w, 200, body[:len(body)-7])
			},
			attempts:   1,
			maxElapsed: fast,
			check: func(t *testing.T, _ any, err error) {
				wantNoAPIError(t, err)
				if !errors.Is(err, io.ErrUnexpectedEOF) || !strings.Contains(err.Error(), "decoding response (status 200)") || strings.Contains(err.Error(), "giving up") {
					t.Errorf("error %v; want a decoding error wrapping io.ErrUnexpectedEOF, after one attempt", err)
				}
			},
		},
		{
			name: "HTML in a 200 response",
			serve: func(_ *faultEnv, _ int, w http.ResponseWriter, _ *http.Request) {
				w.Header().Set("Content-Type", "text/html")
				_, _ = io.WriteString(w, "<html>login page</html>")
			},
			attempts:   1,
			maxElapsed: fast,
			check: func(t *testing.T, _ any, err error) {
				wantNoAPIError(t, err)
				if !strings.Contains(err.Error(), "decoding response (status 200): invalid character '<'") {
					t.Errorf("error %v; want a decoding error", err)
				}
			},
		},
		{
			name: "oversized success body (16 MiB + 1)",
			serve: func(_ *faultEnv, _ int, w http.ResponseWriter, _ *http.Request) {
				w.Header().Set("Content-Type", "application/json")
				_, _ = io.WriteString(w, `{"status":"success","summaries":[],"note":"`)
				_, _ = io.WriteString(w, bigPayload)
				_, _ = io.WriteString(w, `"}`)
			},
			attempts:   1,
			maxElapsed: 10 * time.Second,
			check: func(t *testing.T, _ any, err error) {
				wantFailure(t, err, ErrResponseTooLarge)
			},
		},
		{
			name:  "next_page_offset stalls",
			serve: pagedServe(map[int]string{0: listJSON(0, ptr(0), "tok_a", "tok_b")}),
			call:  all(-1),
			// One request: the iterator sees the stall before asking again.
			attempts:   1,
			maxElapsed: fast,
			check: func(t *testing.T, got any, _ error) {
				wantAll(t, got, ErrPaginationStalled, "tok_a", "tok_b")
			},
		},
		{
			name: "next_page_offset goes backwards",
			serve: pagedServe(map[int]string{
				0: listJSON(0, ptr(2), "tok_a", "tok_b"),
				2: listJSON(2, ptr(1), "tok_c", "tok_d"),
			}),
			call:       all(-1),
			attempts:   2,
			maxElapsed: fast,
			check: func(t *testing.T, got any, _ error) {
				wantAll(t, got, ErrPaginationStalled, "tok_a", "tok_b", "tok_c", "tok_d")
			},
		},
		{
			name:       "next_page_offset is negative",
			serve:      pagedServe(map[int]string{0: listJSON(0, ptr(-2), "tok_a", "tok_b")}),
			call:       all(-1),
			attempts:   1,
			maxElapsed: fast,
			check: func(t *testing.T, got any, _ error) {
				wantAll(t, got, ErrPaginationStalled, "tok_a", "tok_b")
				if err := got.(allResult).err; err == nil || !strings.Contains(err.Error(), "next_page_offset -2 does not move past offset 0") {
					t.Errorf("error %v; want it to name the offsets", err)
				}
			},
		},
		{
			name: "page with duplicate IDs is yielded as sent",
			serve: pagedServe(map[int]string{
				0: listJSON(0, ptr(2), "tok_a", "tok_b"),
				2: listJSON(2, nil, "tok_b", "tok_c", "tok_c"),
			}),
			call:       all(-1),
			attempts:   2,
			maxElapsed: fast,
			check: func(t *testing.T, got any, _ error) {
				wantAll(t, got, nil, "tok_a", "tok_b", "tok_b", "tok_c", "tok_c")
			},
		},
		{
			name: "break out of All mid-page",
			serve: pagedServe(map[int]string{
				0: listJSON(0, ptr(2), "tok_a", "tok_b"),
				2: listJSON(2, ptr(4), "tok_c", "tok_d"),
			}),
			call:       all(3), // stops after tok_c: page 2 is fetched, page 3 never is
			attempts:   2,
			maxElapsed: fast,
			check: func(t *testing.T, got any, _ error) {
				wantAll(t, got, nil, "tok_a", "tok_b", "tok_c")
			},
		},
		{
			name: "break out of All on the first item",
			serve: pagedServe(map[int]string{
				0: listJSON(0, ptr(2), "tok_a", "tok_b"),
			}),
			call:       all(1),
			attempts:   1,
			maxElapsed: fast,
			check: func(t *testing.T, got any, _ error) {
				wantAll(t, got, nil, "tok_a")
			},
		},
		{
			name: "ctx cancelled mid-backoff",
			serve: func(_ *faultEnv, _ int, w http.ResponseWriter, _ *http.Request) {
				reply(w, 503, `{"status":"error","code":"unexpected","message":"busy"}`)
			},
			opts: []Option{slowBackoff},
			call: func(ctx context.Context, e *faultEnv, c *Client) (any, error) {
				ctx, cancel := context.WithCancel(ctx)
				defer cancel()
				e.setOnRetry(cancel) // the client has decided to wait 5–10 s
				return c.APITokens.List(ctx, nil)
			},
			attempts:   1,
			maxElapsed: fast,
			check: func(t *testing.T, _ any, err error) {
				wantNoAPIError(t, err)
				if !errors.Is(err, context.Canceled) {
					t.Errorf("error %v; want context.Canceled", err)
				}
			},
		},
		{
			name: "ctx cancelled while waiting out Retry-After",
			serve: func(_ *faultEnv, _ int, w http.ResponseWriter, _ *http.Request) {
				w.Header().Set("Retry-After", "30")
				reply(w, 429, `{"status":"error","code":"unknown","message":"slow down"}`)
			},
			call: func(ctx context.Context, e *faultEnv, c *Client) (any, error) {
				ctx, cancel := context.WithCancel(ctx)
				defer cancel()
				e.setOnRetry(cancel)
				return c.APITokens.List(ctx, nil)
			},
			attempts:   1,
			maxElapsed: fast,
			check: func(t *testing.T, _ any, err error) {
				wantNoAPIError(t, err)
				if !errors.Is(err, context.Canceled) {
					t.Errorf("error %v; want context.Canceled", err)
				}
			},
		},
		{
			name: "ctx cancelled mid-body",
			hook: true,
			serve: func(e *faultEnv, _ int, w http.ResponseWriter, r *http.Request) {
				body := listJSON(0, nil, "tok_a", "tok_b")
				w.Header().Set("Content-Length", strconv.Itoa(len(body)))
				w.WriteHeader(200)
				_, _ = io.WriteString(w, body[:20])
				_ = http.NewResponseController(w).Flush()
				select {
				case <-r.Context().Done():
				case <-e.release:
				}
			},
			call: func(ctx context.Context, e *faultEnv, c *Client) (any, error) {
				ctx, cancel := context.WithCancel(ctx)
				defer cancel()
				e.setOnHead(cancel) // headers are in, the body is not
				return c.APITokens.List(ctx, nil)
			},
			attempts:   1,
			maxElapsed: fast,
			check: func(t *testing.T, _ any, err error) {
				wantNoAPIError(t, err)
				if !errors.Is(err, context.Canceled) {
					t.Errorf("error %v; want context.Canceled", err)
				}
			},
		},
		{
			// Failure class 3: a page of millions of empty objects cost
			// gigabytes; it is refused at once, and not sent again.
			name: "16 MiB page of empty objects is refused, not retried",
			serve: func(_ *faultEnv, _ int, w http.ResponseWriter, _ *http.Request) {
				w.Header().Set("Content-Type", "application/json")
				w.Header().Set("Content-Length", strconv.Itoa(len(emptyObjects)))
				_, _ = w.Write(emptyObjects)
			},
			attempts:   1,
			maxAlloc:   128 << 20,
			maxElapsed: 10 * time.Second,
			check: func(t *testing.T, _ any, err error) {
				wantFailure(t, err, ErrResponseTooLarge)
			},
		},
		{
			// Failure class 3: the cap on items per page.
			name: "page of 1001 items is refused",
			serve: func(_ *faultEnv, _ int, w http.ResponseWriter, _ *http.Request) {
				reply(w, 200, string(emptyObjectsList(1001)))
			},
			attempts:   1,
			maxElapsed: fast,
			check: func(t *testing.T, _ any, err error) {
				wantFailure(t, err, ErrResponseTooLarge)
			},
		},
		{
			// Failure class 3: the cap's other side.
			name: "page of 1000 items is accepted",
			serve: func(_ *faultEnv, _ int, w http.ResponseWriter, _ *http.Request) {
				reply(w, 200, string(emptyObjectsList(1000)))
			},
			attempts:   1,
			maxElapsed: fast,
			check: func(t *testing.T, got any, err error) {
				if err != nil {
					t.Fatalf("error %v; want a page of 1000 items", err)
				}
				if n := len(got.(*Page[*APIToken]).Items); n != 1000 {
					t.Errorf("page holds %d items; want 1000", n)
				}
			},
		},
		{
			// Failure class 4: buffers grow with the bytes received, not
			// with the Content-Length the server declared.
			name: "Content-Length 16 MiB declared, 100 bytes sent",
			serve: func(e *faultEnv, _ int, w http.ResponseWriter, _ *http.Request) {
				conn, rw := hijack(e.t, w)
				fmt.Fprintf(rw, "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: %d\r\n\r\n%s", 16<<20, emptyObjectsList(40)[:100])
				_ = rw.Flush()
				_ = conn.Close()
			},
			opts:       []Option{WithMaxRetries(0)},
			attempts:   1,
			maxAlloc:   4 << 20,
			maxElapsed: fast,
			check: func(t *testing.T, _ any, err error) {
				wantFailure(t, err, io.ErrUnexpectedEOF)
			},
		},
		{
			// Failure class 5: a run of empty pages is a stall, however
			// their next_page_offset moves.
			name:  "empty pages with a rising next_page_offset",
			serve: risingEmptyPages,
			call: func(ctx context.Context, _ *faultEnv, c *Client) (any, error) {
				return allYielded(c.APITokens.All(ctx, &ListAPITokensOptions{PageSize: 100}))
			},
			maxAttempts: 10,
			maxElapsed:  fast,
			check: func(t *testing.T, got any, _ error) {
				wantOneError(t, got, ErrPaginationStalled)
			},
		},
		{
			// Failure class 5, with pages planned and fetched ahead.
			name:  "empty pages with a rising next_page_offset, WithConcurrency(8)",
			serve: risingEmptyPages,
			call: func(ctx context.Context, _ *faultEnv, c *Client) (any, error) {
				return allYielded(c.APITokens.All(ctx, &ListAPITokensOptions{PageSize: 100}, WithConcurrency(8)))
			},
			maxAttempts: 10,
			maxElapsed:  fast,
			check: func(t *testing.T, got any, _ error) {
				wantOneError(t, got, ErrPaginationStalled)
			},
		},
		{
			// Failure class 6: a created token whose body broke off is
			// fetched again with the same key, not lost.
			name: "Create: 201 body cut mid-JSON (no Content-Length), then complete",
			serve: func(e *faultEnv, n int, w http.ResponseWriter, r *http.Request) {
				e.noteKey(r)
				body := createdJSON("tok_new", "pf_new_secret_value")
				if n == 1 {
					sendCut(e.t, w, 201, body)
					return
				}
				reply(w, 201, body)
			},
			call: func(ctx context.Context, e *faultEnv, c *Client) (any, error) {
				created, err := c.APITokens.Create(ctx, &CreateAPITokenRequest{TokenScope: TokenScopeAccount})
				return createResult{created, e.seenKeys()}, err
			},
			attempts:   2,
			maxElapsed: fast,
			check: func(t *testing.T, got any, err error) {
				res := got.(createResult)
				if err != nil || res.created == nil {
					t.Fatalf("Create: %v; want the token the second attempt returned", err)
				}
				if res.created.ID != "tok_new" || res.created.Token.Reveal() != "pf_new_secret_value" {
					t.Errorf("created %s with value %q; want tok_new and its value", res.created.ID, res.created.Token.Reveal())
				}
				if len(res.keys) != 2 || res.keys[0] == "" || res.keys[0] != res.keys[1] {
					t.Errorf("idempotency keys %q; want the same key on both attempts", res.keys)
				}
			},
		},
		{
			// Failure class 6, for a GET.
			name: "List: 200 body cut mid-JSON (no Content-Length), then complete",
			serve: func(e *faultEnv, n int, w http.ResponseWriter, _ *http.Request) {
				body := listJSON(0, nil, "tok_a", "tok_b")
				if n == 1 {
					sendCut(e.t, w, 200, body)
					return
				}
				reply(w, 200, body)
			},
			attempts:   2,
			maxElapsed: fast,
			check: func(t *testing.T, got any, err error) {
				wantPage(t, got, err, "tok_a", "tok_b")
			},
		},
		{
			// Failure class 7: a key json.Marshal would rewrite is refused
			// before sending.
			name:  "List with an idempotency key that is not UTF-8",
			serve: answerAny,
			call: func(ctx context.Context, _ *faultEnv, c *Client) (any, error) {
				return c.APITokens.List(ctx, &ListAPITokensOptions{IdempotencyKey: badKey})
			},
			attempts:   0,
			maxElapsed: fast,
			check: func(t *testing.T, _ any, err error) {
				wantInvalidArgument(t, err)
			},
		},
		{
			// Failure class 7.
			name:  "All with an idempotency key that is not UTF-8",
			serve: answerAny,
			call: func(ctx context.Context, _ *faultEnv, c *Client) (any, error) {
				return allYielded(c.APITokens.All(ctx, &ListAPITokensOptions{IdempotencyKey: badKey}))
			},
			attempts:   0,
			maxElapsed: fast,
			check: func(t *testing.T, got any, _ error) {
				wantOneError(t, got, ErrInvalidArgument)
			},
		},
		{
			// Failure class 8: errors.As finds the *net.OpError whether or
			// not the URL holds the token.
			name: "connection reset, Get whose ID holds the token",
			raw:  func(_ *faultEnv, conn net.Conn) { reset(conn) },
			call: func(ctx context.Context, _ *faultEnv, c *Client) (any, error) {
				return c.APITokens.Get(ctx, "id-"+testToken)
			},
			attempts:   3,
			maxElapsed: fast,
			check: func(t *testing.T, _ any, err error) {
				wantTransportError(t, err, testToken)
			},
		},
		{
			// Failure class 8, the token path-escaped in the URL.
			name:  "connection reset, Get whose ID holds a token with '/'",
			token: spellToken,
			raw:   func(_ *faultEnv, conn net.Conn) { reset(conn) },
			call: func(ctx context.Context, _ *faultEnv, c *Client) (any, error) {
				return c.APITokens.Get(ctx, "id-"+spellToken)
			},
			attempts:   3,
			maxElapsed: fast,
			check: func(t *testing.T, _ any, err error) {
				wantTransportError(t, err, spellToken)
			},
		},
		{
			// Failure class 8: a huge ID does not make a huge error.
			name: "Get with a 1 MB ID, 404 in plain text",
			raw: func(_ *faultEnv, conn net.Conn) {
				defer conn.Close()
				if _, err := http.ReadRequest(bufio.NewReader(conn)); err == nil { // read it all: closing on unread data would reset
					_, _ = io.WriteString(conn, "HTTP/1.1 404 Not Found\r\nContent-Type: text/plain\r\nContent-Length: 9\r\nConnection: close\r\n\r\nnot found")
				}
			},
			call: func(ctx context.Context, _ *faultEnv, c *Client) (any, error) {
				return c.APITokens.Get(ctx, hugeID)
			},
			attempts:   1,
			maxElapsed: fast,
			check: func(t *testing.T, _ any, err error) {
				e := asAPIError(t, err)
				if e.StatusCode != 404 {
					t.Errorf("status %d; want 404", e.StatusCode)
				}
				if n := len(err.Error()); n >= 2<<10 {
					t.Errorf("error string is %d bytes; want under 2 KiB", n)
				}
				if n := len(e.Path); n >= 512 {
					t.Errorf("APIError.Path is %d bytes; want under 512", n)
				}
			},
		},
		{
			// Failure class 8, for a transport error.
			name: "Get with a 1 MB ID, connection reset",
			raw:  func(_ *faultEnv, conn net.Conn) { reset(conn) },
			call: func(ctx context.Context, _ *faultEnv, c *Client) (any, error) {
				return c.APITokens.Get(ctx, hugeID)
			},
			opts:       []Option{WithMaxRetries(0)}, // one attempt: 1 MB URLs are slow under -race
			attempts:   1,
			maxElapsed: fast,
			check: func(t *testing.T, _ any, err error) {
				var urlErr *url.Error
				if !errors.As(err, &urlErr) {
					t.Errorf("errors.As(%.200v, **url.Error) = false", err)
				}
				if n := len(err.Error()); n >= 2<<10 {
					t.Errorf("error string is %d bytes; want under 2 KiB", n)
				}
			},
		},
	}
	// Failure class 7, for every call through WithIdempotencyKey.
	for _, tc := range everyCall {
		rows = append(rows, faultRow{
			name:  tc.Name + " with WithIdempotencyKey not UTF-8",
			serve: answerAny,
			call: func(ctx context.Context, _ *faultEnv, c *Client) (any, error) {
				return tc.Call(ctx, c, "tok_1", WithIdempotencyKey(badKey))
			},
			attempts:   0,
			maxElapsed: fast,
			check: func(t *testing.T, _ any, err error) {
				wantInvalidArgument(t, err)
			},
		})
	}
	return rows
}

func TestFaultMatrix(t *testing.T) {
	for _, row := range faultRows() {
		t.Run(row.name, func(t *testing.T) {
			before := runtime.NumGoroutine()
			e := &faultEnv{
				t:       t,
				release: make(chan struct{}),
				headers: make(chan struct{}, 16),
			}
			logs := &logSink{onRecord: func(r slog.Record) {
				if retryDecided(r) {
					e.fire(&e.onRetry)
				}
			}}
			var srv *testServer
			if row.raw != nil {
				srv = newRawServer(t, func(conn net.Conn) { row.raw(e, conn) })
			} else {
				srv = newTestServer(t, func(w http.ResponseWriter, r *http.Request, n int) { row.serve(e, n, w, r) })
			}

			opts := []Option{
				WithLogger(logs.logger()),
				WithMaxRetries(2),
				WithTimeout(10 * time.Second), // a safety net: no row may hang the suite
			}
			var ownTransport *http.Transport
			if row.hook {
				ownTransport = &http.Transport{}
				opts = append(opts, WithHTTPClient(&http.Client{Transport: headerHook{ownTransport, e}}))
			}
			token := row.token
			if token == "" {
				token = testToken
			}
			c := srv.clientWithToken(t, token, append(opts, row.opts...)...)
			call := row.call
			if call == nil {
				call = func(ctx context.Context, _ *faultEnv, c *Client) (any, error) {
					return c.APITokens.List(ctx, &ListAPITokensOptions{PageSize: 2})
				}
			}

			var memBefore, memAfter runtime.MemStats
			if row.maxAlloc > 0 {
				runtime.ReadMemStats(&memBefore)
			}
			start := time.Now()
			got, err := call(context.Background(), e, c)
			elapsed := time.Since(start)
			if row.maxAlloc > 0 {
				runtime.ReadMemStats(&memAfter)
			}
			attempts := srv.count()

			close(e.release)
			c.CloseIdleConnections()
			if ownTransport != nil {
				ownTransport.CloseIdleConnections()
			}
			if srv.conns != nil {
				// With its idle connections closed, the client holds none
				// open: a response body it forgot to close would keep one.
				srv.conns.waitClosed(t, 5*time.Second)
			}
			srv.stop()

			alloc := memAfter.TotalAlloc - memBefore.TotalAlloc
			t.Logf("attempts=%d elapsed=%s alloc=%.2fMiB err=%.500v", attempts, elapsed.Round(time.Millisecond), float64(alloc)/(1<<20), err)
			switch {
			case row.maxAttempts > 0 && (attempts < 1 || attempts > row.maxAttempts):
				t.Errorf("server saw %d requests; want 1..%d", attempts, row.maxAttempts)
			case row.maxAttempts == 0 && attempts != row.attempts:
				t.Errorf("server saw %d requests; want %d\nclient log:\n%.4000s", attempts, row.attempts, logs)
			}
			if row.maxAlloc > 0 && alloc > row.maxAlloc {
				t.Errorf("the call allocated %.1f MiB; want at most %d MiB", float64(alloc)/(1<<20), row.maxAlloc>>20)
			}
			if elapsed < row.minElapsed || elapsed > row.maxElapsed {
				t.Errorf("call took %s; want %s..%s", elapsed, row.minElapsed, row.maxElapsed)
			}
			row.check(t, got, err)
			waitGoroutines(t, before)
		})
	}
}
