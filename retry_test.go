package prefactor

import (
	"bytes"
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"math"
	"net/http"
	"net/url"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/jarcoal/httpmock"
)

// TestRetryDecision runs the policy table of retryDecision (and the README)
// row by row.
func TestRetryDecision(t *testing.T) {
	c, err := NewClient("tok", WithRetryAfterLimit(time.Minute))
	if err != nil {
		t.Fatal(err)
	}
	get := &http.Request{Method: http.MethodGet, URL: &url.URL{Path: "/api/v1/api_token"}}
	resp := func(status int, retryAfter string) *http.Response {
		r := &http.Response{StatusCode: status, Header: http.Header{}, Request: get}
		if retryAfter != "" {
			r.Header.Set("Retry-After", retryAfter)
		}
		return r
	}
	urlErr := func(err error) error { return &url.Error{Op: "Get", URL: "https://h/api/v1/api_token", Err: err} }
	cancelled, cancel := context.WithCancel(context.Background())
	cancel()
	future := time.Now().Add(2 * time.Hour).UTC().Format(http.TimeFormat)

	shortDeadline, cancelShort := context.WithTimeout(context.Background(), 1100*time.Millisecond)
	defer cancelShort()
	longDeadline, cancelLong := context.WithTimeout(context.Background(), 1300*time.Millisecond)
	defer cancelLong()
	for _, tc := range []struct {
		name   string
		ctx    context.Context
		resp   *http.Response
		err    error
		retry  bool
		reason string // a substring of the logged reason
	}{
		{name: "context cancelled", ctx: cancelled, resp: resp(503, ""), retry: false, reason: "context done"},
		{name: "429, no Retry-After", resp: resp(429, ""), retry: true, reason: "status 429"},
		{name: "429, Retry-After under the limit", resp: resp(429, "60"), retry: true, reason: "status 429"},
		{name: "429, Retry-After over the limit", resp: resp(429, "61"), retry: false, reason: "asks to wait 1m1s, over the 1m0s limit"},
		{name: "503, HTTP-date over the limit", resp: resp(503, future), retry: false, reason: "over the 1m0s limit"},
		{name: "503, HTTP-date in the past", resp: resp(503, "Sat, 01 Jan 2000 00:00:00 GMT"), retry: true, reason: "status 503"},
		{name: "503, unreadable Retry-After", resp: resp(503, "soon"), retry: true, reason: "status 503"},
		{name: "500", resp: resp(500, ""), retry: true, reason: "status 500"},
		{name: "502", resp: resp(502, ""), retry: true, reason: "status 502"},
		{name: "504", resp: resp(504, ""), retry: true, reason: "status 504"},
		{name: "599", resp: resp(599, ""), retry: true, reason: "status 599"},
		{name: "500 with Retry-After over the limit still backs off", resp: resp(500, "3600"), retry: true, reason: "status 500"},
		{name: "501", resp: resp(501, ""), retry: false, reason: "status 501 is final"},
		{name: "200 decoded", resp: resp(200, ""), retry: false, reason: "success"},
		{name: "304", resp: resp(304, ""), retry: false, reason: "status 304 is final"},
		{name: "400", resp: resp(400, ""), retry: false, reason: "status 400 is final"},
		{name: "404", resp: resp(404, ""), retry: false, reason: "status 404 is final"},
		{name: "409", resp: resp(409, ""), retry: false, reason: "status 409 is final"},
		{name: "429, Retry-After 1 that jitter could carry past a deadline 1.1 s away", ctx: shortDeadline, resp: resp(429, "1"), retry: false, reason: "could outlast the context's deadline"},
		{name: "429, Retry-After 1, deadline 1.3 s away", ctx: longDeadline, resp: resp(429, "1"), retry: true, reason: "status 429"},
		{name: "connection reset", err: urlErr(syscall.ECONNRESET), retry: true, reason: "transport error"},
		{name: "connection refused", err: urlErr(syscall.ECONNREFUSED), retry: true, reason: "transport error"},
		{name: "TLS certificate", err: urlErr(&tls.CertificateVerificationError{Err: x509.UnknownAuthorityError{}}), retry: false, reason: "permanent transport error"},
		{name: "redirect loop", resp: resp(302, ""), err: urlErr(errors.New("stopped after 10 redirects")), retry: false, reason: "redirect refused"},
		{name: "caller's redirect policy refused", resp: resp(302, ""), err: urlErr(errors.New("no redirects, please")), retry: false, reason: "redirect refused"},
		{name: "body cut short", resp: resp(200, ""), err: &readError{err: syscall.ECONNRESET}, retry: true, reason: "reading response body"},
		{name: "body ends inside the JSON", resp: resp(200, ""), err: &readError{err: io.ErrUnexpectedEOF}, retry: true, reason: "reading response body"},
		{name: "body over 16 MiB", resp: resp(200, ""), err: fmt.Errorf("%w: body over 16 MiB", ErrResponseTooLarge), retry: false, reason: "too large"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			ctx := tc.ctx
			if ctx == nil {
				ctx = context.Background()
			}
			d := c.retryDecision(ctx, tc.resp, tc.err)
			if d.retry != tc.retry || !strings.Contains(d.reason, tc.reason) {
				t.Errorf("retryDecision = %v, %q; want %v, %q", d.retry, d.reason, tc.retry, tc.reason)
			}
		})
	}
}

