package prefactortest

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"math/rand/v2"
	"net"
	"net/http"
	"net/http/httptest"
	"reflect"
	"strings"
	"sync"
	"testing"
	"time"

	prefactor "github.com/prefactor-sdk/prefactor-go"
)

// Token is the bearer token the fake server accepts; it belongs to the
// account AccountID. [Server.Client] sends it; to build a client yourself,
// pass it to prefactor.NewClient (or set PREFACTOR_API_TOKEN to it) with
// [Server.URL] as the base URL. Like the API's tokens it is a JWT: its
// payload is {"sub":"prefactortest","account_id":AccountID}.
const Token = "eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9.eyJzdWIiOiJwcmVmYWN0b3J0ZXN0IiwiYWNjb3VudF9pZCI6IjAxaHF6N3plZTA4NXZzcGY3Y3FxdHg1ODh5OTFydDJ3In0.YAe0i-wq6oicOmo9kvbtLe0mRI0merRhrtnUUxGEX1Q"

// Server is an in-process fake of the Prefactor API, for tests of code
// that uses prefactor-go and for offline demos. It listens on loopback
// ([Server.URL]) and answers through [Server.Responder] too; the package
// documentation says what it serves. A Server is safe for concurrent use.
type Server struct {
	ts    *httptest.Server
	mux   *http.ServeMux
	tb    testing.TB // nil for a server from Start
	done  chan struct{}
	close sync.Once

	mu          sync.Mutex
	tokens      []prefactor.APIToken // the store, in insertion order
	requests    requestLog
	faults      []pendingFault
	latency     time.Duration
	clock       func() time.Time  // nil: time.Now
	rand        *rand.Rand        // IDs and token values of created tokens
	keys        keyStore          // idempotency key → first answer
	deployments map[string]string // deploymentKey → agent deployment ID
	limit       concurrencyLimit  // SetConcurrencyLimit; see limit.go
	// validationErrors makes create refusals use the validation_errors
	// form; see SetValidationErrors.
	validationErrors bool
}

// NewServer starts a fake API holding tokens and stops it when the test
// ends, through tb.Cleanup. It fails the test if it cannot listen on a
// loopback port.
func NewServer(tb testing.TB, tokens ...prefactor.APIToken) *Server {
	tb.Helper()
	s, err := start(tb, tokens)
	if err != nil {
		tb.Fatalf("prefactortest: %v", err)
	}
	tb.Cleanup(s.Close)
	return s
}

// Start starts a fake API holding tokens, for programs that are not tests,
// such as a demo that runs without a real API token. Call Close when done.
// It fails only if it cannot listen on a loopback port.
func Start(tokens ...prefactor.APIToken) (*Server, error) {
	return start(nil, tokens)
}

func start(tb testing.TB, tokens []prefactor.APIToken) (*Server, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		if l, err = net.Listen("tcp6", "[::1]:0"); err != nil {
			return nil, fmt.Errorf("starting fake server: %w", err)
		}
	}
	s := &Server{
		mux:         http.NewServeMux(),
		tb:          tb,
		done:        make(chan struct{}),
		requests:    newRequestLog(DefaultRequestLimit),
		rand:        rand.New(rand.NewPCG(fakeSeed, serverStream)),
		keys:        newKeyStore(IdempotencyKeyLimit),
		deployments: map[string]string{},
	}
	s.addTokens(tokens)
	s.routes()
	s.ts = &httptest.Server{Listener: l, Config: &http.Server{Handler: http.HandlerFunc(s.serveHTTP)}}
	s.ts.Start()
	return s, nil
}

// routes registers the API's endpoints, keyed by method and path. Each
// handler runs after the request was recorded, delayed, checked against
// injected faults and authenticated; one that reads or changes the store
// (s.tokens) holds s.mu while it does, and encodes its answer under it.
// Handlers of mutations are wrapped by s.mutation, which holds s.mu for
// them and applies idempotency keys.
func (s *Server) routes() {
	s.mux.HandleFunc("GET /api/v1/api_token", s.handleList)
	s.mux.HandleFunc("GET /api/v1/api_token/{id}", s.handleGet)
	s.mux.HandleFunc("POST /api/v1/api_token", s.mutation(s.create))
	s.mux.HandleFunc("POST /api/v1/api_token/{id}/suspend", s.mutation(s.move(suspend)))
	s.mux.HandleFunc("POST /api/v1/api_token/{id}/activate", s.mutation(s.move(activate)))
	s.mux.HandleFunc("POST /api/v1/api_token/{id}/revoke", s.mutation(s.move(revoke)))
	s.mux.HandleFunc("DELETE /api/v1/api_token/{id}", s.mutation(s.remove))
	s.mux.HandleFunc("GET /api/v1/ping", handlePing)
}

// handlePing serves GET /api/v1/ping, which only checks the bearer token:
// a request that gets here was authenticated.
func handlePing(w http.ResponseWriter, _ *http.Request) {
	writeReply(w, reply{status: http.StatusOK, body: &pingBody{Status: "success"}})
}

