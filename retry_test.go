package prefactor

import (
	"context"
	"errors"
	"log/slog"
	"math"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/jarcoal/httpmock"
)

func TestRetriesRetryableStatusesThenSucceeds(t *testing.T) {
	for _, status := range []int{429, 500, 502, 503, 504} {
		t.Run(http.StatusText(status), func(t *testing.T) {
			c, rec := setup(t, func(w http.ResponseWriter, r *http.Request, n int) {
				if n < 3 {
					reply(w, status, `{"status":"error","code":"unexpected","message":"try later"}`)
					return
				}
				reply(w, 200, page(nil, "ok"))
			})
			p, err := c.APITokens.List(context.Background(), nil)
			if err != nil {
				t.Fatal(err)
			}
			if rec.count() != 3 || p.Items[0].ID != "ok" {
				t.Errorf("%d requests, items %v; want 3 and [ok]", rec.count(), p.Items)
			}
		})
	}
}

func TestNeverRetriesFinalStatuses(t *testing.T) {
	for _, status := range []int{400, 401, 403, 404, 409, 422, 501} {
		t.Run(http.StatusText(status), func(t *testing.T) {
			c, rec := setup(t, func(w http.ResponseWriter, r *http.Request, _ int) {
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
		c, rec := setup(t, func(w http.ResponseWriter, r *http.Request, n int) {
			w.Header().Set("X-Request-Id", "req-"+strings.Repeat("x", n))
			reply(w, 502, `{"status":"error","code":"unexpected","message":"upstream down"}`)
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

func TestRetryAfterIsHonouredBeyondBackoffMax(t *testing.T) {
	// Backoff would wait at most 2ms; the server asks for 1s.
	c, rec := setup(t, func(w http.ResponseWriter, r *http.Request, n int) {
		if n == 1 {
			w.Header().Set("Retry-After", "1")
			reply(w, 429, `{"status":"error","code":"unexpected","message":"slow down"}`)
			return
		}
		reply(w, 200, page(nil))
	})
	start := time.Now()
	if _, err := c.APITokens.List(context.Background(), nil); err != nil {
		t.Fatal(err)
	}
	if elapsed := time.Since(start); elapsed < time.Second || elapsed > 10*time.Second {
		t.Errorf("took %s, want about the 1s Retry-After", elapsed)
	}
	if rec.count() != 2 {
		t.Errorf("%d requests, want 2", rec.count())
	}
}

func TestRetryAfterOverLimitReturnsAtOnce(t *testing.T) {
	for _, status := range []int{429, 503} {
		c, rec := setup(t, func(w http.ResponseWriter, r *http.Request, _ int) {
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

// signalHandler is a slog handler that closes ch at the first record whose
// message is msg.
type signalHandler struct {
	msg string
	ch  chan struct{}
}

func (h *signalHandler) Enabled(context.Context, slog.Level) bool { return true }
func (h *signalHandler) Handle(_ context.Context, r slog.Record) error {
	if r.Message == h.msg {
		select {
		case <-h.ch:
		default:
			close(h.ch)
		}
	}
	return nil
}
func (h *signalHandler) WithAttrs([]slog.Attr) slog.Handler { return h }
func (h *signalHandler) WithGroup(string) slog.Handler      { return h }

func TestCancelInterruptsRetryWait(t *testing.T) {
	decided := &signalHandler{msg: "prefactor: retry decision", ch: make(chan struct{})}
	c, rec := setup(t, func(w http.ResponseWriter, r *http.Request, _ int) {
		w.Header().Set("Retry-After", "30") // within the limit: the client would wait 30s
		reply(w, 503, `{"status":"error","code":"unexpected","message":"busy"}`)
	}, WithLogger(slog.New(decided)))
	ctx, cancel := context.WithCancel(context.Background())
	go func() {
		<-decided.ch // the client has decided to wait
		cancel()
	}()
	start := time.Now()
	_, err := c.APITokens.List(ctx, nil)
	if !errors.Is(err, context.Canceled) {
		t.Fatalf("err = %v, want context.Canceled", err)
	}
	if elapsed := time.Since(start); elapsed > 5*time.Second {
		t.Errorf("took %s; cancel must interrupt the 30s wait", elapsed)
	}
	if rec.count() != 1 {
		t.Errorf("%d requests, want 1", rec.count())
	}
	noSecret(t, "error", err.Error())
}

func TestDeadlineStopsBeforeSending(t *testing.T) {
	c, rec := setup(t, func(w http.ResponseWriter, r *http.Request, _ int) { reply(w, 200, page(nil)) })
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
		return httpmock.NewStringResponse(200, page(nil, "x")), nil
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

func TestMutationWithoutKeyIsNotRetried(t *testing.T) {
	c, rec := setup(t, func(w http.ResponseWriter, r *http.Request, _ int) {
		reply(w, 503, `{"status":"error","code":"unexpected","message":"busy"}`)
	})
	err := c.do(context.Background(), &apiRequest{op: "test", method: http.MethodPost, path: "api/v1/api_token", body: map[string]string{"a": "b"}}, nil)
	if e := asAPIError(t, err); e.StatusCode != 503 || rec.count() != 1 {
		t.Errorf("APIError %+v after %d requests; want 503 after 1", e, rec.count())
	}
}

func TestParseRetryAfter(t *testing.T) {
	now := time.Date(2026, 11, 27, 12, 0, 0, 0, time.UTC)
	tests := []struct {
		in     string
		want   time.Duration
		wantOK bool
	}{
		{"", 0, false},
		{"0", 0, true},
		{"7", 7 * time.Second, true},
		{" 120 ", 2 * time.Minute, true},
		{"Fri, 27 Nov 2026 12:00:30 GMT", 30 * time.Second, true},
		{"Friday, 27-Nov-26 12:01:00 GMT", time.Minute, true},
		{"Fri Nov 27 12:00:05 2026", 5 * time.Second, true},
		{"Thu, 26 Nov 2026 12:00:00 GMT", 0, true}, // in the past: no wait
		{"99999999999999999999999", math.MaxInt64, true},
		{"9223372037", math.MaxInt64, true},
		{"-5", 0, false},
		{"1.5", 0, false},
		{"soon", 0, false},
	}
	for _, tt := range tests {
		got, ok := parseRetryAfter(tt.in, now)
		if got != tt.want || ok != tt.wantOK {
			t.Errorf("parseRetryAfter(%q) = %v, %v; want %v, %v", tt.in, got, ok, tt.want, tt.wantOK)
		}
	}
}

func TestBackoffBounds(t *testing.T) {
	min, max := 100*time.Millisecond, time.Second
	for attempt, ceiling := range []time.Duration{100, 200, 400, 800, 1000, 1000} {
		ceiling *= time.Millisecond
		for range 50 {
			d := backoff(min, max, attempt, nil)
			if d < ceiling/2 || d > ceiling {
				t.Fatalf("attempt %d: wait %s outside [%s, %s]", attempt, d, ceiling/2, ceiling)
			}
		}
	}
	if d := backoff(min, max, 1000, nil); d < max/2 || d > max {
		t.Errorf("huge attempt: wait %s", d)
	}
	if d := backoff(0, 0, 3, nil); d != 0 {
		t.Errorf("zero bounds: wait %s", d)
	}
	resp := &http.Response{StatusCode: 503, Header: http.Header{"Retry-After": {"45"}}}
	if d := backoff(min, max, 0, resp); d != 45*time.Second {
		t.Errorf("Retry-After 45 on 503: wait %s", d)
	}
	resp.StatusCode = 500
	if d := backoff(min, max, 0, resp); d > min {
		t.Errorf("Retry-After on 500 must be ignored: wait %s", d)
	}
}
