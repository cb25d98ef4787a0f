package prefactor

import (
	"context"
	"errors"
	"net/http"
	"strings"
	"testing"
)

// Every call keeps the base URL's path prefix, in the request it sends and
// in the APIError that names it.
func TestAPITokenCallsKeepPathPrefix(t *testing.T) {
	for _, tc := range everyCall {
		t.Run(tc.Name, func(t *testing.T) {
			want := basePrefix + tc.PathFor("tok_1")
			c, rec := setup(t, apiReply)
			got, err := tc.Call(context.Background(), c, "tok_1")
			if err != nil {
				t.Fatalf("%s: %v", tc.Name, err)
			}
			if created, ok := got.(*CreatedAPIToken); ok && created.Token.Reveal() != "pf_new_value" {
				t.Errorf("token value %q, want %q", created.Token.Reveal(), "pf_new_value")
			}
			if rec.count() != 1 {
				t.Fatalf("server saw %d requests, want 1", rec.count())
			}
			r := rec.get(0)
			if path, _, _ := strings.Cut(r.RequestURI, "?"); r.Method != tc.Method || path != want {
				t.Errorf("request %s %s, want %s %s", r.Method, path, tc.Method, want)
			}

			c, _ = setup(t, func(w http.ResponseWriter, _ *http.Request, _ int) {
				reply(w, http.StatusNotFound, `{"status":"error","code":"not_found","message":"scripted not_found"}`)
			})
			_, err = tc.Call(context.Background(), c, "tok_1")
			if e := asAPIError(t, err); e.Method != tc.Method || e.Path != want {
				t.Errorf("APIError names %s %s, want %s %s", e.Method, e.Path, tc.Method, want)
			}
		})
	}
}

// An ID is one path segment whatever it holds: the raw path the server
// receives has it escaped, and the decoded path has it whole.
func TestAPITokensPathEscaping(t *testing.T) {
	ids := []struct{ id, escaped string }{
		{"a/b", "a%2Fb"},
		{"../../admin", "..%2F..%2Fadmin"},
		{"a?b=c", "a%3Fb=c"},
		{"100%", "100%25"},
		{"%2F", "%252F"},
		{"a#b", "a%23b"},
		{"a b", "a%20b"},
		{"...", "..."},
		{"tök", "t%C3%B6k"},
	}
	for _, name := range []string{"Get", "Revoke", "Delete"} {
		tc := callNamed(name)
		for _, id := range ids {
			t.Run(tc.Name+"/"+id.id, func(t *testing.T) {
				c, rec := setup(t, apiReply)
				if _, err := tc.Call(context.Background(), c, id.id); err != nil {
					t.Fatal(err)
				}
				if rec.count() != 1 {
					t.Fatalf("server saw %d requests, want 1", rec.count())
				}
				r := rec.get(0)
				suffix := strings.TrimPrefix(tc.Path, "/api/v1/api_token/{id}")
				rawPath, _, _ := strings.Cut(r.RequestURI, "?")
				if want := basePrefix + "/api/v1/api_token/" + id.escaped + suffix; rawPath != want {
					t.Errorf("raw path %q, want %q", rawPath, want)
				}
				if want := basePrefix + "/api/v1/api_token/" + id.id + suffix; r.URL.Path != want {
					t.Errorf("decoded path %q, want %q", r.URL.Path, want)
				}
				if tc.Method == http.MethodGet && r.URL.Query().Encode() != "" {
					t.Errorf("query %q, want none", r.URL.Query().Encode())
				}
			})
		}
	}
}

// A delete answered 2xx with an empty body has succeeded.
func TestAPITokensDeleteEmpty2xx(t *testing.T) {
	for _, status := range []int{http.StatusOK, http.StatusNoContent} {
		t.Run(http.StatusText(status), func(t *testing.T) {
			c, rec := setup(t, func(w http.ResponseWriter, _ *http.Request, _ int) { w.WriteHeader(status) })
			if err := c.APITokens.Delete(context.Background(), "tok_1"); err != nil {
				t.Fatal(err)
			}
			if n := rec.count(); n != 1 {
				t.Errorf("server saw %d requests, want 1", n)
			}
		})
	}
}

// 204 No Content is a success status, but the calls that return a token
// must get one: an empty 204 is an error naming the operation, and is not
// retried.
func TestAPITokensEmpty204IsMalformed(t *testing.T) {
	for _, tc := range everyCall {
		if !tc.OnToken() && tc.Name != "Create" || tc.Name == "Delete" {
			continue
		}
		t.Run(tc.Name, func(t *testing.T) {
			c, rec := setup(t, func(w http.ResponseWriter, _ *http.Request, _ int) { w.WriteHeader(http.StatusNoContent) })
			tok, err := tc.Call(context.Background(), c, "tok_1")
			if err == nil {
				t.Fatalf("got token %+v, want an error", tok)
			}
			if want := "empty body (status 204)"; !strings.HasPrefix(err.Error(), "prefactor: "+tc.Op+": ") || !strings.Contains(err.Error(), want) {
				t.Errorf("error %q: want it to name %q and say %q", err, tc.Op, want)
			}
			noSecret(t, "error", err.Error())
			var apiErr *APIError
			if errors.As(err, &apiErr) {
				t.Errorf("err is an *APIError for a 2xx: %v", apiErr)
			}
			if n := rec.count(); n != 1 {
				t.Errorf("server saw %d requests, want 1", n)
			}
		})
	}
}
