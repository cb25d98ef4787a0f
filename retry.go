package prefactor

import (
	"context"
	"errors"
	"fmt"
	"math"
	"math/rand/v2"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/hashicorp/go-retryablehttp"
)

// decision is what retryDecision makes of one attempt.
type decision struct {
	retry  bool
	wait   time.Duration // before the next attempt, when retry
	reason string        // for the debug log
}

// retryDecision is the whole retry policy: given what one attempt of a
// request produced (resp, and err as request.go's check classified it), it
// says whether to try again, after how long, and why. In order:
//
//	what happened                                   decision
//	context cancelled or past its deadline          stop, with the context's error
//	2xx decoded, or a body over the limits          stop
//	transport error net/http cannot get past        stop
//	  (bad certificate, scheme, too many redirects)
//	request not idempotent (mutation without key)   stop
//	transport error the server may not have seen    retry, after backoff
//	body cut short, or ending inside the JSON       retry, after backoff
//	429 or 503 whose Retry-After exceeds the limit  stop, *APIError with RetryAfter
//	  or ends after the context's deadline
//	429, 500, 502, 503, 504 and other 5xx but 501   retry, after Retry-After (plus up
//	                                                to a fifth) or backoff
//	anything else (3xx, 4xx, 501, malformed JSON)   stop
//
// attempt counts from 0 for the first attempt.
func (c *Client) retryDecision(ctx context.Context, idempotent bool, attempt int, resp *http.Response, err error) decision {
	if ctx.Err() != nil {
		return decision{reason: "context done"}
	}
	if err == nil {
		return decision{reason: "success"}
	}
	var apiErr *APIError
	var readErr *readError
	var urlErr *url.Error
	switch {
	case errors.As(err, &apiErr):
	case errors.As(err, &readErr):
		if !idempotent {
			return decision{reason: "body incomplete; request not idempotent"}
		}
		return decision{retry: true, wait: c.backoff(attempt, nil), reason: readErr.Error()}
	case errors.As(err, &urlErr):
		// From http.Client.Do. A redirect policy that refused to follow
		// (ours after 10 hops, or the caller's) comes with the redirect
		// response: that answer would not change.
		if resp != nil {
			return decision{reason: "redirect refused: " + err.Error()}
		}
		if ok, _ := retryablehttp.DefaultRetryPolicy(ctx, nil, err); !ok {
			return decision{reason: "permanent transport error"}
		}
		if !idempotent {
			return decision{reason: "transport error; request not idempotent"}
		}
		return decision{retry: true, wait: c.backoff(attempt, nil), reason: "transport error: " + err.Error()}
	default: // a body over the limits, or a 2xx body that did not decode
		return decision{reason: err.Error()}
	}

	status := apiErr.StatusCode
	if status != http.StatusTooManyRequests && (status < 500 || status == http.StatusNotImplemented) {
		return decision{reason: fmt.Sprintf("status %d is final", status)}
	}
	wait := c.backoff(attempt, resp)
	if asked, ok := retryAfter(resp); ok {
		if asked > c.retryAfterLimit {
			return decision{reason: fmt.Sprintf("status %d asks to wait %s, over the %s limit", status, asked, c.retryAfterLimit)}
		}
		if dl, ok := ctx.Deadline(); ok && time.Until(dl) <= wait {
			return decision{reason: fmt.Sprintf("status %d asks to wait %s, past the context's deadline", status, asked)}
		}
	}
	if !idempotent {
		return decision{reason: fmt.Sprintf("status %d; request not idempotent", status)}
	}
	return decision{retry: true, wait: wait, reason: fmt.Sprintf("status %d", status)}
}

// backoff is the wait before the attempt after attempt (0 for the first).
// A 429 or 503 with Retry-After waits what the server asked plus up to a
// fifth more, so clients the server throttled together do not come back
// together; anything else waits min·2^attempt, capped at max, with the
// upper half of that range picked at random. The wait is never shorter
// than the server asked.
func (c *Client) backoff(attempt int, resp *http.Response) time.Duration {
	if wait, ok := retryAfter(resp); ok {
		return retryAfterJitter(wait)
	}
	min, max := c.retryWaitMin, c.retryWaitMax
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

// retryAfterJitter returns a wait of at least d and at most d + d/5, picked
// at random, so that clients told the same Retry-After do not come back at
// the same moment. d <= 0 gives 0.
func retryAfterJitter(d time.Duration) time.Duration {
	if d <= 0 {
		return 0
	}
	extra := d / 5
	if d > math.MaxInt64-extra {
		return d
	}
	return d + rand.N(extra+1)
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
