package prefactor

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"
)

// The lifecycle tests of package prefactor_test run on the fake API of
// prefactortest. These play what it cannot: a gateway in front of the API,
// whose path prefix (/gw/) every request must keep, and empty 2xx answers.
// They run against a loopback server that records every attempt it
// receives and answers from a script.

const lcPrefix = "/gw/"

// lcReply is one scripted answer. hangUp closes the connection without
// answering, as a server that crashed after reading the request would.
type lcReply struct {
	status int
	body   string
	hangUp bool
}

// lcRequest is what the server saw of one attempt.
type lcRequest struct {
	Method     string
	RequestURI string // raw, as sent: path and query, nothing decoded
	Path       string // decoded path
	Query      url.Values
}

type lcServer struct {
	mu      sync.Mutex
	seen    []lcRequest
	replies []lcReply
}

func (s *lcServer) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	_, _ = io.Copy(io.Discard, r.Body)
	s.mu.Lock()
	s.seen = append(s.seen, lcRequest{
		Method:     r.Method,
		RequestURI: r.RequestURI,
		Path:       r.URL.Path,
		Query:      r.URL.Query(),
	})
	reply := lcReply{status: http.StatusInternalServerError, body: `{"status":"error","code":"unexpected","message":"no reply scripted"}`}
	if len(s.replies) > 0 {
		reply = s.replies[0]
		if len(s.replies) > 1 {
			s.replies = s.replies[1:]
		}
	}
	s.mu.Unlock()

	if reply.hangUp {
		conn, _, err := w.(http.Hijacker).Hijack()
		if err == nil {
			_ = conn.Close()
		}
		return
	}
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(reply.status)
	_, _ = io.WriteString(w, reply.body)
}

// requests returns a copy of what the server has seen.
func (s *lcServer) requests() []lcRequest {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]lcRequest(nil), s.seen...)
}

// lcSetup starts a server that answers with replies in order (the last one
// repeats) and a client for it with tiny retry waits.
func lcSetup(t *testing.T, replies ...lcReply) (*Client, *lcServer) {
	t.Helper()
	s := &lcServer{replies: replies}
	srv := httptest.NewServer(s)
	t.Cleanup(srv.Close)
	c, err := NewClient(testToken,
		WithBaseURL(srv.URL+lcPrefix),
		WithMaxRetries(3),
		WithRetryWait(time.Millisecond, 2*time.Millisecond))
	if err != nil {
		t.Fatal(err)
	}
	return c, s
}

const lcTokenValue = "pf_live_0123456789abcdefSECRET"

func lcToken(status TokenStatus) string {
	return fmt.Sprintf(`{"id":"tok_1","type":"api_token","account_id":"acc_1",`+
		`"created_by_admin_user_id":null,"environment_id":"env_1","agent_deployment_id":"dep_1",`+
		`"expires_at":"2030-01-01T00:00:00Z","inserted_at":"2024-01-01T00:00:00Z",`+
		`"updated_at":"2024-06-01T00:00:00Z","last_used_at":null,`+
		`"status":%q,"token_scope":"agent_deployment"}`, status)
}

func lcOK(status TokenStatus) lcReply {
	return lcReply{status: http.StatusOK, body: `{"status":"success","details":` + lcToken(status) + `}`}
}

func lcCreated() lcReply {
	return lcReply{status: http.StatusCreated, body: `{"status":"success","details":` + lcToken(TokenStatusActive) + `,"token":"` + lcTokenValue + `"}`}
}

func lcAPIError(status int, code ErrorCode) lcReply {
	return lcReply{status: status, body: fmt.Sprintf(`{"status":"error","code":%q,"message":"scripted %s"}`, code, code)}
}

// lcCall is one method of the service, called uniformly.
type lcCall struct {
	name    string
	op      string
	method  string
	path    string // after the prefix, escaped, for id "tok_1"
	success lcReply
	call    func(ctx context.Context, c *Client, id string, opts ...RequestOption) (*APIToken, error)
}

var lcCalls = []lcCall{
	{
		name: "Get", op: opGetAPIToken, method: http.MethodGet, path: "api/v1/api_token/tok_1",
		success: lcOK(TokenStatusActive),
		call: func(ctx context.Context, c *Client, id string, _ ...RequestOption) (*APIToken, error) {
			return c.APITokens.Get(ctx, id)
		},
	},
	{
		name: "Create", op: opCreateAPIToken, method: http.MethodPost, path: "api/v1/api_token",
		success: lcCreated(),
		call: func(ctx context.Context, c *Client, _ string, opts ...RequestOption) (*APIToken, error) {
			created, err := c.APITokens.Create(ctx, &CreateAPITokenRequest{TokenScope: TokenScopeAccount}, opts...)
			if err != nil {
				return nil, err
			}
			if created.Token.Reveal() != lcTokenValue {
				return nil, fmt.Errorf("token value %q, want %q", created.Token.Reveal(), lcTokenValue)
			}
			return &created.APIToken, nil
		},
	},
	{
		name: "Suspend", op: opSuspendAPIToken, method: http.MethodPost, path: "api/v1/api_token/tok_1/suspend",
		success: lcOK(TokenStatusSuspended),
		call: func(ctx context.Context, c *Client, id string, opts ...RequestOption) (*APIToken, error) {
			return c.APITokens.Suspend(ctx, id, opts...)
		},
	},
	{
		name: "Activate", op: opActivateAPIToken, method: http.MethodPost, path: "api/v1/api_token/tok_1/activate",
		success: lcOK(TokenStatusActive),
		call: func(ctx context.Context, c *Client, id string, opts ...RequestOption) (*APIToken, error) {
			return c.APITokens.Activate(ctx, id, opts...)
		},
	},
	{
		name: "Revoke", op: opRevokeAPIToken, method: http.MethodPost, path: "api/v1/api_token/tok_1/revoke",
		success: lcOK(TokenStatusRevoked),
		call: func(ctx context.Context, c *Client, id string, opts ...RequestOption) (*APIToken, error) {
			return c.APITokens.Revoke(ctx, id, opts...)
		},
	},
	{
		name: "Delete", op: opDeleteAPIToken, method: http.MethodDelete, path: "api/v1/api_token/tok_1",
		success: lcReply{status: http.StatusNoContent},
		call: func(ctx context.Context, c *Client, id string, opts ...RequestOption) (*APIToken, error) {
			return nil, c.APITokens.Delete(ctx, id, opts...)
		},
	},
}

