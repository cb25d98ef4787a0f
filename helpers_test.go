package prefactor

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
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

// The helpers of the white-box tests: the test server and its client
// (setup), the table of every call (everyCall), the API's bodies, and the
// checks that no token leaks.

// testToken is the bearer token every test client uses; tests check it
// never leaks.
const testToken = "pft_live_S3CR3T-test-token-value"

// basePrefix is a path prefix on the base URL, as a gateway would add, to
// prove the client keeps it.
const basePrefix = "/gateway/prefactor"

// setup starts a test server whose handler answers under basePrefix, and
// returns a client of it (see testServer.client) and the server. n is the
// 1-based number of the request being answered.
func setup(t *testing.T, handler func(w http.ResponseWriter, r *http.Request, n int), opts ...Option) (*Client, *testServer) {
	t.Helper()
	s := newTestServer(t, handler)
	return s.client(t, opts...), s
}

// testServer is a loopback server for a test. It numbers and records the
// requests it receives, with their bodies, and follows its connections; a
// raw one (newRawServer) counts the connections it accepts instead.
type testServer struct {
	URL   string     // the server's URL, without basePrefix
	conns *connCount // nil for a raw server
	stop  func()     // stops the server; the end of the test does too

	mu     sync.Mutex
	n      int // requests received, or connections accepted
	reqs   []*http.Request
	bodies [][]byte
}

// newTestServer starts an HTTP test server. A request outside
// basePrefix+"/api/v1/" gets 418, so a client that lost the prefix fails;
// handler answers the others.
func newTestServer(t *testing.T, handler func(w http.ResponseWriter, r *http.Request, n int)) *testServer {
	t.Helper()
	s := &testServer{}
	srv := httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		n := s.add(r)
		if !strings.HasPrefix(r.URL.Path, basePrefix+"/api/v1/") {
			http.Error(w, "unexpected path "+r.URL.Path, http.StatusTeapot)
			return
		}
		handler(w, r, n)
	}))
	s.conns = trackConns(srv)
	srv.Start()
	t.Cleanup(srv.Close)
	s.URL, s.stop = srv.URL, srv.Close
	return s
}

// newRawServer starts a bare TCP server on loopback that hands each
// connection it accepts to handle, in a goroutine of its own, for the
// answers net/http would not send. Its stop closes the listener and waits
// for every handle to return.
func newRawServer(t *testing.T, handle func(net.Conn)) *testServer {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	s := &testServer{URL: "http://" + ln.Addr().String()}
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		for {
			conn, err := ln.Accept()
			if err != nil {
				return
			}
			s.mu.Lock()
			s.n++
			s.mu.Unlock()
			wg.Add(1)
			go func() {
				defer wg.Done()
				handle(conn)
			}()
		}
	}()
	s.stop = func() { _ = ln.Close(); wg.Wait() }
	t.Cleanup(s.stop)
	return s
}

// client returns a client of s with the bearer token testToken, the base
// URL s.URL+basePrefix and retry waits of 1 to 2 ms; opts come after those
// and override them. Its idle connections are closed when the test ends.
func (s *testServer) client(t *testing.T, opts ...Option) *Client {
	t.Helper()
	return s.clientWithToken(t, testToken, opts...)
}

// clientWithToken is client with another bearer token.
func (s *testServer) clientWithToken(t *testing.T, token string, opts ...Option) *Client {
	t.Helper()
	all := append([]Option{WithBaseURL(s.URL + basePrefix), WithRetryWait(time.Millisecond, 2*time.Millisecond)}, opts...)
	c, err := NewClient(token, all...)
	if err != nil {
		t.Fatalf("NewClient: %v", err)
	}
	t.Cleanup(c.CloseIdleConnections)
	return c
}

// add records r and its body, which it leaves for the handler to read
// again, and returns r's number.
func (s *testServer) add(r *http.Request) int {
	body, _ := io.ReadAll(r.Body)
	r.Body = io.NopCloser(bytes.NewReader(body))
	clone := r.Clone(context.Background())
	clone.Body = http.NoBody
	s.mu.Lock()
	defer s.mu.Unlock()
	s.n++
	s.reqs = append(s.reqs, clone)
	s.bodies = append(s.bodies, body)
	return s.n
}