// TestBackoff: Retry-After sets the wait on 429 and 503, plus up to a fifth
// more; otherwise the wait doubles within [min, max] and stays in the upper
// half of each step.
func TestBackoff(t *testing.T) {
	min, max := 100*time.Millisecond, 2*time.Second
	withRA := func(status int, v string) *http.Response {
		return &http.Response{StatusCode: status, Header: http.Header{"Retry-After": {v}}}
	}
	var spread bool
	for range 200 {
		got := backoff(min, max, 0, withRA(429, "7"))
		if got < 7*time.Second || got > 7*time.Second+7*time.Second/5 {
			t.Fatalf("429 Retry-After 7: wait %s; want 7s..8.4s (the server's, even above max, never shorter)", got)
		}
		spread = spread || got != 7*time.Second
	}
	if !spread {
		t.Error("200 waits for Retry-After 7 were all exactly 7s: no jitter")
	}
	if got := backoff(min, max, 0, withRA(503, "Sat, 01 Jan 2000 00:00:00 GMT")); got != 0 {
		t.Errorf("503 Retry-After in the past: wait %s; want 0", got)
	}
	if got := backoff(min, max, 0, withRA(429, "99999999999999999999")); got != math.MaxInt64 {
		t.Errorf("429 Retry-After beyond int64: wait %s; want the largest Duration, no overflow", got)
	}
	for attempt := range 70 {
		want := max
		if attempt < 5 {
			want = min << attempt
		}
		for _, resp := range []*http.Response{nil, withRA(500, "7"), withRA(429, "soon")} {
			got := backoff(min, max, attempt, resp)
			if got < want/2 || got > want {
				t.Fatalf("attempt %d: wait %s; want %s..%s", attempt, got, want/2, want)
			}
		}
	}
	if got := backoff(0, 0, 3, nil); got != 0 {
		t.Errorf("zero min: wait %s; want 0", got)
	}
	if got := backoff(time.Nanosecond, time.Duration(math.MaxInt64), 80, nil); got < time.Duration(math.MaxInt64/2) {
		t.Errorf("huge max: wait %s; want the upper half of max", got)
	}
}

// TestParseRetryAfter covers both forms of the header.
func TestParseRetryAfter(t *testing.T) {
	now := time.Date(2025, 6, 1, 12, 0, 0, 0, time.UTC)
	for _, tc := range []struct {
		in   string
		want time.Duration
		ok   bool
	}{
		{"", 0, false},
		{"0", 0, true},
		{"120", 2 * time.Minute, true},
		{" 5 ", 5 * time.Second, true},
		{"007", 7 * time.Second, true},
		{"9223372036", 9223372036 * time.Second, true},
		{"9223372037", math.MaxInt64, true}, // would overflow Duration
		{"99999999999999999999999", math.MaxInt64, true},
		{"99999999999999999999999x", 0, false},
		{"-1", 0, false},
		{"+1", 0, false},
		{"1.5", 0, false},
		{"1e3", 0, false},
		{"soon", 0, false},
		{"Sun, 01 Jun 2025 12:00:30 GMT", 30 * time.Second, true},             // IMF-fixdate
		{"Sunday, 01-Jun-25 12:01:00 GMT", time.Minute, true},                 // RFC 850
		{"Sun Jun  1 12:00:10 2025", 10 * time.Second, true},                  // asctime
		{"Sun, 01 Jun 2025 11:00:00 GMT", 0, true},                            // past: no wait
		{"Fri, 31 Dec 9999 23:59:59 GMT", time.Duration(math.MaxInt64), true}, // far future saturates
		{"Sun, 01 Jun 2025 12:00:30", 0, false},
	} {
		got, ok := parseRetryAfter(tc.in, now)
		if got != tc.want || ok != tc.ok {
			t.Errorf("parseRetryAfter(%q) = %s, %v; want %s, %v", tc.in, got, ok, tc.want, tc.ok)
		}
	}
}