// Every call keeps the base URL's path prefix, in the request it sends and
// in the APIError that names it.
func TestAPITokenCallsKeepPathPrefix(t *testing.T) {
	for _, tc := range lcCalls {
		t.Run(tc.name, func(t *testing.T) {
			c, srv := lcSetup(t, tc.success)
			if _, err := tc.call(context.Background(), c, "tok_1"); err != nil {
				t.Fatalf("%s: %v", tc.name, err)
			}
			seen := srv.requests()
			if len(seen) != 1 {
				t.Fatalf("server saw %d requests, want 1", len(seen))
			}
			if path, _, _ := strings.Cut(seen[0].RequestURI, "?"); seen[0].Method != tc.method || path != lcPrefix+tc.path {
				t.Errorf("request %s %s, want %s %s", seen[0].Method, path, tc.method, lcPrefix+tc.path)
			}

			c, _ = lcSetup(t, lcAPIError(http.StatusNotFound, CodeNotFound))
			_, err := tc.call(context.Background(), c, "tok_1")
			if e := asAPIError(t, err); e.Method != tc.method || e.Path != lcPrefix+tc.path {
				t.Errorf("APIError names %s %s, want %s %s", e.Method, e.Path, tc.method, lcPrefix+tc.path)
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
	calls := map[string]bool{"Get": true, "Revoke": true, "Delete": true}
	for _, tc := range lcCalls {
		if !calls[tc.name] {
			continue
		}
		for _, id := range ids {
			t.Run(tc.name+"/"+id.id, func(t *testing.T) {
				c, srv := lcSetup(t, tc.success)
				if _, err := tc.call(context.Background(), c, id.id); err != nil {
					t.Fatal(err)
				}
				seen := srv.requests()
				if len(seen) != 1 {
					t.Fatalf("server saw %d requests, want 1", len(seen))
				}
				suffix := strings.TrimPrefix(tc.path, "api/v1/api_token/tok_1")
				rawPath, _, _ := strings.Cut(seen[0].RequestURI, "?")
				if want := lcPrefix + "api/v1/api_token/" + id.escaped + suffix; rawPath != want {
					t.Errorf("raw path %q, want %q", rawPath, want)
				}
				if want := lcPrefix + "api/v1/api_token/" + id.id + suffix; seen[0].Path != want {
					t.Errorf("decoded path %q, want %q", seen[0].Path, want)
				}
				if tc.method == http.MethodGet && seen[0].Query.Encode() != "" {
					t.Errorf("query %q, want none", seen[0].Query.Encode())
				}
			})
		}
	}
}

// A delete answered 2xx with an empty body has succeeded.
func TestAPITokensDeleteEmpty2xx(t *testing.T) {
	for _, status := range []int{http.StatusOK, http.StatusNoContent} {
		t.Run(http.StatusText(status), func(t *testing.T) {
			c, srv := lcSetup(t, lcReply{status: status})
			if err := c.APITokens.Delete(context.Background(), "tok_1"); err != nil {
				t.Fatal(err)
			}
			if n := len(srv.requests()); n != 1 {
				t.Errorf("server saw %d requests, want 1", n)
			}
		})
	}
}

// 204 No Content is a success status, but the calls that return a token
// must get one: an empty 204 is an error naming the operation, and is not
// retried.
func TestAPITokensEmpty204IsMalformed(t *testing.T) {
	for _, tc := range lcCalls {
		if tc.name == "Delete" {
			continue
		}
		t.Run(tc.name, func(t *testing.T) {
			c, srv := lcSetup(t, lcReply{status: http.StatusNoContent})
			tok, err := tc.call(context.Background(), c, "tok_1")
			if err == nil {
				t.Fatalf("got token %+v, want an error", tok)
			}
			if want := "empty body (status 204)"; !strings.HasPrefix(err.Error(), "prefactor: "+tc.op+": ") || !strings.Contains(err.Error(), want) {
				t.Errorf("error %q: want it to name %q and say %q", err, tc.op, want)
			}
			if strings.Contains(err.Error(), lcTokenValue) {
				t.Errorf("error %q holds the token value", err)
			}
			noSecret(t, "error", err.Error())
			var apiErr *APIError
			if errors.As(err, &apiErr) {
				t.Errorf("err is an *APIError for a 2xx: %v", apiErr)
			}
			if n := len(srv.requests()); n != 1 {
				t.Errorf("server saw %d requests, want 1", n)
			}
		})
	}
}
