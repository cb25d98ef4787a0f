package prefactor

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"runtime"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/jarcoal/httpmock"
)

func TestNewClientRejectsBadInput(t *testing.T) {
	tests := []struct {
		name  string
		token string
		opts  []Option
		want  string
	}{
		{"empty token", "", nil, "empty API token"},
		{"blank token", "  ", nil, "empty API token"},
		{"token with newline", "abc\ndef", nil, "line break"},
		{"empty base URL", "t", []Option{WithBaseURL("")}, "empty URL"},
		{"unparsable base URL", "t", []Option{WithBaseURL("https://exa mple.com/%zz")}, "base URL"},
		{"relative base URL", "t", []Option{WithBaseURL("/api")}, "scheme must be https"},
		{"ftp base URL", "t", []Option{WithBaseURL("ftp://example.com")}, "scheme must be https"},
		{"no host", "t", []Option{WithBaseURL("https://")}, "no host"},
		{"credentials in URL", "t", []Option{WithBaseURL("https://user:pw@example.com")}, "credentials"},
		{"query in URL", "t", []Option{WithBaseURL("https://example.com/?a=b")}, "query"},
		{"plain http off loopback", "t", []Option{WithBaseURL("http://api.example.com")}, "unencrypted"},
		{"nil http client", "t", []Option{WithHTTPClient(nil)}, "nil *http.Client"},
		{"negative retries", "t", []Option{WithMaxRetries(-1)}, "negative"},
		{"min wait above max", "t", []Option{WithRetryWait(2*time.Second, time.Second)}, "min <= max"},
		{"negative wait", "t", []Option{WithRetryWait(-time.Second, time.Second)}, "min <= max"},
		{"zero timeout", "t", []Option{WithTimeout(0)}, "not positive"},
		{"negative Retry-After limit", "t", []Option{WithRetryAfterLimit(-time.Second)}, "negative"},
		{"nil logger", "t", []Option{WithLogger(nil)}, "nil *slog.Logger"},
		{"user agent with newline", "t", []Option{WithUserAgent("a\r\nX-Evil: 1")}, "line break"},
		{"user agent with NUL", "t", []Option{WithUserAgent("app\x00/1")}, "control character"},
		{"user agent with DEL", "t", []Option{WithUserAgent("app\x7f")}, "control character"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c, err := NewClient(tt.token, tt.opts...)
			if err == nil {
				t.Fatalf("NewClient succeeded (%v), want error containing %q", c, tt.want)
			}
			if !errors.Is(err, ErrInvalidArgument) {
				t.Errorf("error %q does not match ErrInvalidArgument", err)
			}
			if !strings.Contains(err.Error(), tt.want) || !strings.HasPrefix(err.Error(), "prefactor: new client: ") {
				t.Errorf("error %q, want prefix %q and %q", err, "prefactor: new client: ", tt.want)
			}
		})
	}
}

func TestNewClientFromEnv(t *testing.T) {
	t.Setenv("PREFACTOR_API_TOKEN", "")
	t.Setenv("PREFACTOR_API_URL", "")
	if _, err := NewClientFromEnv(); err == nil || !strings.Contains(err.Error(), "PREFACTOR_API_TOKEN is not set") {
		t.Fatalf("without a token: err = %v", err)
	}

	t.Setenv("PREFACTOR_API_TOKEN", "env-token")
	c, err := NewClientFromEnv()
	if err != nil {
		t.Fatal(err)
	}
	if got := c.baseURL.String(); got != DefaultBaseURL+"/" {
		t.Errorf("base URL = %q, want the default", got)
	}

	t.Setenv("PREFACTOR_API_URL", "https://eu.example.com/prefactor")
	if c, err = NewClientFromEnv(); err != nil {
		t.Fatal(err)
	}
	if got := c.baseURL.String(); got != "https://eu.example.com/prefactor/" {
		t.Errorf("base URL from env = %q", got)
	}
	// An explicit option wins over the environment.
	if c, err = NewClientFromEnv(WithBaseURL("https://other.example.com")); err != nil {
		t.Fatal(err)
	}
	if got := c.baseURL.String(); got != "https://other.example.com/" {
		t.Errorf("base URL with option = %q", got)
	}
	if c.token.Reveal() != "env-token" {
		t.Error("token not taken from PREFACTOR_API_TOKEN")
	}
}