func TestRetriesRetryableStatusesThenSucceeds(t *testing.T) {
	for _, status := range []int{429, 500, 502, 503, 504} {
		t.Run(http.StatusText(status), func(t *testing.T) {
			c, rec := setup(t, func(w http.ResponseWriter, _ *http.Request, n int) {
				if n <= 2 {
					reply(w, status, `{"status":"error","code":"unexpected","message":"try later"}`)
					return
				}
				reply(w, http.StatusOK, listJSON(0, nil, "tok_a"))
			})
			p, err := c.APITokens.List(context.Background(), nil)
			if err != nil {
				t.Fatal(err)
			}
			if rec.count() != 3 || p.Items[0].ID != "tok_a" {
				t.Errorf("%d requests, items %v; want 3 and [tok_a]", rec.count(), p.Items)
			}
		})
	}
}

func TestNeverRetriesFinalStatuses(t *testing.T) {
	for _, status := range []int{400, 401, 403, 404, 409, 422, 501} {
		t.Run(http.StatusText(status), func(t *testing.T) {
			c, rec := setup(t, func(w http.ResponseWriter, _ *http.Request, _ int) {
				reply(w, status, `{"status":"error","code":"bad_request","message":"no"}`)
			})
			_, err := c.APITokens.List(context.Background(), nil)
			if e := asAPIError(t, err); e.StatusCode != status || e.Attempts != 1 {
				t.Errorf("APIError = %+v", e)
			}
			if rec.count() != 1 {
				t.Errorf("%d requests, want 1", rec.count())
			}
		})
	}
}

func TestExhaustedRetriesReturnLastAPIError(t *testing.T) {
	for _, tc := range []struct {
		retries, wantAttempts int
	}{{0, 1}, {1, 2}, {3, 4}} {
		c, rec := setup(t, func(w http.ResponseWriter, _ *http.Request, n int) {
			w.Header().Set("X-Request-Id", "req-"+strings.Repeat("x", n))
			reply(w, http.StatusBadGateway, `{"status":"error","code":"unexpected","message":"upstream down"}`)
		}, WithMaxRetries(tc.retries))
		_, err := c.APITokens.List(context.Background(), nil)
		e := asAPIError(t, err)
		if e.StatusCode != 502 || e.Code != CodeUnexpected || e.Message != "upstream down" || e.Attempts != tc.wantAttempts {
			t.Errorf("retries %d: APIError = %+v", tc.retries, e)
		}
		if e.RequestID != "req-"+strings.Repeat("x", tc.wantAttempts) {
			t.Errorf("retries %d: RequestID = %q; want the last response's", tc.retries, e.RequestID)
		}
		if rec.count() != tc.wantAttempts {
			t.Errorf("retries %d: %d requests, want %d", tc.retries, rec.count(), tc.wantAttempts)
		}
		if strings.Contains(err.Error(), "giving up") {
			t.Errorf("error %q is retryablehttp's text, not the API error", err)
		}
	}
}

func TestRetryAfterOverLimitReturnsAtOnce(t *testing.T) {
	for _, status := range []int{429, 503} {
		c, rec := setup(t, func(w http.ResponseWriter, _ *http.Request, _ int) {
			w.Header().Set("Retry-After", "120")
			reply(w, status, `{"status":"error","code":"unexpected","message":"come back later"}`)
		}, WithRetryAfterLimit(time.Minute))
		_, err := c.APITokens.List(context.Background(), nil)
		e := asAPIError(t, err)
		if e.StatusCode != status || e.RetryAfter != 2*time.Minute || e.Attempts != 1 || rec.count() != 1 {
			t.Errorf("status %d: APIError = %+v after %d requests; want RetryAfter 2m, 1 attempt", status, e, rec.count())
		}
		if !strings.Contains(e.Error(), "retry after 2m0s") {
			t.Errorf("error %q does not mention the wait", e)
		}
	}
}

func TestDeadlineStopsBeforeSending(t *testing.T) {
	c, rec := setup(t, apiReply)
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	_, err := c.APITokens.List(ctx, nil)
	if !errors.Is(err, context.Canceled) || !strings.HasPrefix(err.Error(), "prefactor: list API tokens: ") {
		t.Errorf("err = %v, want context.Canceled naming the operation", err)
	}
	if rec.count() != 0 {
		t.Errorf("%d requests with a cancelled context", rec.count())
	}
}

