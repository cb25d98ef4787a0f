package prefactor

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"sync"

	"github.com/google/go-querystring/query"
	"github.com/hashicorp/go-retryablehttp"
)

// This file is the one path every request takes. Client.do reads top to
// bottom: build the request, send it through the retry loop, then decode
// the answer or fail. The loop is go-retryablehttp's, configured once for
// the Client (newLoop in retry.go). For each attempt it calls
//
//	RequestLogHook  logAttempt   logs the attempt, at debug level
//	                             (the attempt goes out through transport.go)
//	CheckRetry      checkRetry   reads a 2xx body whole, bounded, and hands
//	                             it on in resp.Body; asks retryDecision
//	                             whether to try again
//	Backoff         backoff      picks the wait before the next attempt
//
// and, when the loop ends on a failure,
//
//	ErrorHandler    giveUp       makes the final error: an *APIError for an
//	                             HTTP status, else what went wrong
//
// Each hook is a function of what the loop hands it; none keeps state.

// sdkHeader is the X-Prefactor-SDK header, which names the SDK and its
// version the way Prefactor's own SDKs name theirs.
const sdkHeader = "prefactor-go@" + Version

// apiRequest is one call to the API, described for do.
type apiRequest struct {
	op     string // operation name for errors, e.g. "list API tokens"
	method string
	path   string // relative to the base URL and escaped: "api/v1/api_token/" + url.PathEscape(id)
	query  any    // encoded with go-querystring, or url.Values as they are; nil for none
	body   any    // sent as JSON; nil for none
	// loop, when set, is the retry loop to send through instead of the
	// Client's: a parallel walk's, whose attempts it paces.
	loop *retryablehttp.Client
	// responseInto, when set, receives the last response (WithResponseInto).
	responseInto **http.Response
}

// envelope is the decoded 2xx body of a call, which can say whether it is
// well formed.
type envelope interface {
	check() error
}

// do sends r and decodes its 2xx body into out (nil: the body is not
// decoded). Every error names r.op; an HTTP error status is an *APIError.
// Every request the SDK sends is safe to repeat, a GET or a mutation with
// an idempotency key, so every one goes through the retry loop.
func (c *Client) do(ctx context.Context, r *apiRequest, out envelope) error {
	req, err := c.newRequest(ctx, r)
	if err != nil {
		return err
	}
	loop := c.loop
	if r.loop != nil {
		loop = r.loop
	}
	resp, err := loop.Do(req)
	if resp != nil {
		defer resp.Body.Close()
		if r.responseInto != nil {
			*r.responseInto = forCaller(resp)
		}
	}
	if err != nil {
		return c.fail(r.op, err)
	}
	if out == nil {
		return nil
	}
	if err := decodeSuccess(resp, out); err != nil {
		return c.fail(r.op, err)
	}
	return nil
}

// newRequest builds r's request: URL and query, JSON body, headers.
func (c *Client) newRequest(ctx context.Context, r *apiRequest) (*retryablehttp.Request, error) {
	if ctx == nil {
		return nil, invalidArgument(r.op, errors.New("nil context"))
	}
	u, err := c.endpoint(r.path, r.query)
	if err != nil {
		return nil, invalidArgument(r.op, err)
	}
	var body any // nil: no body
	if r.body != nil {
		b, err := json.Marshal(r.body)
		if err != nil {
			return nil, invalidArgument(r.op, fmt.Errorf("encoding request body: %w", err))
		}
		body = b
	}
	req, err := retryablehttp.NewRequestWithContext(ctx, r.method, u, body)
	if err != nil {
		return nil, c.fail(r.op, err)
	}
	req.Header.Set("Authorization", "Bearer "+c.token.Reveal())
	req.Header.Set("User-Agent", c.userAgent)
	req.Header.Set("X-Prefactor-SDK", sdkHeader)
	req.Header.Set("Accept", "application/json")
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	return req, nil
}

// endpoint resolves path against the base URL and adds the query: opts
// encoded with go-querystring, or, when opts is already url.Values (encoded
// once for many requests), those.
func (c *Client) endpoint(path string, opts any) (string, error) {
	u := c.baseURL.JoinPath(path)
	switch o := opts.(type) {
	case nil:
	case url.Values:
		u.RawQuery = o.Encode()
	default:
		v, err := query.Values(opts)
		if err != nil {
			return "", err
		}
		u.RawQuery = v.Encode()
	}
	return u.String(), nil
}

// fail is the one place an error leaves a call: named with the operation,
// and scrubbed of every spelling of the token.
func (c *Client) fail(op string, err error) error {
	return scrubError(fmt.Errorf("prefactor: %s: %w", op, err), c.token.Reveal())
}

// forCaller returns a copy of resp for WithResponseInto: its body already
// read and closed, and every request of its redirect chain without the
// Authorization header or a body.
func forCaller(resp *http.Response) *http.Response {
	if resp == nil {
		return nil
	}
	out := *resp
	out.Body = http.NoBody
	if resp.Request != nil {
		req := resp.Request.Clone(context.Background())
		req.Header.Del("Authorization")
		req.Body, req.GetBody = nil, nil
		req.Response = forCaller(resp.Request.Response) // the redirect that led here
		out.Request = req
	}
	return &out
}

