package prefactor

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"testing"
)

// TestRedirectNeverChangesAMutationsMethod: net/http follows a 301, 302 or
// 303 answer to a POST or DELETE with a GET, without the body or its
// idempotency key; a Delete would then report the GET's success. Such a
// redirect is refused with an error that names it, and nothing is sent to
// where it points. A 307 keeps the method and body, and is followed; so is
// any redirect of a GET.
func TestRedirectNeverChangesAMutationsMethod(t *testing.T) {
	ctx := context.Background()
	for _, tc := range everyCall {
		if tc.Method == http.MethodGet {
			continue
		}
		for _, status := range []int{http.StatusMovedPermanently, http.StatusFound, http.StatusSeeOther} {
			t.Run(fmt.Sprintf("%s %d", tc.Name, status), func(t *testing.T) {
				c, rec := setup(t, func(w http.ResponseWriter, r *http.Request, n int) {
					if n == 1 {
						http.Redirect(w, r, basePrefix+"/api/v1/elsewhere", status)
						return
					}
					reply(w, 200, `{"status":"success","details":`+tokenJSON("tok_1")+`,"token":"v"}`)
				})
				_, err := tc.Call(ctx, c, "tok_1")
				want := fmt.Sprintf("refusing a %d redirect of %s", status, rec.get(0).Method)
				if err == nil || !strings.Contains(err.Error(), want) || !strings.Contains(err.Error(), "/api/v1/elsewhere") {
					t.Errorf("err = %v; want one that says %q and names where it led", err, want)
				}
				if rec.count() != 1 {
					t.Errorf("server saw %d requests; want the first only", rec.count())
				}
			})
		}
	}
	t.Run("Revoke 307", func(t *testing.T) {
		var keys []string
		c, rec := setup(t, func(w http.ResponseWriter, r *http.Request, n int) {
			key, _ := idempotencyKeyOf(r)
			keys = append(keys, r.Method+" "+key)
			if n == 1 {
				http.Redirect(w, r, basePrefix+"/api/v1/api_token/tok_1/revoke-moved", http.StatusTemporaryRedirect)
				return
			}
			reply(w, 200, `{"status":"success","details":`+tokenJSON("tok_1")+`}`)
		})
		if _, err := c.APITokens.Revoke(ctx, "tok_1", WithIdempotencyKey("k-1")); err != nil {
			t.Fatal(err)
		}
		if rec.count() != 2 || keys[1] != "POST k-1" {
			t.Errorf("requests with keys %q; want the POST with its key again after the 307", keys)
		}
	})
	t.Run("Get 302", func(t *testing.T) {
		c, rec := setup(t, func(w http.ResponseWriter, r *http.Request, n int) {
			if n == 1 {
				http.Redirect(w, r, basePrefix+"/api/v1/api_token/tok_2", http.StatusFound)
				return
			}
			reply(w, 200, `{"status":"success","details":`+tokenJSON("tok_2")+`}`)
		})
		if tok, err := c.APITokens.Get(ctx, "tok_1"); err != nil || tok.ID != "tok_2" || rec.count() != 2 {
			t.Errorf("Get = %v, %v after %d requests; want tok_2 after the redirect", tok, err, rec.count())
		}
	})
}

// TestFailedCallKeepsIdleConnections: go-retryablehttp closes its
// client's idle connections after every failed call; the SDK's transport
// does not let it, so a 404 does not cost the next call a new connection.
func TestFailedCallKeepsIdleConnections(t *testing.T) {
	c, srv := setup(t, func(w http.ResponseWriter, r *http.Request, _ int) {
		if strings.HasSuffix(r.URL.Path, "/missing") {
			reply(w, 404, `{"status":"error","code":"not_found","message":"no such token"}`)
			return
		}
		reply(w, 200, `{"status":"success","details":`+tokenJSON("tok_1")+`}`)
	})
	for _, id := range []string{"tok_1", "missing", "tok_1", "missing", "tok_1"} {
		if _, err := c.APITokens.Get(context.Background(), id); (err != nil) != (id == "missing") || (err != nil && !errors.Is(err, ErrNotFound)) {
			t.Fatalf("Get(%q): %v", id, err)
		}
	}
	if n, _ := srv.conns.counts(); n != 1 {
		t.Errorf("five calls, two of them 404s, opened %d connections; want 1", n)
	}
}