// count returns how many requests s has received, or, raw, how many
// connections it has accepted.
func (s *testServer) count() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.n
}

// get returns request i (from 0), without its body.
func (s *testServer) get(i int) *http.Request {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.reqs[i]
}

// body returns the body of request i (from 0).
func (s *testServer) body(i int) []byte {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.bodies[i]
}

// connCount follows a test server's connections through its ConnState
// hook.
type connCount struct {
	mu      sync.Mutex
	opened  int           // connections accepted so far
	open    int           // connections neither closed nor hijacked
	changed chan struct{} // closed, and replaced, whenever open changes
}

// trackConns makes a connCount follow srv's connections; call it before
// srv starts.
func trackConns(srv *httptest.Server) *connCount {
	c := &connCount{changed: make(chan struct{})}
	srv.Config.ConnState = func(_ net.Conn, s http.ConnState) {
		c.mu.Lock()
		defer c.mu.Unlock()
		switch s {
		case http.StateNew:
			c.opened++
			c.open++
		case http.StateClosed, http.StateHijacked:
			c.open--
		default:
			return
		}
		close(c.changed)
		c.changed = make(chan struct{})
	}
	return c
}

// counts returns how many connections the server has accepted, and how
// many of them it still has open.
func (c *connCount) counts() (opened, open int) {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.opened, c.open
}

// waitClosed fails the test unless the server has no connection open
// within d: it notices a close the client made a moment later.
func (c *connCount) waitClosed(t *testing.T, d time.Duration) {
	t.Helper()
	timeout := time.NewTimer(d)
	defer timeout.Stop()
	for {
		c.mu.Lock()
		open, changed := c.open, c.changed
		c.mu.Unlock()
		if open == 0 {
			return
		}
		select {
		case <-changed:
		case <-timeout.C:
			t.Fatalf("the server still has %d connections open after %s: a response body was not closed, or idle connections were not", open, d)
		}
	}
}

// apiCall is one method of the API, as the tests that try every call see
// it (package prefactor_test as EveryCall).
type apiCall struct {
	Name   string // the method, e.g. "Suspend"
	Op     string // the operation its errors name, e.g. "suspend API token"
	Method string // the HTTP method it sends
	Path   string // the path it requests below the base URL; {id} stands for the token's ID
	// From is a status of the token the call succeeds on, To the status it
	// leaves it in, and Refused one the call is refused on with
	// invalid_action, as prefactortest's fake plays the lifecycle; "" where
	// none applies. Create leaves the token alone; its To is the status of
	// the token it makes.
	From, To, Refused TokenStatus
	// Call calls the method on the token id (List, All, Create and Ping
	// take none) and returns its result: a *Page[*APIToken] (List), the
	// []*APIToken yielded up to an error (All), an *APIToken, a
	// *CreatedAPIToken (Create), or nil (Delete, Ping).
	Call func(ctx context.Context, c *Client, id string, opts ...RequestOption) (any, error)
}

// PathFor returns the path the call requests for token id, below the base
// URL, escaped as sent.
func (a apiCall) PathFor(id string) string {
	return strings.Replace(a.Path, "{id}", url.PathEscape(id), 1)
}

