package prefactor

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"math"
	"math/rand/v2"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/hashicorp/go-retryablehttp"
)

// This file holds the retry policy and the hooks through which
// go-retryablehttp applies it (see request.go for the order in which the
// loop calls them).

// newLoop returns the retry loop that sends hc's attempts under the
// Client's retry settings, waiting between attempts as wait says.
// NewClient makes one for the Client; a parallel walk makes its own
// around its pacer (pacer.go).
func (c *Client) newLoop(hc *http.Client, wait retryablehttp.Backoff) *retryablehttp.Client {
	return &retryablehttp.Client{
		HTTPClient:     hc,
		Logger:         nil, // go-retryablehttp's own logger prints URLs to stderr; ours is slog
		RetryMax:       c.maxRetries,
		RetryWaitMin:   c.retryWaitMin,
		RetryWaitMax:   c.retryWaitMax,
		RequestLogHook: c.logAttempt,
		CheckRetry:     c.checkRetry,
		Backoff:        wait,
		ErrorHandler:   c.giveUp,
	}
}

// decision is what retryDecision makes of one attempt.
type decision struct {
	retry  bool
	reason string // for the debug log
}

// retryDecision is the whole retry policy: given what one attempt produced
// (its response, and err: the transport's error, or readSuccess's for a
// 2xx body), it says whether to try again, and why. First row that
// matches:
//
//	what happened                                    decision
//	context cancelled or past its deadline           stop, with the context's error
//	2xx whose body arrived whole                     stop: success
//	2xx body over the 16 MiB limit                   stop
//	redirect refused (by our policy or the caller's) stop
//	transport error net/http cannot get past         stop
//	  (certificate, scheme, header)
//	other transport error, or a body cut short       retry, after backoff
//	429 or 503 whose Retry-After exceeds the limit   stop, *APIError with RetryAfter
//	  or could outlast the context's deadline
//	429, 500, 502, 503, 504 and other 5xx but 501    retry, after Retry-After or backoff
//	anything else (3xx, 4xx, 501)                    stop, *APIError
//
// Every request the SDK sends is safe to repeat (a GET, or a mutation
// with an idempotency key), so none is refused a retry for its method.
func (c *Client) retryDecision(ctx context.Context, resp *http.Response, err error) decision {
	if ctx.Err() != nil {
		return decision{reason: "context done"}
	}
	var readErr *readError
	var urlErr *url.Error
	switch {
	case err == nil && is2xx(resp):
		return decision{reason: "success"}
	case errors.As(err, &readErr):
		return decision{retry: true, reason: readErr.Error()}
	case errors.As(err, &urlErr) && resp != nil:
		// From http.Client.Do: a redirect policy refused to follow, and
		// handed back the redirect. That answer would not change.
		return decision{reason: "redirect refused: " + err.Error()}
	case errors.As(err, &urlErr):
		if ok, _ := retryablehttp.DefaultRetryPolicy(ctx, nil, err); !ok {
			return decision{reason: "permanent transport error"}
		}
		return decision{retry: true, reason: "transport error: " + err.Error()}
	case err != nil: // a body over the limit
		return decision{reason: err.Error()}
	}

	status := resp.StatusCode
	if status != http.StatusTooManyRequests && (status < 500 || status == http.StatusNotImplemented) {
		return decision{reason: fmt.Sprintf("status %d is final", status)}
	}
	if asked, ok := retryAfter(resp); ok {
		if why := waitRefused(ctx, asked, c.retryAfterLimit); why != "" {
			return decision{reason: fmt.Sprintf("status %d %s", status, why)}
		}
	}
	return decision{retry: true, reason: fmt.Sprintf("status %d", status)}
}

// is2xx reports whether resp's status is a success.
func is2xx(resp *http.Response) bool { return resp.StatusCode >= 200 && resp.StatusCode <= 299 }