func TestWithHTTPClientSeesEveryAttempt(t *testing.T) {
	// httpmock activated on the caller's client, before and after NewClient:
	// the SDK must send every attempt, retries included, through it.
	for _, activateFirst := range []bool{true, false} {
		t.Run(fmt.Sprintf("activate before NewClient=%v", activateFirst), func(t *testing.T) {
			hc := &http.Client{}
			if activateFirst {
				httpmock.ActivateNonDefault(hc)
			}
			c, err := NewClient(testToken, WithHTTPClient(hc), WithRetryWait(time.Millisecond, time.Millisecond))
			if err != nil {
				t.Fatal(err)
			}
			if !activateFirst {
				httpmock.ActivateNonDefault(hc)
			}
			t.Cleanup(func() { httpmock.DeactivateAndReset() })
			calls := 0
			httpmock.RegisterResponder(http.MethodGet, DefaultBaseURL+"/api/v1/api_token",
				func(r *http.Request) (*http.Response, error) {
					calls++
					if calls == 1 {
						return httpmock.NewStringResponse(502, "bad gateway"), nil
					}
					return httpmock.NewStringResponse(200, listJSON(0, nil, "t1")), nil
				})
			p, err := c.APITokens.List(context.Background(), nil)
			if err != nil {
				t.Fatal(err)
			}
			if calls != 2 || len(p.Items) != 1 || p.Items[0].ID != "t1" {
				t.Errorf("calls = %d, items = %v; want 2 calls and token t1", calls, p.Items)
			}
		})
	}
}

func TestWithHTTPClientMockTransport(t *testing.T) {
	mock := httpmock.NewMockTransport()
	mock.RegisterResponder(http.MethodGet, "https://gw.example.com/prefactor/api/v1/api_token",
		httpmock.NewStringResponder(404, `{"status":"error","code":"not_found","message":"no such account"}`))
	c, err := NewClient(testToken, WithBaseURL("https://gw.example.com/prefactor/"), WithHTTPClient(&http.Client{Transport: mock}))
	if err != nil {
		t.Fatal(err)
	}
	_, err = c.APITokens.List(context.Background(), &ListAPITokensOptions{AccountID: "nope"})
	if !errors.Is(err, ErrNotFound) {
		t.Fatalf("err = %v, want ErrNotFound", err)
	}
	if mock.GetTotalCallCount() != 1 {
		t.Errorf("calls = %d, want 1 (404 is never retried)", mock.GetTotalCallCount())
	}
}

func TestClientNeverPrintsToken(t *testing.T) {
	c, err := NewClient(testToken)
	if err != nil {
		t.Fatal(err)
	}
	for _, f := range []string{"%v", "%+v", "%#v", "%s", "%d", "%x", "%q"} {
		noSecret(t, "fmt "+f+" of *Client", fmt.Sprintf(f, c))
		noSecret(t, "fmt "+f+" of Client", fmt.Sprintf(f, *c))
	}
	var buf bytes.Buffer
	slog.New(slog.NewJSONHandler(&buf, nil)).Info("client", "c", c, "v", *c)
	noSecret(t, "slog", buf.String())
	if !strings.Contains(buf.String(), "REDACTED") {
		t.Errorf("slog output %s does not show the redacted token", buf.String())
	}
}