// pingBody is the API's answer to a ping.
type pingBody struct {
	Status string `json:"status"`
}

// URL returns the server's base URL, e.g. "http://127.0.0.1:41233"; pass it
// to prefactor.WithBaseURL. Unlike httptest.Server's URL field it is a
// method: srv.URL().
func (s *Server) URL() string { return s.ts.URL }

// Client returns a client of the fake: base URL, Token and the server's
// HTTP client already set, and [FastRetries] so tests of retries run fast. opts are applied after those, so they override them.
//
// Client is meant for tests: if NewClient refuses an option, it fails the
// test through tb.Fatal. A server from Start has no test to fail, so there
// it returns nil; outside tests, use NewClient, which returns the error.
func (s *Server) Client(opts ...prefactor.Option) *prefactor.Client {
	c, err := s.NewClient(opts...)
	if err != nil {
		if s.tb != nil {
			s.tb.Helper()
			s.tb.Fatalf("prefactortest: Server.Client: %v", err)
		}
		return nil
	}
	return c
}

// NewClient is Client with the error returned instead of failing the test:
// it errs only when one of opts is refused by prefactor.NewClient.
func (s *Server) NewClient(opts ...prefactor.Option) (*prefactor.Client, error) {
	defaults := []prefactor.Option{
		prefactor.WithBaseURL(s.URL()),
		prefactor.WithHTTPClient(s.ts.Client()),
		FastRetries(),
	}
	c, err := prefactor.NewClient(Token, append(defaults, opts...)...)
	if err != nil {
		return nil, fmt.Errorf("prefactortest: Server.NewClient: %w", err)
	}
	return c, nil
}

// Close stops the server: requests waiting out SetLatency are answered at
// once with 503, then Close waits for those in flight. It may be called
// more than once; NewServer calls it through tb.Cleanup.
func (s *Server) Close() {
	s.close.Do(func() {
		close(s.done)
		s.ts.Close()
	})
}

// Tokens returns a copy of the tokens the server holds, in the order they
// were added (given to NewServer or Start, AddTokens, created through the
// API), with their current status; deleted ones are gone. Like list
// summaries, they have no AvailableActions.
func (s *Server) Tokens() []prefactor.APIToken {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := make([]prefactor.APIToken, len(s.tokens))
	for i, t := range s.tokens {
		out[i] = cloneToken(t)
	}
	return out
}

// AddTokens adds tokens to the server's store; later lists include them.
// Their AvailableActions are ignored: the fake computes the actions from
// Status when it answers. A token with AgentID, EnvironmentID and
// AgentDeploymentID set names a deployment that later creates for that
// agent and environment share.
func (s *Server) AddTokens(tokens ...prefactor.APIToken) {
	s.addTokens(tokens)
}

func (s *Server) addTokens(tokens []prefactor.APIToken) {
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, t := range tokens {
		t = cloneToken(t)
		if t.AgentID != nil && t.EnvironmentID != nil && t.AgentDeploymentID != nil {
			key := deploymentKey(*t.AgentID, *t.EnvironmentID)
			if _, ok := s.deployments[key]; !ok {
				s.deployments[key] = *t.AgentDeploymentID
			}
		}
		s.tokens = append(s.tokens, t)
	}
}

// cloneToken copies t so that the store shares no memory with the caller:
// every pointer field (CreatedByAdminUserID, EnvironmentID, LastUsedAt and
// any the type gains later) points at a copy of its value. The copy has no
// AvailableActions, as the store and list summaries hold none.
func cloneToken(t prefactor.APIToken) prefactor.APIToken {
	t.AvailableActions = nil
	v := reflect.ValueOf(&t).Elem()
	for i := range v.NumField() {
		f := v.Field(i)
		if f.Kind() == reflect.Pointer && !f.IsNil() && f.CanSet() {
			c := reflect.New(f.Type().Elem())
			c.Elem().Set(f.Elem())
			f.Set(c)
		}
	}
	return t
}

// outcome is how [Server.serve] ended.
type outcome int

const (
	answered  outcome = iota // the answer went to the writer
	hungUp                   // a Fault with Disconnect: no answer, the connection drops
	abandoned                // the request's context ended while it waited: no answer
)

// serveHTTP is the listener's handler.
func (s *Server) serveHTTP(w http.ResponseWriter, r *http.Request) {
	if s.serve(w, r) == hungUp {
		hangUp(w)
	}
}

// hangUp closes the connection under w without writing a response.
func hangUp(w http.ResponseWriter) {
	if hj, ok := w.(http.Hijacker); ok {
		if conn, _, err := hj.Hijack(); err == nil {
			_ = conn.Close()
			return
		}
	}
	// Not hijackable (HTTP/2): aborting the handler resets the stream.
	panic(http.ErrAbortHandler)
}

