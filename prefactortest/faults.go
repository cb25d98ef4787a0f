package prefactortest

import (
	"encoding/json"
	"net/http"
	"path"
	"slices"
	"strconv"
	"strings"
	"time"

	prefactor "github.com/prefactor-sdk/prefactor-go"
)

// Fault is an answer the fake server gives instead of its normal one, to
// test how code copes with failures; see [Server.FailNext]. The zero Fault
// is a 500 with the API's error JSON for the next request of any route,
// sent before the request is handled, so that it changes nothing.
type Fault struct {
	// Method, when set, aims the fault at requests with this HTTP method
	// ("POST"), compared without regard to case; "" matches any method.
	Method string
	// Path, when set, aims the fault at requests whose unescaped URL path
	// matches it as a [path.Match] pattern, such as
	// "/api/v1/api_token/*/revoke" ("*" stands for one path segment);
	// "" matches any path.
	Path string
	// Status is the HTTP status; 0 means 500.
	Status int
	// Code is the error code in the body; "" picks the usual one for
	// Status: bad_request (400), not_authenticated (401), not_permitted
	// (403), not_found (404), invalid_value (422), not_implemented (501),
	// else unexpected.
	Code prefactor.ErrorCode
	// Message is the error message; "" means the status text
	// ("Service Unavailable").
	Message string
	// Errors, when not nil, is sent as the body's "errors" object: each
	// field maps to its messages ([]string) or, as in the API's
	// validation_errors answers, to a nested object of the same shape:
	//
	//	prefactortest.Fault{
	//		Status: http.StatusUnprocessableEntity,
	//		Code:   prefactor.CodeValidationErrors,
	//		Errors: map[string]any{"details": map[string]any{"agent_id": []string{"is not an agent of this account"}}},
	//	}
	//
	// FailNext encodes it as JSON at once, so later changes to the map do
	// not reach the answer; a value encoding/json cannot encode makes the
	// answer a 500 unexpected that says so.
	Errors map[string]any
	// RetryAfter, when positive, is sent as a Retry-After header in whole
	// seconds, rounded up. The client waits it out for real (up to its
	// WithRetryAfterLimit), so keep it short in tests, or send
	// "Retry-After: 0" through Header.
	RetryAfter time.Duration
	// Header holds extra response headers, such as X-Request-Id.
	Header http.Header
	// Body, when not empty, is sent as it is instead of the error JSON —
	// an HTML page from a proxy, say, or with Status 200 a malformed
	// success body. Its Content-Type is text/plain unless Header sets one.
	Body string
	// Disconnect closes the connection without answering, like a server
	// that crashed or a network that dropped; through [Server.Responder]
	// the request fails with a transport error instead. The other fields
	// but Method, Path and AfterHandling are unused.
	Disconnect bool
	// AfterHandling makes the server handle the request first, as it would
	// without the fault: authentication, the route and its changes to the
	// store, and the answer it remembers under an idempotency key. Only
	// then is that answer thrown away and the fault (or Disconnect) sent
	// instead — like a service that did the work but whose answer was lost
	// on the way back. A retry with the same idempotency key then gets the
	// remembered answer and changes nothing; a retry with another key, or
	// without one, does the work again. That makes it the fault to test
	// that a retried mutation happens once. False (the default): the fault
	// comes before any handling and the request changes nothing.
	AfterHandling bool

	errorsJSON []byte // Errors as FailNext encoded it
	errorsErr  error  // why Errors could not be encoded
}

// freeze returns a copy of f that shares nothing with the caller's: its
// Header cloned and its Errors encoded.
func (f Fault) freeze() Fault {
	f.Header = f.Header.Clone()
	f.errorsJSON, f.errorsErr = nil, nil
	if f.Errors != nil {
		f.errorsJSON, f.errorsErr = json.Marshal(f.Errors)
		f.Errors = nil
	}
	return f
}

// pendingFault is a Fault still to be served left more times.
type pendingFault struct {
	fault Fault
	left  int
}

