package prefactor

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"reflect"
	"strings"
	"testing"
)

// TestEveryRequestPathAndHeaders: every attempt of every call, its retry
// after a 503 included, goes to the call's method and path below the base
// URL's path prefix, with no query but All's defaults, and carries the bearer token,
// X-Prefactor-SDK and the User-Agent, with the product WithUserAgent
// appends; the *APIError of a failed call names that method and path.
func TestEveryRequestPathAndHeaders(t *testing.T) {
	ctx := context.Background()
	for _, ua := range []struct {
		name string
		opts []Option
		want string
	}{
		{"default", nil, "prefactor-go/" + Version},
		{"with product", []Option{WithUserAgent("audit-bot/2.1")}, "prefactor-go/" + Version + " audit-bot/2.1"},
	} {
		for _, tc := range everyCall {
			t.Run(ua.name+"/"+tc.Name, func(t *testing.T) {
				path := basePrefix + tc.PathFor("tok_1")
				c, rec := setup(t, func(w http.ResponseWriter, r *http.Request, n int) {
					if n == 1 {
						reply(w, http.StatusServiceUnavailable, `{"status":"error","code":"unexpected","message":"busy"}`)
						return
					}
					apiReply(w, r, n)
				}, ua.opts...)
				got, err := tc.Call(ctx, c, "tok_1")
				if err != nil {
					t.Fatalf("%s: %v", tc.Name, err)
				}
				if created, ok := got.(*CreatedAPIToken); ok && created.Token.Reveal() != "pf_new_value" {
					t.Errorf("token value %q, want %q", created.Token.Reveal(), "pf_new_value")
				}
				if rec.count() != 2 {
					t.Fatalf("server saw %d requests, want 2", rec.count())
				}
				query := ""
				if tc.Name == "All" { // All's defaults: ID order, pages of 100
					query = "pagination%5Bpage_size%5D=100&sorting=id"
				}
				for i := range 2 {
					r := rec.get(i)
					if p, _, _ := strings.Cut(r.RequestURI, "?"); r.Method != tc.Method || p != path || r.URL.RawQuery != query {
						t.Errorf("attempt %d: %s %s, want %s %s with query %q", i+1, r.Method, r.RequestURI, tc.Method, path, query)
					}
					if got := r.Header.Get("Authorization"); got != "Bearer "+testToken {
						t.Errorf("attempt %d: Authorization = %q, want the bearer token", i+1, got)
					}
					if got := r.Header.Get("User-Agent"); got != ua.want {
						t.Errorf("attempt %d: User-Agent = %q, want %q", i+1, got, ua.want)
					}
					if got, want := r.Header.Get("X-Prefactor-SDK"), "prefactor-go@"+Version; got != want {
						t.Errorf("attempt %d: X-Prefactor-SDK = %q, want %q", i+1, got, want)
					}
				}

				c, _ = setup(t, func(w http.ResponseWriter, _ *http.Request, _ int) {
					reply(w, http.StatusNotFound, `{"status":"error","code":"not_found","message":"no such token"}`)
				}, ua.opts...)
				_, err = tc.Call(ctx, c, "tok_1")
				if e := asAPIError(t, err); e.Method != tc.Method || e.Path != path {
					t.Errorf("APIError names %s %s, want %s %s", e.Method, e.Path, tc.Method, path)
				}
			})
		}
	}
}