// serve answers r as the fake does, through the listener and through
// Responder alike: record, turn away what is over the concurrency limit,
// wait, then fail on purpose or authenticate and route (or both, for a
// Fault with AfterHandling). It replaces r.Body with what it read.
func (s *Server) serve(w http.ResponseWriter, r *http.Request) outcome {
	var body []byte
	if r.Body != nil {
		body, _ = io.ReadAll(io.LimitReader(r.Body, maxRecordedBody))
	}
	if len(body) == 0 {
		body = nil
	}
	r.Body = io.NopCloser(bytes.NewReader(body))
	rec := Request{
		Method:   r.Method,
		Path:     r.URL.Path,
		RawQuery: r.URL.RawQuery,
		Query:    r.URL.Query(),
		Header:   r.Header.Clone(),
		Body:     body,
	}

	s.mu.Lock()
	s.requests.add(rec)
	latency := s.latency
	fault, admitted := s.enter() // SetConcurrencyLimit's 429, if not admitted
	failing := !admitted
	if admitted {
		fault, failing = s.takeFault(r)
	}
	s.mu.Unlock()
	if admitted {
		var leave func()
		w, leave = s.holdSlot(w)
		defer leave()
	}

	switch s.wait(r, latency) {
	case cancelled:
		return abandoned
	case closing:
		writeReply(w, errorReply(http.StatusServiceUnavailable, prefactor.CodeUnexpected, "fake server is shutting down", nil))
		return answered
	}
	switch {
	case !failing:
		s.handle(w, r)
	case fault.AfterHandling:
		s.handle(httptest.NewRecorder(), r) // the answer is lost
		fallthrough
	default:
		if fault.Disconnect {
			return hungUp
		}
		fault.serve(w)
	}
	return answered
}

// handle authenticates r and routes it.
func (s *Server) handle(w http.ResponseWriter, r *http.Request) {
	if rep, ok := authenticate(r); !ok {
		writeReply(w, rep)
		return
	}
	if _, pattern := s.mux.Handler(r); pattern == "" {
		writeReply(w, errorReply(http.StatusNotFound, prefactor.CodeNotFound, fmt.Sprintf("no route for %s %s", r.Method, r.URL.Path), nil))
		return
	}
	// ServeHTTP, unlike the handler Handler returns, sets the request's
	// path values ({id}).
	s.mux.ServeHTTP(w, r)
}

// waited is how a wait of [Server.wait] ended.
type waited int

const (
	elapsed   waited = iota // the time passed
	cancelled               // the request's context ended first
	closing                 // the server closed first
)

// wait sleeps d, unless the request's context ends or the server closes
// first.
func (s *Server) wait(r *http.Request, d time.Duration) waited {
	if d <= 0 {
		return elapsed
	}
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return elapsed
	case <-r.Context().Done():
		return cancelled
	case <-s.done:
		return closing
	}
}

// authenticate checks the bearer token. On failure it returns the API's
// 401 answer and false.
func authenticate(r *http.Request) (reply, bool) {
	scheme, token, _ := strings.Cut(r.Header.Get("Authorization"), " ")
	token = strings.TrimSpace(token)
	switch {
	case !strings.EqualFold(scheme, "Bearer") || token == "":
		return errorReply(http.StatusUnauthorized, prefactor.CodeNotAuthenticated, "authentication required: send Authorization: Bearer <API token>", nil), false
	case token != Token:
		return errorReply(http.StatusUnauthorized, prefactor.CodeBadAuthToken, "the API token is not valid", nil), false
	}
	return reply{}, true
}

// handleList serves GET /api/v1/api_token. The answer is encoded under the
// lock, so a later change to the store cannot race with it.
func (s *Server) handleList(w http.ResponseWriter, r *http.Request) {
	s.mu.Lock()
	rep := listReply(s.tokens, r.URL.Query())
	status, body := encodeReply(rep)
	s.mu.Unlock()
	writeJSON(w, status, rep.header, body)
}

// encodeReply returns rep's status and its body as JSON; a nil body stays
// nil, for an answer without one (204).
func encodeReply(rep reply) (int, []byte) {
	if rep.body == nil {
		return rep.status, nil
	}
	b, err := json.Marshal(rep.body)
	if err != nil {
		// Only the fake's own types reach here, and they always encode.
		b, _ = json.Marshal(&errorBody{Status: "error", Code: prefactor.CodeUnexpected, Message: "fake server: " + err.Error()})
		return http.StatusInternalServerError, append(b, '\n')
	}
	return rep.status, append(b, '\n')
}

// writeReply writes rep as the API would.
func writeReply(w http.ResponseWriter, rep reply) {
	status, body := encodeReply(rep)
	writeJSON(w, status, rep.header, body)
}

// writeJSON writes a JSON answer with extra headers header (may be nil);
// a nil body is an answer without one.
func writeJSON(w http.ResponseWriter, status int, header http.Header, body []byte) {
	for k, v := range header {
		w.Header()[k] = v
	}
	if body == nil {
		w.WriteHeader(status)
		return
	}
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	w.WriteHeader(status)
	_, _ = w.Write(body)
}
