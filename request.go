package prefactor

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"math"
	"net/http"
	"net/url"
	"reflect"
	"sync"
	"time"

	"github.com/google/go-querystring/query"
	"github.com/hashicorp/go-retryablehttp"
)

// This file is the one path every request takes, top to bottom:
//
//  1. Client.do builds the *http.Request: URL, query, JSON body, headers.
//  2. It hands the request to go-retryablehttp with one call's hooks, which
//     go-retryablehttp calls in this order for each attempt:
//
//	RequestLogHook  call.before   counts the attempt, waits for a place in
//	                              a parallel walk (pacer.go), logs it
//	                              (the request goes out through Client.hc)
//	CheckRetry      call.check    gives the walk its place back, reads the
//	                              body (bounded), decodes a 2xx into the
//	                              result or makes the *APIError, and asks
//	                              retryDecision (retry.go) what to do
//	Backoff         call.backoff  only when retrying: the wait check chose
//	ErrorHandler    call.giveUp   when it stops on a failure: the last error
//
//  3. Client.do returns nil, or the error with the operation's name, scrubbed
//     of the token (Client.fail): the one place an error leaves the SDK.
//     (When ctx ends during a backoff wait, go-retryablehttp returns ctx's
//     error without calling ErrorHandler; do handles that too.)
//
// The call's state (its attempts, its last error) lives in the call value
// whose methods are the hooks, never in the request's context.

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
	// idempotent marks a request that is safe to send twice: a GET, or a
	// mutation that carries an idempotency key. Only those are retried.
	idempotent bool
	// pace, when set, is the pacer of the parallel walk the request
	// belongs to: each attempt waits for a place from it.
	pace *pacer
	// responseInto, when set, receives the last response (WithResponseInto).
	responseInto **http.Response
}

// envelope is the decoded 2xx body of a call, which can say whether it is
// well formed.
type envelope interface {
	check() error
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

// do sends r and decodes its 2xx body into out (nil: the body is not read).
// Every error names r.op; an HTTP error status is an *APIError.
func (c *Client) do(ctx context.Context, r *apiRequest, out envelope) error {
	if ctx == nil {
		return invalidArgument(r.op, errors.New("nil context"))
	}
	u, err := c.endpoint(r.path, r.query)
	if err != nil {
		return invalidArgument(r.op, err)
	}
	var body any // nil: no body
	if r.body != nil {
		b, err := json.Marshal(r.body)
		if err != nil {
			return invalidArgument(r.op, fmt.Errorf("encoding request body: %w", err))
		}
		body = b
	}
	req, err := retryablehttp.NewRequestWithContext(ctx, r.method, u, body)
	if err != nil {
		return c.fail(r.op, err)
	}
	req.Header.Set("Authorization", "Bearer "+c.token.Reveal())
	req.Header.Set("User-Agent", c.userAgent)
	req.Header.Set("X-Prefactor-SDK", sdkHeader)
	req.Header.Set("Accept", "application/json")
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}

	k := &call{c: c, r: r, out: out}
	rc := &retryablehttp.Client{
		HTTPClient: c.hc,
		Logger:     nil, // go-retryablehttp's own logger prints URLs to stderr; ours is slog
		// check keeps the retry budget; this is only the hard cap, which
		// leaves room for the 429s a parallel walk's eagerness caused.
		RetryMax:       c.maxRetries,
		RequestLogHook: k.before,
		CheckRetry:     k.check,
		Backoff:        k.backoff,
		ErrorHandler:   k.giveUp,
	}
	if r.pace != nil && c.maxRetries > 0 && c.maxRetries <= math.MaxInt-maxConcurrency {
		rc.RetryMax += maxConcurrency
	}
	resp, err := rc.Do(req)
	if resp != nil {
		drainClose(resp.Body)
	}
	if r.responseInto != nil && k.resp != nil {
		*r.responseInto = forCaller(k.resp)
	}
	if err != nil {
		if ctxErr := ctx.Err(); ctxErr != nil && !errors.Is(err, ctxErr) {
			err = fmt.Errorf("%w (%v)", ctxErr, err)
		}
		return c.fail(r.op, err)
	}
	return nil
}

// forCaller returns a copy of resp for WithResponseInto: its body already
// read and closed, and its request without the Authorization header.
func forCaller(resp *http.Response) *http.Response {
	out := *resp
	out.Body = http.NoBody
	if resp.Request != nil {
		req := resp.Request.Clone(context.Background())
		req.Header.Del("Authorization")
		req.Body, req.GetBody = nil, nil
		out.Request = req
	}
	return &out
}

