package prefactor

import (
	"bytes"
	"context"
	"encoding/json"
	"net/http"
	"strings"
	"testing"
)

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

// Delete sends its idempotency key as the JSON body {"idempotency_key":…},
// the same bytes on the retry after a 503, and takes any 2xx answer.
func TestDeleteSendsKeyInBody(t *testing.T) {
	for _, tc := range []struct {
		name   string
		opts   []RequestOption
		key    string // "" for a generated one
		status int
		body   string
	}{
		{"200 with details", nil, "", http.StatusOK, detailsJSON("tok_a")},
		{"204", nil, "", http.StatusNoContent, ""},
		{"202", nil, "", http.StatusAccepted, `{"status":"success"}`},
		{"caller's key", []RequestOption{WithIdempotencyKey(`kéy "/+<>`)}, `kéy "/+<>`, http.StatusOK, detailsJSON("tok_a")},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c, rec := setup(t, func(w http.ResponseWriter, r *http.Request, n int) {
				if n == 1 {
					reply(w, http.StatusServiceUnavailable, `{"status":"error","code":"unexpected","message":"busy"}`)
					return
				}
				reply(w, tc.status, tc.body)
			})
			if err := c.APITokens.Delete(context.Background(), "tok_a", tc.opts...); err != nil {
				t.Fatalf("Delete after a 503, then %d: %v", tc.status, err)
			}
			if rec.count() != 2 {
				t.Fatalf("server saw %d requests, want 2", rec.count())
			}
			b := [][]byte{rec.body(0), rec.body(1)}
			if !bytes.Equal(b[0], b[1]) {
				t.Errorf("the retry's body differs:\n first %q\n retry %q", b[0], b[1])
			}
			var sent map[string]any
			if err := json.Unmarshal(b[0], &sent); err != nil {
				t.Fatalf("body %q is not a JSON object: %v", b[0], err)
			}
			key, _ := sent["idempotency_key"].(string)
			if len(sent) != 1 || key == "" || (tc.key != "" && key != tc.key) {
				t.Errorf("body %q: want exactly {\"idempotency_key\": %q}", b[0], tc.key)
			}
			for i := range 2 {
				r := rec.get(i)
				if r.Method != http.MethodDelete || r.URL.Path != basePrefix+"/api/v1/api_token/tok_a" || r.URL.RawQuery != "" {
					t.Errorf("attempt %d: %s %s?%s, want DELETE of the token with no query", i+1, r.Method, r.URL.Path, r.URL.RawQuery)
				}
				if ct := r.Header.Get("Content-Type"); ct != "application/json" {
					t.Errorf("attempt %d: Content-Type %q, want application/json", i+1, ct)
				}
			}
		})
	}
}
