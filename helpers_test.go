package prefactor

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptest"
	"net/url"
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

// spellToken is a bearer token in RFC 6750's b64token alphabet that holds
// the characters other encodings change ('+', '/', '='), so an echo of it
// can come back in many spellings.
const spellToken = "pf_Ab+c/d.e~f_0123456789abcdef=="

// minLeakPrefix is the shortest prefix of a token that counts as a leak.
const minLeakPrefix = 8

// tokenSpelling is one way a server or proxy may write a token back.
type tokenSpelling struct {
	name, text string
}

// tokenSpellings lists the spellings of tok a server or proxy may echo:
// raw, JSON with '/' or '+' escaped, every byte as \u00XX, and the query-
// and path-escaped forms.
func tokenSpellings(tok string) []tokenSpelling {
	var every strings.Builder
	for i := 0; i < len(tok); i++ {
		fmt.Fprintf(&every, `\u%04x`, tok[i])
	}
	return []tokenSpelling{
		{"raw", tok},
		{`JSON \/`, strings.ReplaceAll(tok, "/", `\/`)},
		{`JSON \u002b`, strings.ReplaceAll(tok, "+", `\u002b`)},
		{`JSON \u002B`, strings.ReplaceAll(tok, "+", `\u002B`)},
		{`JSON \u00XX`, every.String()},
		{"url.QueryEscape", url.QueryEscape(tok)},
		{"url.PathEscape", url.PathEscape(tok)},
	}
}

// tokenLeak names the first spelling of tok found in s, or a prefix of the
// raw tok of minLeakPrefix bytes or more; "" when s holds none.
func tokenLeak(s, tok string) string {
	for _, sp := range tokenSpellings(tok) {
		if strings.Contains(s, sp.text) {
			return "the token (" + sp.name + ")"
		}
	}
	if len(tok) >= minLeakPrefix && strings.Contains(s, tok[:minLeakPrefix]) {
		return fmt.Sprintf("a prefix of the token (%q…)", tok[:minLeakPrefix])
	}
	return ""
}

// noTokenIn fails the test when err shows tok in any spelling (see
// tokenLeak) in any rendering: its message, %+v and %#v, every layer of its
// chain, the fields of an *APIError, and the *url.Error and *net.OpError
// that errors.As finds. It reports each error once, naming the renderings
// that leak.
func noTokenIn(t *testing.T, what string, err error, tok string) {
	t.Helper()
	var leaks []string
	first := ""
	check := func(how, s string) {
		if leak := tokenLeak(s, tok); leak != "" {
			leaks = append(leaks, how+" shows "+leak)
			if first == "" {
				first = s
			}
		}
	}
	check("the error", err.Error())
	check("%+v", fmt.Sprintf("%+v", err))
	check("%#v", fmt.Sprintf("%#v", err))
	for _, layer := range errorChain(err) {
		check(fmt.Sprintf("a wrapped %T", layer), layer.Error())
	}
	var apiErr *APIError
	if errors.As(err, &apiErr) {
		check("an APIError field", fmt.Sprintf("%+v", *apiErr))
		for k, v := range apiErr.Errors {
			check("an APIError.Errors entry", fmt.Sprintf("%s %v", k, v))
		}
	}
	var urlErr *url.Error
	if errors.As(err, &urlErr) {
		check("the *url.Error from errors.As", urlErr.Error())
	}
	var opErr *net.OpError
	if errors.As(err, &opErr) {
		check("the *net.OpError from errors.As", opErr.Error())
	}
	if len(leaks) > 0 {
		t.Errorf("%s: %s\n\tfirst: %.600s", what, strings.Join(leaks, "; "), first)
	}
}

// recordText is everything a log record holds as text, its attributes'
// values unquoted (a text handler would escape a backslash and hide a
// \u00XX spelling).
func recordText(r slog.Record) string {
	var b strings.Builder
	b.WriteString(r.Message)
	var add func(a slog.Attr)
	add = func(a slog.Attr) {
		v := a.Value.Resolve()
		b.WriteString(" " + a.Key + "=")
		if v.Kind() == slog.KindGroup {
			for _, g := range v.Group() {
				add(g)
			}
			return
		}
		b.WriteString(v.String())
	}
	r.Attrs(func(a slog.Attr) bool { add(a); return true })
	return b.String()
}

// collectAll ranges over seq to the end without breaking, so an iterator
// that yields after an error is caught; it gives up after 10000 yields.
func collectAll(seq func(func(*APIToken, error) bool)) (ids []string, errs []error) {
	n := 0
	for tok, err := range seq {
		if n++; n > 10000 {
			break
		}
		if err != nil {
			errs = append(errs, err)
			continue
		}
		ids = append(ids, tok.ID)
	}
	return ids, errs
}

// emptyObjectsList is a success body whose summaries are n empty objects.
func emptyObjectsList(n int) []byte {
	items := ""
	if n > 0 {
		items = strings.Repeat("{},", n-1) + "{}"
	}
	return []byte(`{"status":"success","summaries":[` + items + `]}`)
}

// createdJSON is the body of a successful create.
func createdJSON(id, value string) string {
	return `{"status":"success","details":` + tokenJSON(id) + `,"token":"` + value + `"}`
}

// idempotencyKeyOf returns the idempotency key a request carries, in its
// JSON body or its query, and whether it has one. It consumes the body.
func idempotencyKeyOf(r *http.Request) (string, bool) {
	if r.URL.Query().Has("idempotency_key") {
		return r.URL.Query().Get("idempotency_key"), true
	}
	var body struct {
		Key *string `json:"idempotency_key"`
	}
	if json.NewDecoder(r.Body).Decode(&body) != nil || body.Key == nil {
		return "", false
	}
	return *body.Key, true
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

// yielded is what collectAll saw.
type yielded struct {
	ids  []string
	errs []error
}

// allYielded ranges over seq with collectAll; its error is the first one
// yielded.
func allYielded(seq func(func(*APIToken, error) bool)) (any, error) {
	var y yielded
	y.ids, y.errs = collectAll(seq)
	if len(y.errs) > 0 {
		return y, y.errs[0]
	}
	return y, nil
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

// createResult is what a Create returned and the idempotency keys the
// server saw.
type createResult struct {
	created *CreatedAPIToken
	keys    []string
}

// serveRaw accepts connections on a loopback TCP listener and hands each to
// handle, in a goroutine of its own. stop closes the listener and waits for
// every handle to return.
func serveRaw(t *testing.T, handle func(net.Conn)) (addr string, stop func()) {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		for {
			conn, err := ln.Accept()
			if err != nil {
				return
			}
			wg.Add(1)
			go func() {
				defer wg.Done()
				handle(conn)
			}()
		}
	}()
	return ln.Addr().String(), func() { _ = ln.Close(); wg.Wait() }
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

// decodeResponse reads and decodes resp as a call reads a 2xx answer.
func decodeResponse(resp *http.Response, out envelope) error {
	if err := readSuccess(resp); err != nil {
		return err
	}
	defer resp.Body.Close()
	return decodeSuccess(resp, out)
}
