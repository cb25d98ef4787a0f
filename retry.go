package prefactor

import (
	"context"
	"errors"
	"fmt"
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

// retryDecision is the whole retry policy. It says whether to try again and
// why; checkRetry logs the reason. In order:
//
//	what happened                                  decision
//	context cancelled or past its deadline         stop, with the context's error
//	429 or 503 whose Retry-After exceeds the limit stop, *APIError with RetryAfter
//	  or ends after the context's deadline
//	request not idempotent (mutation without key)  stop
//	transport error the server may not have seen   retry (not: TLS, scheme, redirect loop)
//	connection lost while reading the body         retry (not: body over 16 MiB)
//	429, 500, 502, 503, 504 and other 5xx but 501  retry, after Retry-After or backoff
//	anything else (2xx, 3xx, 4xx, 501, bad JSON)   stop
func (c *Client) retryDecision(ctx context.Context, resp *http.Response, err error) (retry bool, reason string, stopErr error) {
	if ctxErr := ctx.Err(); ctxErr != nil {
		return false, "context done", ctxErr
	}
	idempotent := stateOf(ctx).idempotent
	var apiErr *APIError
	var readErr *bodyReadError
	var urlErr *url.Error
	switch {
	case errors.As(err, &apiErr):
		return false, fmt.Sprintf("status %d is final", apiErr.StatusCode), nil
	case errors.As(err, &readErr):
		if errors.Is(err, ErrResponseTooLarge) {
			return false, "response body too large", nil
		}
		if !idempotent {
			return false, "body read failed; request not idempotent", nil
		}
		return true, "body read failed: " + readErr.err.Error(), nil
	case err != nil && resp != nil && !errors.As(err, &urlErr):
		// A 2xx body that did not decode: the server's fault, not the wire's.
		return false, "malformed response", nil
	case err != nil:
		// From http.Client.Do; a failed redirect policy comes with the
		// redirect response.
		if ok, _ := retryablehttp.DefaultRetryPolicy(ctx, nil, err); !ok {
			return false, "permanent transport error", nil
		}
		if !idempotent {
			return false, "transport error; request not idempotent", nil
		}
		return true, "transport error: " + err.Error(), nil
	}

	status := resp.StatusCode
	if status != http.StatusTooManyRequests && (status < 500 || status == http.StatusNotImplemented) {
		return false, fmt.Sprintf("status %d is final", status), nil
	}
	if status == http.StatusTooManyRequests || status == http.StatusServiceUnavailable {
		if wait, ok := parseRetryAfter(resp.Header.Get("Retry-After"), time.Now()); ok {
			if wait > c.retryAfterLimit {
				return false, fmt.Sprintf("status %d asks to wait %s, over the %s limit", status, wait, c.retryAfterLimit), nil
			}
			if dl, ok := ctx.Deadline(); ok && time.Until(dl) <= wait {
				return false, fmt.Sprintf("status %d asks to wait %s, past the context's deadline", status, wait), nil
			}
		}
	}
	if !idempotent {
		return false, fmt.Sprintf("status %d; request not idempotent", status), nil
	}
	return true, fmt.Sprintf("status %d", status), nil
}

// checkRetry is retryablehttp's CheckRetry hook around retryDecision.
func (c *Client) checkRetry(ctx context.Context, resp *http.Response, err error) (bool, error) {
	if err == nil && resp != nil {
		switch {
		case resp.StatusCode < 300 && ctx.Err() == nil:
			return false, nil // retryDecision's answer, without building its reason
		case resp.StatusCode == http.StatusTooManyRequests:
			noteThrottled(ctx) // once per answer: a parallel walk sends fewer requests at once
		}
	}
	retry, reason, stopErr := c.retryDecision(ctx, resp, err)
	var apiErr *APIError
	if errors.As(err, &apiErr) {
		// The response handler's *APIError for a status this hook has
		// already judged (and logged) in its first call for the response.
		return retry, stopErr
	}
	if attempt := stateOf(ctx).attempts; c.logger.Enabled(ctx, slog.LevelDebug) {
		willRetry := retry
		if retry && attempt > c.http.RetryMax {
			willRetry, reason = false, reason+"; retries used up" // retryablehttp stops here
		}
		c.logger.DebugContext(ctx, "prefactor: retry decision",
			slog.Bool("retry", willRetry),
			slog.String("reason", scrub(reason, c.token.Reveal())), // a transport error may quote the server
			slog.Int("attempt", attempt))
	}
	return retry, stopErr
}

// backoff is retryablehttp's Backoff hook. A 429 or 503 with Retry-After
// waits what the server asked (retryDecision has already refused waits over
// the limit); anything else waits min·2^attempt, capped at max, with the
// upper half of that range picked at random so clients do not retry in step.
func backoff(min, max time.Duration, attempt int, resp *http.Response) time.Duration {
	if resp != nil && (resp.StatusCode == http.StatusTooManyRequests || resp.StatusCode == http.StatusServiceUnavailable) {
		if wait, ok := parseRetryAfter(resp.Header.Get("Retry-After"), time.Now()); ok {
			return wait
		}
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

// giveUp is retryablehttp's ErrorHandler: it runs when the policy stops with
// an error or retries are used up. An HTTP status becomes the *APIError of
// the last response, not a bare "giving up" message.
func (c *Client) giveUp(resp *http.Response, err error, attempts int) (*http.Response, error) {
	if resp != nil {
		defer drainClose(resp.Body)
		if err == nil {
			return nil, c.newAPIError(resp, attempts)
		}
	}
	var apiErr *APIError
	if attempts > 1 && !errors.As(err, &apiErr) {
		return nil, fmt.Errorf("giving up after %d attempts: %w", attempts, err)
	}
	return nil, err
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
