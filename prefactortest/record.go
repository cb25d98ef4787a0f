package prefactortest

import (
	"bytes"
	"net/http"
	"net/url"
	"slices"
)

// DefaultRequestLimit is how many requests a [Server] keeps for
// [Server.Requests] until [Server.SetRequestLimit] says otherwise: the most
// recent 1,000. Each kept request holds its headers and up to 1 MiB of its
// body, so the record stays the same size however long the server runs.
const DefaultRequestLimit = 1000

// Request is one request the fake received, kept for assertions.
type Request struct {
	// Method is the HTTP method, e.g. "GET".
	Method string
	// Path is the unescaped URL path, e.g. "/api/v1/api_token".
	Path string
	// RawQuery is the query as sent, e.g. "pagination%5Boffset%5D=25".
	RawQuery string
	// Query is the query parsed, e.g. Query.Get("pagination[offset]").
	Query url.Values
	// Header holds the request headers as received, Authorization and
	// User-Agent included. Through [Server.Responder] they are the headers
	// the client set, without those a transport adds (Accept-Encoding).
	Header http.Header
	// Body is the request body, at most its first 1 MiB; nil when empty.
	Body []byte
}

// maxRecordedBody bounds how much of a request body is read and kept.
const maxRecordedBody = 1 << 20

// Requests returns copies of the last requests the server received, oldest
// first, including those it refused or failed on purpose: all of them up to
// the limit ([DefaultRequestLimit], or what [Server.SetRequestLimit] set),
// the most recent ones after that. [Server.RequestCount] counts every one.
func (s *Server) Requests() []Request {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := s.requests.ordered()
	for i, r := range out {
		r.Query = cloneValues(r.Query)
		r.Header = r.Header.Clone()
		r.Body = bytes.Clone(r.Body)
		out[i] = r
	}
	return out
}

// RequestCount returns how many requests the server has received since it
// started, recorded or not.
func (s *Server) RequestCount() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.requests.total
}

// SetRequestLimit sets how many of the most recent requests the server keeps
// for [Server.Requests]; the default is [DefaultRequestLimit]. When more
// are kept than n, the oldest are dropped at once. 0 turns recording off, for
// a long demo or a load test; n < 0 counts as 0. [Server.RequestCount] counts
// every request either way.
func (s *Server) SetRequestLimit(n int) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.requests.setLimit(n)
}

// requestLog keeps the last limit requests in a ring: once buf is full,
// buf[next] is the oldest and the next one to be overwritten.
type requestLog struct {
	limit int
	buf   []Request
	next  int
	total int // every request added, kept or not
}

func newRequestLog(limit int) requestLog { return requestLog{limit: limit} }

// add records r, dropping the oldest request when the log is full.
func (l *requestLog) add(r Request) {
	l.total++
	switch {
	case l.limit <= 0:
	case len(l.buf) < l.limit:
		l.buf = append(l.buf, r)
	default:
		l.buf[l.next] = r
		l.next = (l.next + 1) % l.limit
	}
}

// ordered returns the kept requests in a new slice, oldest first.
func (l *requestLog) ordered() []Request {
	out := make([]Request, 0, len(l.buf))
	out = append(out, l.buf[l.next:]...)
	return append(out, l.buf[:l.next]...)
}

// setLimit changes the limit to n (at least 0), keeping the most recent
// requests that fit in a new buffer, so the dropped ones can be freed.
func (l *requestLog) setLimit(n int) {
	n = max(n, 0)
	kept := l.ordered()
	l.buf = slices.Clone(kept[len(kept)-min(n, len(kept)):])
	l.next, l.limit = 0, n
}

func cloneValues(v url.Values) url.Values {
	out := make(url.Values, len(v))
	for k, vs := range v {
		out[k] = slices.Clone(vs)
	}
	return out
}