// everyCall is every method of the API. Create makes an agent_deployment
// token of agent_1 in env_1.
var everyCall = []apiCall{
	{
		Name: "List", Op: opListAPITokens, Method: http.MethodGet, Path: "/api/v1/api_token",
		Call: func(ctx context.Context, c *Client, _ string, opts ...RequestOption) (any, error) {
			return c.APITokens.List(ctx, nil, opts...)
		},
	},
	{
		Name: "All", Op: opListAPITokens, Method: http.MethodGet, Path: "/api/v1/api_token",
		Call: func(ctx context.Context, c *Client, _ string, opts ...RequestOption) (any, error) {
			var toks []*APIToken
			for tok, err := range c.APITokens.All(ctx, nil, opts...) {
				if err != nil {
					return toks, err
				}
				toks = append(toks, tok)
			}
			return toks, nil
		},
	},
	{
		Name: "Get", Op: opGetAPIToken, Method: http.MethodGet, Path: "/api/v1/api_token/{id}",
		From: TokenStatusActive, To: TokenStatusActive,
		Call: func(ctx context.Context, c *Client, id string, opts ...RequestOption) (any, error) {
			return c.APITokens.Get(ctx, id, opts...)
		},
	},
	{
		Name: "Create", Op: opCreateAPIToken, Method: http.MethodPost, Path: "/api/v1/api_token",
		From: TokenStatusActive, To: TokenStatusActive,
		Call: func(ctx context.Context, c *Client, _ string, opts ...RequestOption) (any, error) {
			return c.APITokens.Create(ctx, &CreateAPITokenRequest{
				TokenScope: TokenScopeAgentDeployment, AgentID: "agent_1", EnvironmentID: "env_1",
			}, opts...)
		},
	},
	{
		Name: "Suspend", Op: opSuspendAPIToken, Method: http.MethodPost, Path: "/api/v1/api_token/{id}/suspend",
		From: TokenStatusActive, To: TokenStatusSuspended, Refused: TokenStatusRevoked,
		Call: func(ctx context.Context, c *Client, id string, opts ...RequestOption) (any, error) {
			return c.APITokens.Suspend(ctx, id, opts...)
		},
	},
	{
		Name: "Activate", Op: opActivateAPIToken, Method: http.MethodPost, Path: "/api/v1/api_token/{id}/activate",
		From: TokenStatusSuspended, To: TokenStatusActive, Refused: TokenStatusActive,
		Call: func(ctx context.Context, c *Client, id string, opts ...RequestOption) (any, error) {
			return c.APITokens.Activate(ctx, id, opts...)
		},
	},
	{
		Name: "Revoke", Op: opRevokeAPIToken, Method: http.MethodPost, Path: "/api/v1/api_token/{id}/revoke",
		From: TokenStatusActive, To: TokenStatusRevoked, Refused: TokenStatusRevoked,
		Call: func(ctx context.Context, c *Client, id string, opts ...RequestOption) (any, error) {
			return c.APITokens.Revoke(ctx, id, opts...)
		},
	},
	{
		Name: "Delete", Op: opDeleteAPIToken, Method: http.MethodDelete, Path: "/api/v1/api_token/{id}",
		From: TokenStatusRevoked, Refused: TokenStatusActive,
		Call: func(ctx context.Context, c *Client, id string, opts ...RequestOption) (any, error) {
			return nil, c.APITokens.Delete(ctx, id, opts...)
		},
	},
	{
		Name: "Ping", Op: opPing, Method: http.MethodGet, Path: "/api/v1/ping",
		Call: func(ctx context.Context, c *Client, _ string, opts ...RequestOption) (any, error) {
			return nil, c.Ping(ctx, opts...)
		},
	},
}

// callNamed returns the call of everyCall named name.
func callNamed(name string) apiCall {
	for _, c := range everyCall {
		if c.Name == name {
			return c
		}
	}
	panic("no call named " + name)
}

// reply writes a JSON body with the given status.
func reply(w http.ResponseWriter, status int, body string) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_, _ = w.Write([]byte(body))
}

// apiReply answers every endpoint the way the API does (see apiAnswer),
// with an X-Request-Id naming the request's number n.
func apiReply(w http.ResponseWriter, r *http.Request, n int) {
	w.Header().Set("X-Request-Id", "req-"+strconv.Itoa(n))
	status, body := apiAnswer(r)
	if body == "" {
		w.WriteHeader(status)
		return
	}
	reply(w, status, body)
}

