package prefactor_test

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"strings"
	"testing"
	"time"

	prefactor "github.com/prefactor-sdk/prefactor-go"
	"github.com/prefactor-sdk/prefactor-go/prefactortest"
)

func TestRetriesRetryableStatusesThenSucceeds(t *testing.T) {
	for _, status := range []int{429, 500, 502, 503, 504} {
		t.Run(http.StatusText(status), func(t *testing.T) {
			srv, ids := newFake(t, 1)
			srv.FailNext(2, prefactortest.Fault{Status: status, Code: prefactor.CodeUnexpected, Message: "try later"})
			p, err := srv.Client().APITokens.List(context.Background(), nil)
			if err != nil {
				t.Fatal(err)
			}
			if srv.RequestCount() != 3 || p.Items[0].ID != ids[0] {
				t.Errorf("%d requests, items %v; want 3 and [%s]", srv.RequestCount(), p.Items, ids[0])
			}
		})
	}
}

func TestNeverRetriesFinalStatuses(t *testing.T) {
	for _, status := range []int{400, 401, 403, 404, 409, 422, 501} {
		t.Run(http.StatusText(status), func(t *testing.T) {
			srv := prefactortest.NewServer(t)
			srv.FailNext(1, prefactortest.Fault{Status: status, Code: prefactor.CodeBadRequest, Message: "no"})
			_, err := srv.Client().APITokens.List(context.Background(), nil)
			if e := asAPIError(t, err); e.StatusCode != status || e.Attempts != 1 {
				t.Errorf("APIError = %+v", e)
			}
			if srv.RequestCount() != 1 {
				t.Errorf("%d requests, want 1", srv.RequestCount())
			}
		})
	}
}

func TestExhaustedRetriesReturnLastAPIError(t *testing.T) {
	for _, tc := range []struct {
		retries, wantAttempts int
	}{{0, 1}, {1, 2}, {3, 4}} {
		srv := prefactortest.NewServer(t)
		for n := 1; n <= tc.wantAttempts; n++ {
			srv.FailNext(1, prefactortest.Fault{Status: 502, Code: prefactor.CodeUnexpected, Message: "upstream down",
				Header: http.Header{"X-Request-Id": {"req-" + strings.Repeat("x", n)}}})
		}
		_, err := srv.Client(prefactor.WithMaxRetries(tc.retries)).APITokens.List(context.Background(), nil)
		e := asAPIError(t, err)
		if e.StatusCode != 502 || e.Code != prefactor.CodeUnexpected || e.Message != "upstream down" || e.Attempts != tc.wantAttempts {
			t.Errorf("retries %d: APIError = %+v", tc.retries, e)
		}
		if e.RequestID != "req-"+strings.Repeat("x", tc.wantAttempts) {
			t.Errorf("retries %d: RequestID = %q; want the last response's", tc.retries, e.RequestID)
		}
		if srv.RequestCount() != tc.wantAttempts {
			t.Errorf("retries %d: %d requests, want %d", tc.retries, srv.RequestCount(), tc.wantAttempts)
		}
		if strings.Contains(err.Error(), "giving up") {
			t.Errorf("error %q is retryablehttp's text, not the API error", err)
		}
	}
}

func TestRetryAfterOverLimitReturnsAtOnce(t *testing.T) {
	for _, status := range []int{429, 503} {
		srv := prefactortest.NewServer(t)
		srv.FailNext(1, prefactortest.Fault{Status: status, Code: prefactor.CodeUnexpected, Message: "come back later", RetryAfter: 120 * time.Second})
		_, err := srv.Client(prefactor.WithRetryAfterLimit(time.Minute)).APITokens.List(context.Background(), nil)
		e := asAPIError(t, err)
		if e.StatusCode != status || e.RetryAfter != 2*time.Minute || e.Attempts != 1 || srv.RequestCount() != 1 {
			t.Errorf("status %d: APIError = %+v after %d requests; want RetryAfter 2m, 1 attempt", status, e, srv.RequestCount())
		}
		if !strings.Contains(e.Error(), "retry after 2m0s") {
			t.Errorf("error %q does not mention the wait", e)
		}
	}
}

func TestDeadlineStopsBeforeSending(t *testing.T) {
	srv := prefactortest.NewServer(t)
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	_, err := srv.Client().APITokens.List(ctx, nil)
	if !errors.Is(err, context.Canceled) || !strings.HasPrefix(err.Error(), "prefactor: list API tokens: ") {
		t.Errorf("err = %v, want context.Canceled naming the operation", err)
	}
	if srv.RequestCount() != 0 {
		t.Errorf("%d requests with a cancelled context", srv.RequestCount())
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
			srv := prefactortest.NewServer(t)
			srv.FailNext(2, prefactortest.Fault{Status: tc.status, Code: prefactor.CodeUnexpected, Message: "m"})
			c := srv.Client(prefactor.WithLogger(logger), prefactor.WithMaxRetries(1))
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
