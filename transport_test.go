package prefactor

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"io"
	"log"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"
)

// TestPlainHTTPBaseURL: plain http is refused at NewClient, with the reason,
// unless the host is loopback or WithInsecureHTTP says so; https is
// accepted.
func TestPlainHTTPBaseURL(t *testing.T) {
	for _, tc := range []struct {
		url      string
		loopback bool // or https
	}{
		{"https://api.example.com", true},
		{"http://127.0.0.1:8080", true},
		{"http://127.0.0.1:8080/", true},
		{"http://localhost", true},
		{"http://[::1]:9/x", true},
		{"http://127.1.2.3/", true},
		{"http://[::1]:8080/prefix/", true},
		{"http://localhost:3000", true},
		{"http://LocalHost/", true},
		{"http://[::ffff:127.0.0.1]/", true},
		{"http://example.com/", false},
		{"http://10.0.0.5:8080/", false},
		{"http://0.0.0.0/", false},
		{"http://localhost.example.com/", false},
		{"http://127.0.0.1.nip.io/", false},
		{"http://[::2]/", false},
		{"http://proxy.internal:8080", false},
	} {
		_, err := NewClient("tok", WithBaseURL(tc.url))
		switch {
		case tc.loopback && err != nil:
			t.Errorf("%s: %v; want it allowed", tc.url, err)
		case !tc.loopback && err == nil:
			t.Errorf("%s: allowed; want plain http refused", tc.url)
		case !tc.loopback:
			if !errors.Is(err, ErrInvalidArgument) || !strings.Contains(err.Error(), "bearer token unencrypted") || !strings.Contains(err.Error(), "WithInsecureHTTP") {
				t.Errorf("%s: error %q; want ErrInvalidArgument that says why and how to allow it", tc.url, err)
			}
			if _, err := NewClient("tok", WithBaseURL(tc.url), WithInsecureHTTP()); err != nil {
				t.Errorf("%s with WithInsecureHTTP: %v", tc.url, err)
			}
		}
	}
	// WithInsecureHTTP never lowers https.
	c, err := NewClient("tok", WithInsecureHTTP())
	if err != nil || c.baseURL.Scheme != "https" {
		t.Errorf("default base URL with WithInsecureHTTP: %v, %v", c, err)
	}
}

// TestUntrustedCertificate: a TLS server the client does not trust gets one
// connection and no retry; trusting it (WithHTTPClient) makes the call work.
func TestUntrustedCertificate(t *testing.T) {
	srv := httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) { okPage(w) }))
	srv.Config.ErrorLog = log.New(io.Discard, "", 0) // the refused handshake is expected
	conns := trackConns(srv)
	srv.StartTLS()
	defer srv.Close()

	c, err := NewClient(secretToken, WithBaseURL(srv.URL), WithRetryWait(time.Millisecond, time.Millisecond))
	if err != nil {
		t.Fatal(err)
	}
	defer c.CloseIdleConnections()
	_, err = c.APITokens.List(context.Background(), nil)
	var certErr *tls.CertificateVerificationError
	if !errors.As(err, &certErr) || strings.Contains(err.Error(), "giving up") {
		t.Errorf("error %v; want a certificate error on the first attempt", err)
	}
	if n, _ := conns.counts(); n != 1 {
		t.Errorf("%d connections; want 1 (no retry)", n)
	}

	trusted := srv.Client()
	defer trusted.CloseIdleConnections()
	c, err = NewClient(secretToken, WithBaseURL(srv.URL), WithHTTPClient(trusted))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := c.APITokens.List(context.Background(), nil); err != nil {
		t.Errorf("with the server's certificate trusted: %v", err)
	}
}