// waitRefused says why a Retry-After of asked is not to be waited out, or
// "" when it is: it is over the limit, or, jitter included, it could
// outlast ctx's deadline.
func waitRefused(ctx context.Context, asked, limit time.Duration) string {
	if asked > limit {
		return fmt.Sprintf("asks to wait %s, over the %s limit", asked, limit)
	}
	if dl, ok := ctx.Deadline(); ok && time.Until(dl) <= maxJittered(asked) {
		return fmt.Sprintf("asks to wait %s, which could outlast the context's deadline", asked)
	}
	return ""
}

// stopped is what checkRetry returns when an attempt ends the call at once,
// so that giveUp reports it as it is rather than as retries used up. err
// is why; nil when the response's HTTP status is final.
type stopped struct{ err error }

func (s *stopped) Error() string {
	if s.err == nil {
		return "final status"
	}
	return s.err.Error()
}

// checkRetry is the CheckRetry hook, called once per attempt with its
// response or transport error. It reads a 2xx body (readSuccess), asks
// retryDecision, and logs the decision for anything but a success.
func (c *Client) checkRetry(ctx context.Context, resp *http.Response, err error) (bool, error) {
	success := err == nil && is2xx(resp)
	if success && ctx.Err() == nil {
		err = readSuccess(resp)
	}
	d := c.retryDecision(ctx, resp, err)
	if log := c.logger; (err != nil || !success) && log.Enabled(ctx, slog.LevelDebug) {
		log.DebugContext(ctx, "prefactor: retry decision",
			slog.Bool("retry", d.retry),
			slog.String("reason", shorten(d.reason, 4*maxShown, c.token.Reveal())))
	}
	switch {
	case d.retry:
		return true, nil
	case ctx.Err() != nil:
		if err == nil && resp != nil && !success {
			err = fmt.Errorf("status %d", resp.StatusCode)
		}
		if err != nil {
			// Quoted, not wrapped: cut like any text from a server.
			last := shorten(err.Error(), 2*maxShown, c.token.Reveal())
			return false, &stopped{fmt.Errorf("%w (last attempt: %s)", ctx.Err(), last)}
		}
		return false, &stopped{ctx.Err()}
	case err != nil || !success:
		return false, &stopped{err}
	}
	return false, nil
}

// giveUp is the ErrorHandler, called when the loop ends on a failure:
// checkRetry stopped it, or the retries ran out. For an HTTP error status
// it returns the *APIError; otherwise the failure, which reads "giving up
// after N attempts" only when retries ran out. It hands resp back, its
// body closed, for WithResponseInto.
func (c *Client) giveUp(resp *http.Response, err error, attempts int) (*http.Response, error) {
	var stop *stopped
	final := errors.As(err, &stop)
	if final {
		err = stop.err
	} else if log := c.logger; log.Enabled(context.Background(), slog.LevelDebug) {
		log.Debug("prefactor: giving up: retries used up", slog.Int("attempts", attempts))
	}
	if err == nil && resp != nil {
		if !is2xx(resp) {
			return resp, c.apiError(resp, attempts)
		}
		// Retries ran out on bodies that did not arrive whole: readSuccess
		// handed the last failure on in the body.
		err = errors.New("body did not arrive whole")
		if fb, ok := resp.Body.(failedBody); ok {
			err = fb.err
		}
	}
	if resp != nil {
		drainClose(resp.Body)
	}
	if ue := (*url.Error)(nil); errors.As(err, &ue) && len(ue.URL) > maxShown {
		// url.Error quotes the whole URL, which a long ID makes as long as
		// it likes.
		err = &url.Error{Op: ue.Op, URL: shorten(ue.URL, maxShown, c.token.Reveal()), Err: ue.Err}
	}
	if !final && attempts > 1 {
		err = fmt.Errorf("giving up after %d attempts: %w", attempts, err)
	}
	return resp, err
}