// A 2xx may leave "status" out; a status other than "success" is an
// error, which is not retried. (Delete and Ping read no body.)
func TestSuccessEnvelopeStatus(t *testing.T) {
	unstatus := func(body string) string { return strings.Replace(body, `"status":"success",`, "", 1) }
	withStatus := func(body, status string) string {
		return strings.Replace(body, `"status":"success"`, `"status":`+status, 1)
	}
	for _, tc := range everyCall {
		if tc.Name == "Delete" || tc.Name == "Ping" {
			continue
		}
		for _, v := range []struct {
			name   string
			change func(body string) string
			ok     bool
		}{
			{"without status", unstatus, true},
			{"status null", func(b string) string { return withStatus(b, "null") }, true},
			{`status "error"`, func(b string) string { return withStatus(b, `"error"`) }, false},
			{`status "ok"`, func(b string) string { return withStatus(b, `"ok"`) }, false},
			{`status "Success"`, func(b string) string { return withStatus(b, `"Success"`) }, false},
		} {
			c, rec := setup(t, func(w http.ResponseWriter, r *http.Request, _ int) {
				status, body := apiAnswer(r)
				reply(w, status, v.change(body))
			})
			got, err := tc.Call(context.Background(), c, "tok_a")
			if v.ok {
				if err != nil {
					t.Errorf("%s %s: %v, want success", tc.Name, v.name, err)
				}
				if created, ok := got.(*CreatedAPIToken); ok && (created.ID != "tok_new" || created.Token.Reveal() != "pf_new_value") {
					t.Errorf("%s %s: created %+v, want tok_new with its value", tc.Name, v.name, created)
				}
				continue
			}
			var apiErr *APIError
			if err == nil || errors.As(err, &apiErr) || !strings.Contains(err.Error(), "status") {
				t.Errorf("%s %s: %v, want an error about the status that is no *APIError", tc.Name, v.name, err)
			}
			if rec.count() != 1 {
				t.Errorf("%s %s: server saw %d requests, want 1 (no retry)", tc.Name, v.name, rec.count())
			}
		}
	}
}

// TestEmptyBodies: an empty 2xx body is a success for Delete and Ping,
// which read none, and for every other call an error that names the
// operation and says so, no *APIError; an empty error body still makes
// the *APIError, which its status text describes. None is retried.
func TestEmptyBodies(t *testing.T) {
	for _, tc := range everyCall {
		for _, status := range []int{http.StatusOK, http.StatusNoContent, http.StatusForbidden} {
			t.Run(fmt.Sprintf("%s/%d", tc.Name, status), func(t *testing.T) {
				c, rec := setup(t, func(w http.ResponseWriter, _ *http.Request, _ int) {
					w.Header().Set("X-Request-Id", "req-123")
					reply(w, status, "")
				})
				got, err := tc.Call(context.Background(), c, "tok_1")
				if rec.count() != 1 {
					t.Errorf("server saw %d requests, want 1 (not retried)", rec.count())
				}
				switch {
				case status == http.StatusForbidden:
					apiErr := asAPIError(t, err)
					want := APIError{StatusCode: 403, Method: tc.Method, Path: basePrefix + tc.PathFor("tok_1"), RequestID: "req-123", Attempts: 1}
					if !reflect.DeepEqual(*apiErr, want) {
						t.Errorf("APIError =\n%#v\nwant\n%#v", *apiErr, want)
					}
					if !strings.Contains(err.Error(), "403 Forbidden") {
						t.Errorf("error %q does not say 403 Forbidden", err)
					}
					if errors.Is(err, ErrNotFound) {
						t.Error("errors.Is(err, ErrNotFound) = true")
					}
				case tc.Name == "Delete" || tc.Name == "Ping":
					if err != nil {
						t.Errorf("%s: %v, want success", tc.Name, err)
					}
					return
				default:
					want := fmt.Sprintf("decoding response: empty body (status %d)", status)
					if err == nil || !strings.HasPrefix(err.Error(), "prefactor: "+tc.Op+": ") || !strings.Contains(err.Error(), want) {
						t.Fatalf("got %+v, error %v; want an error naming %q and saying %q", got, err, tc.Op, want)
					}
					var apiErr *APIError
					if errors.As(err, &apiErr) {
						t.Errorf("got *APIError %v for a 2xx", apiErr)
					}
				}
				noSecret(t, "error", err.Error())
			})
		}
	}
}
