package prefactortest

import (
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"time"

	"github.com/jarcoal/httpmock"
	prefactor "github.com/prefactor-sdk/prefactor-go"
)

// FastRetries returns a [prefactor.Option] that makes a client wait 1 to 2 ms
// between attempts instead of the default 500 ms to 30 s, so a test of retries
// (a 503 before the answer, say) takes milliseconds, not seconds. Give it to
// the clients a test builds itself, e.g. on an httpmock transport;
// [Server.Client] already uses it. It sets [prefactor.WithRetryWait] and
// nothing else: a Retry-After the mock sends is still waited out, and the
// number of retries is unchanged.
func FastRetries() prefactor.Option {
	return prefactor.WithRetryWait(time.Millisecond, 2*time.Millisecond)
}

// Responder returns an httpmock.Responder that answers every request as
// the fake server would, without a connection: the same store, lifecycle,
// idempotency keys, faults ([Server.FailNext]), latency, concurrency limit
// and request record ([Server.Requests]) as requests that reach [Server.URL].
// Register it for every route, on a transport given to
// prefactor.WithHTTPClient:
//
//	mock := httpmock.NewMockTransport()
//	mock.RegisterNoResponder(srv.Responder())
//	client, err := prefactor.NewClient(prefactortest.Token,
//		prefactor.WithHTTPClient(&http.Client{Transport: mock}),
//		prefactortest.FastRetries())
//
// It answers any host, so the client keeps the default base URL. A Fault
// with Disconnect, a request whose context ends during [Server.SetLatency],
// and any request after [Server.Close] fail with an error, as a transport
// would.
func (s *Server) Responder() httpmock.Responder {
	return func(req *http.Request) (*http.Response, error) {
		select {
		case <-s.done:
			return nil, errClosed
		default:
		}
		r := req.Clone(req.Context()) // serve replaces the body
		if req.Body != nil {
			defer req.Body.Close()
		}
		rec := httptest.NewRecorder()
		switch s.serve(rec, r) {
		case hungUp:
			return nil, errHungUp
		case abandoned:
			return nil, req.Context().Err()
		}
		return result(rec, req), nil
	}
}

var (
	// errClosed is Responder's answer after Close, as a refused
	// connection would be.
	errClosed = errors.New("prefactortest: the fake server is closed")
	// errHungUp is Responder's answer to a Fault with Disconnect: the
	// connection dropped before the answer.
	errHungUp = fmt.Errorf("prefactortest: the fake dropped the connection (Fault.Disconnect): %w", io.ErrUnexpectedEOF)
)

// ListResponder returns an httpmock.Responder that answers a list request
// over tokens exactly as the fake [Server] does (see Listing in the package
// doc): account_id, sorting, pagination[offset] and pagination[page_size]
// are honoured, bad values get 400 invalid_value, and the body is the API's
// JSON with its pagination and sorting objects. It does not check the
// bearer token, but answers as if [Token] had sent the request: without
// account_id it lists the tokens of [AccountID] and those with no
// AccountID. tokens is copied; later changes to it are not seen. For the
// whole fake behind httpmock, use [Server.Responder].
//
// Register it for the path alone and let it read the query:
//
//	mock.RegisterResponder(http.MethodGet, "/api/v1/api_token", prefactortest.ListResponder(tokens))
//
// A URL registered with its query, such as
// "/api/v1/api_token?pagination[offset]=25", never matches: the client
// sends the bracketed keys percent-encoded
// ("pagination%5Boffset%5D=25"), and httpmock compares the query text.
// ListResponder reads the parsed query values instead, so one registration
// serves every page. (httpmock's RegisterResponderWithQuery escapes its
// keys the same way and does match, but only that one query.)
func ListResponder(tokens []prefactor.APIToken) httpmock.Responder {
	store := make([]prefactor.APIToken, len(tokens))
	for i, t := range tokens {
		store[i] = cloneToken(t)
	}
	return func(req *http.Request) (*http.Response, error) {
		rec := httptest.NewRecorder()
		writeReply(rec, listReply(store, req.URL.Query()))
		return result(rec, req), nil
	}
}

// ErrorResponder returns an httpmock.Responder that answers every request
// with status and the API's error JSON:
// {"status":"error","code":code,"message":message}. A status of 0, an
// empty code or an empty message is filled in as for Fault.
func ErrorResponder(status int, code prefactor.ErrorCode, message string) httpmock.Responder {
	f := Fault{Status: status, Code: code, Message: message}
	return func(req *http.Request) (*http.Response, error) {
		rec := httptest.NewRecorder()
		f.serve(rec)
		return result(rec, req), nil
	}
}

// result turns what a handler wrote into the response to req.
func result(rec *httptest.ResponseRecorder, req *http.Request) *http.Response {
	resp := rec.Result()
	resp.Request = req
	return resp
}
