package prefactortest

import (
	"fmt"
	"net/http"
	"time"

	prefactor "github.com/prefactor-sdk/prefactor-go"
)

// defaultThrottleRetryAfter is the Retry-After of the concurrency limit's
// 429s until SetThrottleRetryAfter changes it.
const defaultThrottleRetryAfter = time.Second

// concurrencyLimit is what SetConcurrencyLimit and SetThrottleRetryAfter
// set, and the count of requests in flight. The Server's mu guards it.
type concurrencyLimit struct {
	max        int           // requests allowed in flight; 0: any number
	retryAfter time.Duration // of the 429s; negative: no header
	inFlight   int           // admitted requests whose answer has not started
	throttled  int           // 429s sent for the limit
	admitted   func()        // tests only: runs in an admitted request, before its latency
	retrySet   bool          // retryAfter was set; else the default holds
}

// SetConcurrencyLimit makes the server refuse a request that arrives while
// n others are in flight, as a rate-limiting gateway in front of the real
// service may: it answers 429 Too Many Requests with a Retry-After header
// (1 s unless SetThrottleRetryAfter changes it) and the API's error JSON
// with code "unknown". The API reference names no code for rate limiting,
// so the fake picks one of the reference's own; code under test should
// look at the status (prefactor.ErrRateLimited), not the code.
//
// A request is in flight from its arrival, when Requests records it, until
// the server starts its answer; the SetLatency delay counts. A refused
// request is never in flight: it is turned away before authentication, uses
// up no FailNext fault, and still waits out SetLatency like every answer.
// Throttled counts the refusals.
//
// n <= 0 removes the limit, the default. A new limit applies to requests
// that arrive afterwards; those already in flight count towards it.
func (s *Server) SetConcurrencyLimit(n int) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.limit.max = max(n, 0)
}

// SetThrottleRetryAfter sets the Retry-After header of the 429s that
// SetConcurrencyLimit causes: d in whole seconds, rounded up. 0 sends
// "Retry-After: 0", which lets a client retry at once; a negative d sends
// no header. The default is 1 s. It changes no FailNext fault.
func (s *Server) SetThrottleRetryAfter(d time.Duration) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.limit.retryAfter, s.limit.retrySet = d, true
}

// Throttled returns how many requests the server has refused with 429
// because of SetConcurrencyLimit since it started. A 429 that FailNext
// sends is not counted.
func (s *Server) Throttled() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.limit.throttled
}

// enter decides whether a request that just arrived is admitted: true and
// a zero Fault when it is (holdSlot must then follow), false and the 429 to
// answer when the limit is reached. The caller holds s.mu.
func (s *Server) enter() (Fault, bool) {
	l := &s.limit
	if l.max == 0 || l.inFlight < l.max {
		l.inFlight++
		return Fault{}, true
	}
	l.throttled++
	f := Fault{
		Status:  http.StatusTooManyRequests,
		Code:    prefactor.CodeUnknown,
		Message: fmt.Sprintf("too many requests in flight: at most %d at once", l.max),
	}
	ra := defaultThrottleRetryAfter
	if l.retrySet {
		ra = l.retryAfter
	}
	switch {
	case ra > 0:
		f.RetryAfter = ra
	case ra == 0:
		f.Header = http.Header{"Retry-After": {"0"}}
	}
	return f, false
}

// holdSlot returns w for an admitted request: the request stays in flight
// until its answer starts through it, or leave is called, whichever comes
// first. The caller calls leave when the handler returns. It runs the
// tests' admitted hook.
func (s *Server) holdSlot(w http.ResponseWriter) (sw http.ResponseWriter, leave func()) {
	s.mu.Lock()
	hook := s.limit.admitted
	s.mu.Unlock()
	if hook != nil {
		hook()
	}
	slot := &slotWriter{ResponseWriter: w, s: s}
	return slot, slot.leave
}

// slotWriter passes an answer through and frees its request's place in
// flight just before the answer starts, so a client never sees an answer
// while its request still counts against the limit.
type slotWriter struct {
	http.ResponseWriter
	s    *Server
	left bool // only the handler's goroutine touches it
}

func (w *slotWriter) leave() {
	if w.left {
		return
	}
	w.left = true
	w.s.mu.Lock()
	w.s.limit.inFlight--
	w.s.mu.Unlock()
}

func (w *slotWriter) WriteHeader(status int) {
	w.leave()
	w.ResponseWriter.WriteHeader(status)
}

func (w *slotWriter) Write(b []byte) (int, error) {
	w.leave()
	return w.ResponseWriter.Write(b)
}

// Unwrap gives http.ResponseController the writer underneath.
func (w *slotWriter) Unwrap() http.ResponseWriter { return w.ResponseWriter }