// FailNext makes the next n requests that f matches (authenticated or not;
// any request when f has no Method and no Path) get f instead of their
// normal answer; with f.AfterHandling they are carried out first. Each
// failed request still appears in [Server.Requests]. n <= 0 does nothing.
//
// Calls queue up, and a request takes the first queued fault that matches
// it: FailNext(2, a) then FailNext(1, b) fails two requests with a, then
// one with b. A request that no queued fault matches passes untouched, and
// the faults keep their places.
//
// A malformed f.Path queues nothing: on a server from [NewServer] FailNext
// fails the test with tb.Errorf, saying why; on one from [Start] the fault
// is dropped.
func (s *Server) FailNext(n int, f Fault) {
	if n <= 0 {
		return
	}
	if _, err := path.Match(f.Path, ""); err != nil {
		if s.tb != nil {
			s.tb.Helper()
			s.tb.Errorf("prefactortest: FailNext: Fault.Path %q: %v", f.Path, err)
		}
		return
	}
	f = f.freeze()
	s.mu.Lock()
	defer s.mu.Unlock()
	s.faults = append(s.faults, pendingFault{fault: f, left: n})
}

// matches reports whether f is aimed at r: its Method and Path, where set,
// match r's. FailNext checked the pattern.
func (f *Fault) matches(r *http.Request) bool {
	if f.Method != "" && !strings.EqualFold(f.Method, r.Method) {
		return false
	}
	if f.Path == "" {
		return true
	}
	ok, _ := path.Match(f.Path, r.URL.Path)
	return ok
}

// SetLatency delays every later answer, faults included, by d; 0 removes
// the delay. A request whose context ends while it waits gets no answer;
// Close answers waiting ones with 503 at once.
func (s *Server) SetLatency(d time.Duration) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.latency = max(d, 0)
}

// takeFault returns the fault r gets, if any: the first queued one that
// matches it, which is then used up once. The caller holds s.mu.
func (s *Server) takeFault(r *http.Request) (Fault, bool) {
	for i := range s.faults {
		p := &s.faults[i]
		if !p.fault.matches(r) {
			continue
		}
		f := p.fault
		if p.left--; p.left == 0 {
			s.faults = slices.Delete(s.faults, i, i+1)
		}
		return f, true
	}
	return Fault{}, false
}

// defaultFaultCodes is the code a Fault without one carries.
var defaultFaultCodes = map[int]prefactor.ErrorCode{
	http.StatusBadRequest:          prefactor.CodeBadRequest,
	http.StatusUnauthorized:        prefactor.CodeNotAuthenticated,
	http.StatusForbidden:           prefactor.CodeNotPermitted,
	http.StatusNotFound:            prefactor.CodeNotFound,
	http.StatusUnprocessableEntity: prefactor.CodeInvalidValue,
	http.StatusNotImplemented:      prefactor.CodeNotImplemented,
}

// serve answers with the fault; a Disconnect is the caller's to carry out.
func (f Fault) serve(w http.ResponseWriter) {
	status := f.Status
	if status == 0 {
		status = http.StatusInternalServerError
	}
	header := f.Header.Clone()
	if header == nil {
		header = http.Header{}
	}
	if f.RetryAfter > 0 {
		secs := (f.RetryAfter + time.Second - 1) / time.Second
		header.Set("Retry-After", strconv.FormatInt(int64(secs), 10))
	}
	if f.Body != "" {
		for k, v := range header {
			w.Header()[k] = v
		}
		if w.Header().Get("Content-Type") == "" {
			w.Header().Set("Content-Type", "text/plain; charset=utf-8")
		}
		w.WriteHeader(status)
		_, _ = w.Write([]byte(f.Body))
		return
	}
	code := f.Code
	if code == "" {
		code = defaultFaultCodes[status]
		if code == "" {
			code = prefactor.CodeUnexpected
		}
	}
	msg := f.Message
	if msg == "" {
		msg = http.StatusText(status)
	}
	rep := errorReply(status, code, msg, nil)
	switch {
	case f.errorsErr != nil:
		rep = errorReply(http.StatusInternalServerError, prefactor.CodeUnexpected, "fake server: Fault.Errors cannot be encoded: "+f.errorsErr.Error(), nil)
	case f.errorsJSON != nil:
		rep.body.(*errorBody).Errors = json.RawMessage(f.errorsJSON)
	}
	rep.header = header
	writeReply(w, rep)
}