func TestLoggingSilentByDefaultAndNeverShowsToken(t *testing.T) {
	quiet, _ := setup(t, func(w http.ResponseWriter, r *http.Request, _ int) { reply(w, 200, listJSON(0, nil)) })
	if quiet.logger.Enabled(context.Background(), slog.LevelError) {
		t.Error("default logger is enabled; it must be silent")
	}

	var buf bytes.Buffer
	logger := slog.New(slog.NewTextHandler(&buf, &slog.HandlerOptions{Level: slog.LevelDebug}))
	c, _ := setup(t, func(w http.ResponseWriter, r *http.Request, n int) {
		if n == 1 {
			reply(w, 503, `{"status":"error","code":"unexpected","message":"busy"}`)
			return
		}
		reply(w, 200, listJSON(0, nil))
	}, WithLogger(logger))
	if _, err := c.APITokens.List(context.Background(), &ListAPITokensOptions{AccountID: "acc1"}); err != nil {
		t.Fatal(err)
	}
	out := buf.String()
	noSecret(t, "log", out)
	for _, want := range []string{"sending request", "attempt=2", "retry=true", "reason=\"status 503\"", "account_id=acc1"} {
		if !strings.Contains(out, want) {
			t.Errorf("log lacks %q:\n%s", want, out)
		}
	}
}

// holdUntil answers each ping once n requests have arrived, so that a
// client opens n connections; a client that never sends n fails the test
// after 5 s.
func holdUntil(n int) func(w http.ResponseWriter, r *http.Request, _ int) {
	var arrived atomic.Int32
	all := make(chan struct{})
	return func(w http.ResponseWriter, r *http.Request, _ int) {
		if arrived.Add(1) == int32(n) {
			close(all)
		}
		select {
		case <-all:
		case <-time.After(5 * time.Second): // bounded: a client that never opens n fails below
		}
		reply(w, http.StatusOK, `{"status":"success"}`)
	}
}

// pingAtOnce sends n pings at the same time and waits for them.
func pingAtOnce(t *testing.T, c *Client, n int) {
	t.Helper()
	var wg sync.WaitGroup
	errs := make(chan error, n)
	for range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			errs <- c.Ping(context.Background())
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		if err != nil {
			t.Fatal(err)
		}
	}
}

// CloseIdleConnections ends every goroutine the client's own transport
// started: the count comes back to what it was before the client was made.
// The client still works afterwards.
func TestCloseIdleConnectionsOwnTransport(t *testing.T) {
	const conns = 4
	srv := newTestServer(t, holdUntil(conns))
	before := runtime.NumGoroutine()
	c, err := NewClient(testToken, WithBaseURL(srv.URL+basePrefix))
	if err != nil {
		t.Fatal(err)
	}
	pingAtOnce(t, c, conns)
	if _, open := srv.conns.counts(); open != conns {
		t.Fatalf("server has %d connections open, want %d idle ones", open, conns)
	}
	if after := runtime.NumGoroutine(); after <= before {
		t.Fatalf("%d goroutines before the client, %d with %d idle connections: nothing to close", before, after, conns)
	}
	c.CloseIdleConnections()
	waitGoroutines(t, before)
	srv.conns.waitClosed(t, 5*time.Second) // the server sees the closes a little later
	if err := c.Ping(context.Background()); err != nil {
		t.Errorf("Ping after CloseIdleConnections: %v", err)
	}
	c.CloseIdleConnections()
}

// With WithHTTPClient, CloseIdleConnections closes the caller's client's
// idle connections.
func TestCloseIdleConnectionsCallersClient(t *testing.T) {
	const conns = 3
	srv := newTestServer(t, holdUntil(conns))
	hc := &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: conns}}
	c, err := NewClient(testToken, WithBaseURL(srv.URL+basePrefix), WithHTTPClient(hc))
	if err != nil {
		t.Fatal(err)
	}
	pingAtOnce(t, c, conns)
	if _, open := srv.conns.counts(); open != conns {
		t.Fatalf("server has %d connections open, want %d idle ones", open, conns)
	}
	c.CloseIdleConnections()
	srv.conns.waitClosed(t, 2*time.Second)
}