// apiAnswer is the API's success answer to r: a page holding tok_a, tok_new
// created with the value pf_new_value, 204 to a delete, or tok_a's
// details.
func apiAnswer(r *http.Request) (status int, body string) {
	p := strings.TrimPrefix(r.URL.Path, basePrefix)
	switch {
	case p == "/api/v1/ping":
		return http.StatusOK, `{"status":"success"}`
	case p == "/api/v1/api_token" && r.Method == http.MethodGet:
		return http.StatusOK, listJSON(0, nil, "tok_a")
	case p == "/api/v1/api_token" && r.Method == http.MethodPost:
		return http.StatusCreated, createdJSON("tok_new", "pf_new_value")
	case r.Method == http.MethodDelete:
		return http.StatusNoContent, ""
	}
	return http.StatusOK, detailsJSON("tok_a")
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

// pagesJSON is page k (k from 0) of a list of n tokens in pages of size,
// with consistent pagination.
func pagesJSON(k, size, n int) string {
	var next *int
	if (k+1)*size < n {
		next = ptr((k + 1) * size)
	}
	return listBody(k*size, size, n, next)
}

// detailsJSON is a success body with one token's details.
func detailsJSON(id string) string {
	return `{"status":"success","details":` + tokenJSON(id) + `}`
}

// createdJSON is the body of a successful create.
func createdJSON(id, value string) string {
	return `{"status":"success","details":` + tokenJSON(id) + `,"token":"` + value + `"}`
}

func ptr[T any](v T) *T { return &v }

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

// hijack takes the raw connection from the server.
func hijack(t *testing.T, w http.ResponseWriter) (net.Conn, *bufio.ReadWriter) {
	conn, rw, err := http.NewResponseController(w).Hijack()
	if err != nil {
		t.Errorf("hijack: %v", err)
		panic(http.ErrAbortHandler)
	}
	return conn, rw
}

// reset closes conn with an RST instead of a FIN.
func reset(conn net.Conn) {
	if tc, ok := conn.(*net.TCPConn); ok {
		_ = tc.SetLinger(0)
	}
	_ = conn.Close()
}

// decodeResponse reads and decodes resp as a call reads a 2xx answer.
func decodeResponse(resp *http.Response, out envelope) error {
	if err := readSuccess(resp); err != nil {
		return err
	}
	defer resp.Body.Close()
	return decodeSuccess(resp, out)
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

// logSink collects everything a client logs, at every level, as text, and
// hands each record to onRecord when set.
type logSink struct {
	mu       sync.Mutex
	buf      bytes.Buffer
	onRecord func(slog.Record)
}

func (s *logSink) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.buf.Write(p)
}

func (s *logSink) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.buf.String()
}

func (s *logSink) logger() *slog.Logger {
	h := slog.NewTextHandler(s, &slog.HandlerOptions{Level: slog.LevelDebug})
	return slog.New(sinkHandler{Handler: h, sink: s})
}

// sinkHandler passes records to a text handler and to the sink's hook.
type sinkHandler struct {
	slog.Handler
	sink *logSink
}

func (h sinkHandler) Handle(ctx context.Context, r slog.Record) error {
	if f := h.sink.onRecord; f != nil {
		f(r)
	}
	return h.Handler.Handle(ctx, r)
}

func (h sinkHandler) WithAttrs(as []slog.Attr) slog.Handler {
	return sinkHandler{h.Handler.WithAttrs(as), h.sink}
}

func (h sinkHandler) WithGroup(name string) slog.Handler {
	return sinkHandler{h.Handler.WithGroup(name), h.sink}
}

// noSecret fails the test when s holds the bearer token.
func noSecret(t *testing.T, what, s string) {
	t.Helper()
	if strings.Contains(s, testToken) || strings.Contains(s, "S3CR3T") {
		t.Errorf("%s leaks the bearer token: %s", what, s)
	}
}

// spellToken is a bearer token in RFC 6750's b64token alphabet that holds
// the characters other encodings change ('+', '/', '='), so an echo of it
// can come back in many spellings.
const spellToken = "pf_Ab+c/d.e~f_0123456789abcdef=="

// secretToken is distinctive, so any leak of it is found by a plain search.
const secretToken = "pf_live_Zq7XsecretTOKEN9931"

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

// errorChain lists err and every error it wraps, through both forms of
// Unwrap.
func errorChain(err error) []error {
	if err == nil {
		return nil
	}
	chain := []error{err}
	switch u := err.(type) {
	case interface{ Unwrap() error }:
		chain = append(chain, errorChain(u.Unwrap())...)
	case interface{ Unwrap() []error }:
		for _, e := range u.Unwrap() {
			chain = append(chain, errorChain(e)...)
		}
	}
	return chain
}