// apiError reads resp's error body, up to maxErrorBody, closes it and
// returns the *APIError.
func (c *Client) apiError(resp *http.Response, attempts int) *APIError {
	var buf bytes.Buffer
	// A broken error body still leaves its status to act on.
	_, _ = buf.ReadFrom(io.LimitReader(resp.Body, maxErrorBody))
	drainClose(resp.Body)
	return newAPIError(resp, buf.Bytes(), attempts, c.token.Reveal())
}

// logAttempt is the RequestLogHook: it logs each attempt (retry counts
// from 0) at debug level, without headers.
func (c *Client) logAttempt(_ retryablehttp.Logger, req *http.Request, retry int) {
	log := c.logger
	if !log.Enabled(req.Context(), slog.LevelDebug) {
		return // spare building the attributes
	}
	log.DebugContext(req.Context(), "prefactor: sending request",
		slog.String("method", req.Method),
		slog.String("url", shorten(req.URL.Redacted(), maxShown, c.token.Reveal())),
		slog.Int("attempt", retry+1))
}

// backoff is the Backoff hook: the wait before the attempt after attempt
// (0 for the first). A 429 or 503 with Retry-After waits what the server
// asked plus up to a fifth more, so clients the server throttled together
// do not come back together; anything else waits min·2^attempt, capped at
// max, with the upper half of that range picked at random. The wait is
// never shorter than the server asked.
func backoff(min, max time.Duration, attempt int, resp *http.Response) time.Duration {
	if wait, ok := retryAfter(resp); ok {
		return retryAfterJitter(wait)
	}
	if min <= 0 {
		return 0
	}
	wait := max
	if attempt < 62 {
		if d := min << attempt; d > 0 && d < max {
			wait = d
		}
	}
	half := wait / 2
	return half + rand.N(wait-half+1)
}

// retryAfterJitter returns a wait of at least d and at most maxJittered(d),
// picked at random, so that clients told the same Retry-After do not come
// back at the same moment. d <= 0 gives 0.
func retryAfterJitter(d time.Duration) time.Duration {
	if d <= 0 {
		return 0
	}
	return d + rand.N(maxJittered(d)-d+1)
}

// maxJittered is the longest wait retryAfterJitter picks for d: a fifth
// more.
func maxJittered(d time.Duration) time.Duration {
	if d <= 0 {
		return 0
	}
	extra := d / 5
	if d > math.MaxInt64-extra {
		return d
	}
	return d + extra
}

// retryAfter returns the wait a 429 or 503 response asks for in its
// Retry-After header.
func retryAfter(resp *http.Response) (time.Duration, bool) {
	if resp == nil || (resp.StatusCode != http.StatusTooManyRequests && resp.StatusCode != http.StatusServiceUnavailable) {
		return 0, false
	}
	return parseRetryAfter(resp.Header.Get("Retry-After"), time.Now())
}

// parseRetryAfter reads a Retry-After header in either form: delta-seconds
// ("120") or an HTTP-date. A date in the past means no wait. It reports false
// when the header is absent or unreadable.
func parseRetryAfter(v string, now time.Time) (time.Duration, bool) {
	v = strings.TrimSpace(v)
	if v == "" {
		return 0, false
	}
	if v[0] >= '0' && v[0] <= '9' {
		// All digits first: ParseUint reports overflow before it sees a
		// stray letter further on.
		if strings.Trim(v, "0123456789") != "" {
			return 0, false
		}
		secs, err := strconv.ParseUint(v, 10, 64)
		if err != nil {
			// Only overflow is left: wait "forever", which is over any limit.
			return math.MaxInt64, true
		}
		if secs > math.MaxInt64/uint64(time.Second) {
			return math.MaxInt64, true
		}
		return time.Duration(secs) * time.Second, true
	}
	t, err := http.ParseTime(v)
	if err != nil {
		return 0, false
	}
	if d := t.Sub(now); d > 0 {
		return d, true
	}
	return 0, true
}