// readSuccess reads the body of a 2xx answer whole, up to maxSuccessBody,
// and hands it on in resp.Body: the bytes for decodeSuccess, or, when they
// did not arrive whole, a body whose Read returns the failure. It returns
// that failure: a *readError, which retryDecision retries, or a body over
// the limit, which it does not.
func readSuccess(resp *http.Response) error {
	buf := bodyBuffers.Get().(*bytes.Buffer)
	n, err := buf.ReadFrom(io.LimitReader(resp.Body, maxSuccessBody+1))
	_ = resp.Body.Close()
	switch {
	case err != nil:
		err = &readError{err: err}
	case n > maxSuccessBody:
		err = fmt.Errorf("%w: body over %d MiB (status %d)", ErrResponseTooLarge, maxSuccessBody>>20, resp.StatusCode)
	case closeDelimited(resp) && endsInsideJSON(buf.Bytes()):
		err = &readError{err: fmt.Errorf("body ends inside the JSON: %w", io.ErrUnexpectedEOF)}
	}
	if err != nil {
		putBuffer(buf)
		resp.Body = failedBody{err}
		return err
	}
	resp.Body = &readBody{Reader: bytes.NewReader(buf.Bytes()), buf: buf}
	return nil
}

// closeDelimited reports whether resp's body ends only where the
// connection closes: HTTP/1 without Content-Length or chunked framing. A
// cut in such a body reads as a clean end.
func closeDelimited(resp *http.Response) bool {
	return resp.ProtoMajor == 1 && resp.ContentLength < 0 && len(resp.TransferEncoding) == 0
}

// endsInsideJSON reports whether body stops before its JSON value does.
func endsInsideJSON(body []byte) bool {
	err := json.NewDecoder(bytes.NewReader(body)).Decode(new(json.RawMessage))
	return errors.Is(err, io.ErrUnexpectedEOF)
}

// decodeSuccess decodes the 2xx body readSuccess handed on in resp.Body
// into out, with out's fast path when it has one, and checks it.
func decodeSuccess(resp *http.Response, out envelope) error {
	rb, ok := resp.Body.(*readBody)
	if !ok { // cannot happen: checkRetry read every 2xx body
		return fmt.Errorf("decoding response (status %d): body was not read", resp.StatusCode)
	}
	body := rb.buf.Bytes()
	decoded := false
	if fd, ok := out.(fastDecoder); ok {
		var err error
		if decoded, err = fd.decodeFast(body); err != nil {
			return fmt.Errorf("decoding response (status %d): %w", resp.StatusCode, err)
		}
	}
	if !decoded {
		err := json.NewDecoder(bytes.NewReader(body)).Decode(out)
		switch {
		case errors.Is(err, io.EOF):
			return fmt.Errorf("decoding response: empty body (status %d)", resp.StatusCode)
		case err != nil:
			return fmt.Errorf("decoding response (status %d): %w", resp.StatusCode, err)
		}
	}
	if err := out.check(); err != nil {
		return fmt.Errorf("decoding response (status %d): %w", resp.StatusCode, err)
	}
	return nil
}

// checkStatus checks the "status" of a 2xx body: "success", or absent (some
// answers leave it out), is a success; anything else, "error" above all,
// is not.
func checkStatus(status string) error {
	if status != "" && status != "success" {
		return fmt.Errorf("status %q in a success response, want \"success\"", status)
	}
	return nil
}

// readError is a response body that did not arrive whole: the connection
// broke or timed out, or a body delimited by the connection's close ended
// inside the JSON. The request may be sent again.
type readError struct{ err error }

func (e *readError) Error() string { return "reading response body: " + e.err.Error() }
func (e *readError) Unwrap() error { return e.err }

// readBody is a body read whole; Close returns its buffer to the pool.
type readBody struct {
	*bytes.Reader
	buf *bytes.Buffer
}

func (b *readBody) Close() error {
	if b.buf != nil {
		putBuffer(b.buf)
		b.buf = nil
	}
	return nil
}

// failedBody is a body that did not arrive whole: Read returns why.
type failedBody struct{ err error }

func (b failedBody) Read([]byte) (int, error) { return 0, b.err }
func (b failedBody) Close() error             { return nil }

// bodyBuffers holds the buffers bodies are read into. A buffer that grew past
// maxPooledBody is left to the garbage collector.
var bodyBuffers = sync.Pool{New: func() any { return new(bytes.Buffer) }}

func putBuffer(buf *bytes.Buffer) {
	if buf.Cap() <= maxPooledBody {
		buf.Reset()
		bodyBuffers.Put(buf)
	}
}

// drainClose reads what is left of a body, up to maxDrain, so the
// connection can be reused, and closes it.
func drainClose(body io.ReadCloser) {
	_, _ = io.Copy(io.Discard, io.LimitReader(body, maxDrain))
	_ = body.Close()
}