// TestRedirectDropsAuthorization follows redirects between two loopback
// servers: the header goes along only while host and port stay the same.
func TestRedirectDropsAuthorization(t *testing.T) {
	type seen struct{ path, auth string }
	var mu sync.Mutex
	var got []seen
	record := func(r *http.Request) {
		mu.Lock()
		got = append(got, seen{r.URL.Path, r.Header.Get("Authorization")})
		mu.Unlock()
	}
	b := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		record(r)
		okPage(w)
	}))
	defer b.Close()
	a := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		record(r)
		switch r.URL.Path {
		case "/same/api/v1/api_token":
			http.Redirect(w, r, "/final/", http.StatusFound)
		case "/cross/api/v1/api_token":
			http.Redirect(w, r, b.URL+"/final/", http.StatusTemporaryRedirect)
		case "/bounce/api/v1/api_token": // to the other host and back again
			http.Redirect(w, r, b.URL+"/back/", http.StatusFound)
		case "/final/":
			okPage(w)
		}
	}))
	defer a.Close()
	b.Config.Handler = http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		record(r)
		if r.URL.Path == "/back/" {
			http.Redirect(w, r, a.URL+"/final/", http.StatusFound)
			return
		}
		okPage(w)
	})
	// localhost and 127.0.0.1 are one machine but two hosts to the client.
	aByName := strings.Replace(a.URL, "127.0.0.1", "localhost", 1)

	for _, tc := range []struct {
		name, base string
		want       []seen
	}{
		{"same host", a.URL + "/same/", []seen{{"/same/api/v1/api_token", "Bearer " + secretToken}, {"/final/", "Bearer " + secretToken}}},
		{"other port", a.URL + "/cross/", []seen{{"/cross/api/v1/api_token", "Bearer " + secretToken}, {"/final/", ""}}},
		{"other host name", aByName + "/cross/", []seen{{"/cross/api/v1/api_token", "Bearer " + secretToken}, {"/final/", ""}}},
		{"away and back", a.URL + "/bounce/", []seen{{"/bounce/api/v1/api_token", "Bearer " + secretToken}, {"/back/", ""}, {"/final/", ""}}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			mu.Lock()
			got = nil
			mu.Unlock()
			c, err := NewClient(secretToken, WithBaseURL(tc.base))
			if err != nil {
				t.Fatal(err)
			}
			defer c.CloseIdleConnections()
			if _, err := c.APITokens.List(context.Background(), nil); err != nil {
				t.Fatal(err)
			}
			mu.Lock()
			defer mu.Unlock()
			if fmt.Sprint(got) != fmt.Sprint(tc.want) {
				t.Errorf("requests (path, Authorization):\n got %v\nwant %v", got, tc.want)
			}
		})
	}
}

// TestCheckRedirectSchemeDowngrade: https to http on the same host loses the
// header too (two loopback servers cannot share a port, so this one calls the
// policy directly).
func TestCheckRedirectSchemeDowngrade(t *testing.T) {
	mk := func(u string) *http.Request {
		r, err := http.NewRequest(http.MethodGet, u, nil)
		if err != nil {
			t.Fatal(err)
		}
		r.Header.Set("Authorization", "Bearer x")
		return r
	}
	policy := checkRedirect(nil)
	for _, tc := range []struct {
		from, to string
		keep     bool
	}{
		{"https://api.example.com/a", "https://api.example.com/b", true},
		{"https://api.example.com/a", "http://api.example.com/b", false},
		{"https://api.example.com/a", "https://api.example.com:8443/b", false},
		{"https://api.example.com/a", "https://evil.example.com/b", false},
		{"http://127.0.0.1:80/a", "http://127.0.0.1:80/b", true},
	} {
		next := mk(tc.to)
		if err := policy(next, []*http.Request{mk(tc.from)}); err != nil {
			t.Fatal(err)
		}
		if kept := next.Header.Get("Authorization") != ""; kept != tc.keep {
			t.Errorf("%s -> %s: Authorization kept = %v; want %v", tc.from, tc.to, kept, tc.keep)
		}
	}
	via := make([]*http.Request, 10)
	for i := range via {
		via[i] = mk("https://api.example.com/a")
	}
	if err := policy(mk("https://api.example.com/b"), via); err == nil {
		t.Error("the 11th redirect was allowed")
	}
}

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

// TestCallerTransportWithoutBody: a caller's RoundTripper, a test double
// say, may answer with a nil Body, which http.Client itself tolerates;
// every call gets an answer or an error, never a panic.
func TestCallerTransportWithoutBody(t *testing.T) {
	for _, status := range []int{http.StatusOK, http.StatusNoContent, http.StatusInternalServerError} {
		rt := roundTripFunc(func(r *http.Request) (*http.Response, error) {
			return &http.Response{StatusCode: status, Header: http.Header{}, Request: r}, nil
		})
		c, err := NewClient(testToken, WithHTTPClient(&http.Client{Transport: rt}), WithMaxRetries(0))
		if err != nil {
			t.Fatal(err)
		}
		err = c.APITokens.Delete(context.Background(), "tok_1")
		if wantErr := status >= 300; (err != nil) != wantErr {
			t.Errorf("Delete, status %d without a body: %v", status, err)
		}
		if _, err := c.APITokens.Get(context.Background(), "tok_1"); err == nil {
			t.Errorf("Get, status %d without a body: no error", status)
		}
	}
}