func TestTransportErrorsAreRetried(t *testing.T) {
	mock := httpmock.NewMockTransport()
	calls := 0
	mock.RegisterResponder(http.MethodGet, DefaultBaseURL+"/api/v1/api_token", func(r *http.Request) (*http.Response, error) {
		calls++
		if calls < 3 {
			return nil, errors.New("connection reset by peer")
		}
		return httpmock.NewStringResponse(200, listJSON(0, nil, "x")), nil
	})
	c, err := NewClient(testToken, WithHTTPClient(&http.Client{Transport: mock}), WithRetryWait(time.Millisecond, time.Millisecond))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := c.APITokens.List(context.Background(), nil); err != nil || calls != 3 {
		t.Fatalf("err = %v after %d calls; want success after 3", err, calls)
	}

	calls = -100 // always fail from here on
	_, err = c.APITokens.List(context.Background(), nil)
	if err == nil || !strings.Contains(err.Error(), "giving up after 4 attempts") || !strings.Contains(err.Error(), "connection reset by peer") {
		t.Errorf("err = %v, want the transport error after 4 attempts", err)
	}
	var apiErr *APIError
	if errors.As(err, &apiErr) {
		t.Error("a transport error must not be an *APIError")
	}
	noSecret(t, "error", err.Error())
}

// TestNeverRetriedFailureSaysSo: after two 503s, a 2xx whose body is not
// the API's JSON ends the call at once; its error must not read as if
// retries ran out.
func TestNeverRetriedFailureSaysSo(t *testing.T) {
	c, rec := setup(t, func(w http.ResponseWriter, r *http.Request, n int) {
		if n < 3 {
			reply(w, 503, `{"status":"error","code":"unexpected","message":"busy"}`)
			return
		}
		reply(w, 200, `<html>not JSON</html>`)
	})
	_, err := c.APITokens.Get(context.Background(), "tok_1")
	if err == nil || !strings.Contains(err.Error(), "decoding response") || strings.Contains(err.Error(), "giving up") || rec.count() != 3 {
		t.Errorf("err = %v after %d requests; want a decoding error after 3, not 'giving up'", err, rec.count())
	}
}

func TestRetryDecisionLogLines(t *testing.T) {
	for _, tc := range []struct {
		name   string
		status int
		want   []string // the retry= part of each decision line, in order
	}{
		{"retries used up", 503, []string{"retry=true", "retry=true"}},
		{"final status logged once", 404, []string{"retry=false"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var buf bytes.Buffer
			logger := slog.New(slog.NewTextHandler(&buf, &slog.HandlerOptions{Level: slog.LevelDebug}))
			c, _ := setup(t, func(w http.ResponseWriter, _ *http.Request, n int) {
				if n <= 2 {
					reply(w, tc.status, `{"status":"error","code":"unexpected","message":"m"}`)
					return
				}
				reply(w, http.StatusOK, listJSON(0, nil, "tok_a"))
			}, WithLogger(logger), WithMaxRetries(1))
			if _, err := c.APITokens.List(context.Background(), nil); err == nil {
				t.Fatal("List succeeded")
			}
			var got []string
			for _, line := range strings.Split(buf.String(), "\n") {
				if strings.Contains(line, "retry decision") {
					got = append(got, strings.Fields(line[strings.Index(line, "retry="):])[0])
				}
			}
			if fmt.Sprint(got) != fmt.Sprint(tc.want) {
				t.Errorf("decision lines %v, want %v:\n%s", got, tc.want, buf.String())
			}
			if used := strings.Contains(buf.String(), `giving up: retries used up" attempts=2`); used != (tc.status == 503) {
				t.Errorf("log says retries are used up: %v; want %v:\n%s", used, tc.status == 503, buf.String())
			}
		})
	}
}

// TestCancelledCallCutsTheLastAttempt: a call whose context ends quotes
// its last attempt's failure, cut like any text a server could make long:
// here a URL with an ID of 20,000 characters.
func TestCancelledCallCutsTheLastAttempt(t *testing.T) {
	c, _ := setup(t, func(w http.ResponseWriter, r *http.Request, _ int) { <-r.Context().Done() })
	ctx, cancel := context.WithTimeout(context.Background(), 100*time.Millisecond)
	defer cancel()
	_, err := c.APITokens.Get(ctx, strings.Repeat("x", 20_000))
	if !errors.Is(err, context.DeadlineExceeded) || len(err.Error()) > 1000 {
		t.Errorf("error of %d bytes, %.120q…; want context.DeadlineExceeded in at most 1000", len(err.Error()), err)
	}
}