// fail is the one place an error leaves a call: named with the operation,
// and scrubbed of every spelling of the token.
func (c *Client) fail(op string, err error) error {
	return scrubError(fmt.Errorf("prefactor: %s: %w", op, err), c.token.Reveal())
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

// call is one request on its way through go-retryablehttp; its methods are
// the hooks.
type call struct {
	c   *Client
	r   *apiRequest
	out envelope

	attempts int            // attempts sent so far
	resp     *http.Response // the last response received
	err      error          // the last attempt's failure, nil after a success
	// transportErr is the last attempt's error as net/http returned it,
	// before check shortened it into err.
	transportErr error
	wait         time.Duration // the wait check chose before the next attempt

	ticket ticket // the attempt's place in r.pace, while held
	held   bool
	// free counts the attempts that got a 429 only because the parallel
	// walk sent too many at once; they do not use up the call's retries.
	free int
}

// before is the RequestLogHook: it runs before each attempt (retry counts
// from 0). In a parallel walk it waits until the walk's pacer gives the
// attempt a place: go-retryablehttp calls no other hook before the first
// attempt, and the wait must come before the per-attempt timeout starts.
// If ctx ends first, nothing is held and the attempt fails at once. It
// logs the attempt; headers are never logged.
func (k *call) before(_ retryablehttp.Logger, req *http.Request, retry int) {
	k.attempts = retry + 1
	if p := k.r.pace; p != nil {
		if t, err := p.acquire(req.Context()); err == nil {
			k.ticket, k.held = t, true
		}
	}
	log := k.c.logger
	if !log.Enabled(req.Context(), slog.LevelDebug) {
		return // spare building the attributes
	}
	log.DebugContext(req.Context(), "prefactor: sending request",
		slog.String("method", req.Method),
		slog.String("url", shorten(req.URL.Redacted(), maxShown, k.c.token.Reveal())),
		slog.Int("attempt", k.attempts))
}

// check is the CheckRetry hook, called once per attempt with its response
// or transport error. It reads what the attempt produced into k.err (nil
// for a decoded 2xx) and asks retryDecision whether to try again. It
// returns the error that ends the call when it should stop on a failure.
func (k *call) check(ctx context.Context, resp *http.Response, err error) (bool, error) {
	k.transportErr = err
	if err == nil {
		err = k.read(resp)
	} else if ue := (*url.Error)(nil); errors.As(err, &ue) {
		// url.Error quotes the whole URL, which a long ID makes as long as
		// it likes.
		err = &url.Error{Op: ue.Op, URL: shorten(ue.URL, maxShown, k.c.token.Reveal()), Err: ue.Err}
	}
	k.err = err
	status := 0
	if resp != nil {
		k.resp, status = resp, resp.StatusCode
	}
	throttledByWalk := k.releasePlace(status, resp)

	d := k.c.retryDecision(ctx, k.r.idempotent, k.attempts-1, resp, err)
	if throttledByWalk {
		k.free++
		d.wait = 0 // the walk's pause is the wait
		d.reason += "; the walk sent too many at once"
	}
	if d.retry && k.attempts-k.free > k.c.maxRetries {
		d.retry, d.reason = false, d.reason+"; retries used up"
	}
	k.wait = d.wait
	if log := k.c.logger; err != nil && log.Enabled(ctx, slog.LevelDebug) {
		log.DebugContext(ctx, "prefactor: retry decision",
			slog.Bool("retry", d.retry),
			slog.String("reason", shorten(d.reason, 4*maxShown, k.c.token.Reveal())),
			slog.Int("attempt", k.attempts))
	}
	switch {
	case d.retry:
		return true, nil
	case ctx.Err() != nil:
		return false, ctx.Err()
	}
	return false, err
}

// releasePlace gives the attempt's place back to the walk's pacer, if it
// holds one, with the attempt's status (0 for none) and, for a 429, the
// wait the server asked for (the backoff when it named none). It reports
// a 429 that came only because the walk had other attempts in flight.
func (k *call) releasePlace(status int, resp *http.Response) bool {
	if !k.held {
		return false
	}
	k.held = false
	wait, ok := retryAfter(resp)
	switch {
	case wait > k.c.retryAfterLimit:
		// This call gives up rather than wait so long (retryDecision); the
		// walk must not wait for it either. The 429 still lowers its limit.
		wait = 0
	case !ok && status == http.StatusTooManyRequests:
		wait = k.c.backoff(k.attempts-1, nil)
	}
	return k.r.pace.release(k.ticket, status, wait) && status == http.StatusTooManyRequests
}

// read reads resp's body: a 2xx into k.out, anything else into the
// *APIError it returns. Buffers grow with the bytes that arrive, never with
// what the server declares.
func (k *call) read(resp *http.Response) error {
	buf := bodyBuffers.Get().(*bytes.Buffer)
	defer putBuffer(buf)
	if resp.StatusCode < 200 || resp.StatusCode > 299 {
		// A broken error body still leaves its status to act on.
		_, _ = buf.ReadFrom(io.LimitReader(resp.Body, maxErrorBody))
		return newAPIError(resp, buf.Bytes(), k.attempts, k.c.token.Reveal())
	}
	if k.out == nil {
		return nil
	}
	n, err := buf.ReadFrom(io.LimitReader(resp.Body, maxSuccessBody+1))
	switch {
	case err != nil:
		return &readError{err: err}
	case n > maxSuccessBody:
		return fmt.Errorf("%w: body over %d MiB (status %d)", ErrResponseTooLarge, maxSuccessBody>>20, resp.StatusCode)
	}
	return decodeSuccess(buf.Bytes(), resp.StatusCode, k.out)
}

// decodeSuccess decodes a 2xx body into out, with out's fast path when it
// has one, and checks it. A body that ends inside the JSON is a broken
// transfer (*readError), not a malformed answer.
func decodeSuccess(body []byte, status int, out envelope) error {
	reflect.ValueOf(out).Elem().SetZero() // what an earlier attempt left
	decoded := false
	if fd, ok := out.(fastDecoder); ok {
		var err error
		if decoded, err = fd.decodeFast(body); err != nil {
			return fmt.Errorf("decoding response (status %d): %w", status, err)
		}
	}
	if !decoded {
		err := json.NewDecoder(bytes.NewReader(body)).Decode(out)
		switch {
		case errors.Is(err, io.EOF):
			return fmt.Errorf("decoding response: empty body (status %d)", status)
		case errors.Is(err, io.ErrUnexpectedEOF):
			return &readError{err: fmt.Errorf("body ends inside the JSON: %w", err)}
		case err != nil:
			return fmt.Errorf("decoding response (status %d): %w", status, err)
		}
	}
	if err := out.check(); err != nil {
		return fmt.Errorf("decoding response (status %d): %w", status, err)
	}
	return nil
}

// backoff is the Backoff hook: the wait retryDecision chose.
func (k *call) backoff(_, _ time.Duration, _ int, _ *http.Response) time.Duration {
	return k.wait
}

// giveUp is the ErrorHandler: go-retryablehttp stopped on a failure or used
// up the retries. It returns the last attempt's failure (an *APIError for
// an HTTP status) unless a hook's own error ended the call.
func (k *call) giveUp(resp *http.Response, err error, attempts int) (*http.Response, error) {
	if resp != nil {
		drainClose(resp.Body)
	}
	if err == nil || err == k.transportErr {
		err = k.err // retries used up: the last attempt's failure, as check saw it
	}
	var apiErr *APIError
	if attempts > 1 && !errors.As(err, &apiErr) {
		return nil, fmt.Errorf("giving up after %d attempts: %w", attempts, err)
	}
	return nil, err
}

// readError is a response body that did not arrive whole: the connection
// broke or timed out, or the body ended inside the JSON. The request may be
// sent again if it is idempotent.
type readError struct{ err error }

func (e *readError) Error() string { return "reading response body: " + e.err.Error() }
func (e *readError) Unwrap() error { return e.err }

// bodyBuffers holds the buffers bodies are read into. A buffer that grew past
// maxPooledBody is left to the garbage collector.
var bodyBuffers = sync.Pool{New: func() any { return new(bytes.Buffer) }}

const maxPooledBody = 1 << 20

func putBuffer(buf *bytes.Buffer) {
	if buf.Cap() <= maxPooledBody {
		buf.Reset()
		bodyBuffers.Put(buf)
	}
}

// drainClose reads what is left of a body, up to a bound, so the connection
// can be reused, and closes it.
func drainClose(body io.ReadCloser) {
	_, _ = io.Copy(io.Discard, io.LimitReader(body, 64<<10))
	_ = body.Close()
}
