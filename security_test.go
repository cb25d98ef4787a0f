package prefactor

import (
	"bufio"
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"io"
	"log"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"
)

// secretToken is distinctive, so any leak of it is found by a plain search.
const secretToken = "pf_live_Zq7XsecretTOKEN9931"

// leakServer misbehaves in many ways, one per path prefix, and echoes the
// bearer token wherever a careless server might: messages, field errors,
// HTML pages, date fields, status lines.
func leakServer(t *testing.T, other *httptest.Server) *httptest.Server {
	mux := http.NewServeMux()
	echo := func(r *http.Request) string { return r.Header.Get("Authorization") }
	mux.HandleFunc("/401/", func(w http.ResponseWriter, r *http.Request) {
		reply(w, 401, `{"status":"error","code":"bad_authtoken","message":"`+echo(r)+` is not a valid token"}`)
	})
	mux.HandleFunc("/400/", func(w http.ResponseWriter, r *http.Request) {
		reply(w, 400, `{"status":"error","code":"invalid_value","message":"bad","errors":{"token":["`+secretToken+`"],"nested":{"deep":"`+echo(r)+`"}}}`)
	})
	mux.HandleFunc("/502/", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/html")
		w.Header().Set("X-Request-Id", secretToken)
		w.WriteHeader(502)
		_, _ = io.WriteString(w, "<html>proxy error for request with "+echo(r)+"</html>")
	})
	mux.HandleFunc("/429/", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Retry-After", "3600")
		reply(w, 429, `{"status":"error","code":"unknown","message":"slow down, `+echo(r)+`"}`)
	})
	mux.HandleFunc("/reset/", func(w http.ResponseWriter, _ *http.Request) {
		conn, _ := hijack(t, w)
		reset(conn)
	})
	mux.HandleFunc("/badstatus/", func(w http.ResponseWriter, r *http.Request) {
		conn, rw := hijack(t, w)
		// net/http quotes a malformed status code in its error.
		_, _ = io.WriteString(rw, "HTTP/1.1 "+strings.TrimPrefix(echo(r), "Bearer ")+"\r\n\r\n")
		_ = rw.Flush()
		_ = conn.Close()
	})
	mux.HandleFunc("/baddate/", func(w http.ResponseWriter, _ *http.Request) {
		reply(w, 200, strings.Replace(listJSON(0, nil, "tok_a"), "2030-01-01T00:00:00Z", secretToken, 1))
	})
	mux.HandleFunc("/badstatusfield/", func(w http.ResponseWriter, _ *http.Request) {
		reply(w, 200, `{"status":"`+secretToken+`","summaries":[]}`)
	})
	mux.HandleFunc("/truncated/", func(w http.ResponseWriter, _ *http.Request) {
		reply(w, 200, `{"status":"success","summaries":[{"id":"`+secretToken)
	})
	mux.HandleFunc("/redirect/", func(w http.ResponseWriter, r *http.Request) {
		http.Redirect(w, r, other.URL+"/echo401/", http.StatusFound)
	})
	mux.HandleFunc("/loop/", func(w http.ResponseWriter, r *http.Request) {
		http.Redirect(w, r, r.URL.Path, http.StatusFound)
	})
	mux.HandleFunc("/hang/", func(_ http.ResponseWriter, r *http.Request) {
		<-r.Context().Done()
	})
	srv := httptest.NewServer(mux)
	t.Cleanup(srv.Close)
	return srv
}

// TestSecretNeverLeaks walks every failure path with a distinctive token and
// checks that it shows in no error string, no log line at any level, and no
// fmt or slog rendering of the Client.
func TestSecretNeverLeaks(t *testing.T) {
	var sawAuth sync.Map // Authorization headers the other host received
	other := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if a := r.Header.Get("Authorization"); a != "" {
			sawAuth.Store(a, true)
		}
		reply(w, 401, `{"status":"error","code":"not_authenticated","message":"who are you? `+r.Header.Get("Authorization")+`"}`)
	}))
	t.Cleanup(other.Close)
	srv := leakServer(t, other)

	logs := &logSink{}
	logger := logs.logger()
	var errs []error
	newClient := func(prefix string, opts ...Option) *Client {
		t.Helper()
		base := []Option{
			WithBaseURL(srv.URL + "/" + prefix + "/"),
			WithLogger(logger),
			WithMaxRetries(1),
			WithRetryWait(time.Millisecond, time.Millisecond),
		}
		c, err := NewClient(secretToken, append(base, opts...)...)
		if err != nil {
			t.Fatalf("%s: %v", prefix, err)
		}
		t.Cleanup(c.CloseIdleConnections)
		return c
	}
	list := func(prefix string, opts ...Option) error {
		c := newClient(prefix, opts...)
		_, err := c.APITokens.List(context.Background(), nil)
		if err == nil {
			t.Errorf("%s: no error", prefix)
		}
		return err
	}

	// Every kind of failure a call can end in.
	for _, prefix := range []string{"401", "400", "502", "429", "reset", "badstatus", "baddate", "badstatusfield", "truncated", "redirect", "loop"} {
		errs = append(errs, list(prefix))
	}
	errs = append(errs, list("hang", WithTimeout(20*time.Millisecond)))

	// The token as a query value reaches the URL that net/http quotes in its
	// errors and that the client logs with each attempt.
	_, err := newClient("reset").APITokens.List(context.Background(), &ListAPITokensOptions{AccountID: secretToken})
	var urlErr *url.Error
	if !errors.As(err, &urlErr) {
		t.Errorf("scrubbed transport error %v no longer unwraps to *url.Error", err)
	}
	errs = append(errs, err)

	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	_, err = newClient("401").APITokens.List(ctx, nil)
	if !errors.Is(err, context.Canceled) {
		t.Errorf("error %v; want context.Canceled", err)
	}
	errs = append(errs, err)

	for tok, err := range newClient("502").APITokens.All(context.Background(), nil) {
		if tok != nil || err == nil {
			t.Fatalf("All yielded %v, %v; want one error", tok, err)
		}
		errs = append(errs, err)
	}

	// Bad input, with the token in reach of the message.
	_, err = newClient("401").APITokens.List(context.Background(), &ListAPITokensOptions{PageSize: 1000, AccountID: secretToken})
	errs = append(errs, err)
	for _, opts := range [][]Option{
		{WithBaseURL("http://example.com/")},
		{WithBaseURL("https://" + secretToken + "@example.com/")},
		{WithBaseURL("https://user:" + secretToken + "@example.com/")},
		{WithBaseURL("https://" + secretToken + "@[::1")}, // does not parse
		{WithBaseURL("ftp://example.com/"), WithLogger(logger)},
		{WithMaxRetries(-1)},
		{WithTimeout(0)},
	} {
		_, err := NewClient(secretToken, opts...)
		errs = append(errs, err)
	}
	for _, bad := range []string{secretToken + "\n", secretToken + "\r\nX-Evil: 1", " ", secretToken + "\x00", "\x7f" + secretToken} {
		_, err := NewClient(bad)
		errs = append(errs, err)
	}
	t.Setenv("PREFACTOR_API_TOKEN", secretToken)
	t.Setenv("PREFACTOR_API_URL", "http://"+secretToken+".example.com/")
	_, err = NewClientFromEnv()
	errs = append(errs, err)

	for i, err := range errs {
		if err == nil {
			t.Errorf("failure path %d: no error", i)
			continue
		}
		// Every spelling, and every prefix of 8 bytes or more (failure
		// classes 1 and 2).
		noTokenIn(t, fmt.Sprintf("failure path %d", i), err, secretToken)
	}

	sawAuth.Range(func(k, _ any) bool {
		t.Errorf("the redirect target received Authorization %q", k)
		return true
	})

	// The Client itself, through fmt and slog.
	c := newClient("401")
	logger.Info("client", "ptr", c, "value", *c)
	logger.Debug("client group", slog.Group("g", slog.Any("ptr", c), slog.Any("value", *c)))
	type holder struct {
		c  Client // fmt prints unexported fields without calling their methods
		pc *Client
	}
	var renders []string
	for _, verb := range []string{"%v", "%+v", "%#v", "%s", "%d", "%x", "%X", "%q", "%T"} {
		renders = append(renders,
			fmt.Sprintf(verb, c), fmt.Sprintf(verb, *c),
			fmt.Sprintf(verb, holder{*c, c}), fmt.Sprintf(verb, []Client{*c}),
			fmt.Sprintf(verb, c.APITokens), fmt.Sprintf(verb, *c.APITokens))
	}
	for _, s := range renders {
		if strings.Contains(s, secretToken) {
			t.Errorf("fmt shows the token: %s", s)
		}
	}
	if !strings.Contains(fmt.Sprint(c), redacted) {
		t.Errorf("fmt.Sprint(client) = %q; want it to mark the token redacted", fmt.Sprint(c))
	}

	out := logs.String()
	if leak := tokenLeak(out, secretToken); leak != "" {
		t.Errorf("the log shows %s:\n%s", leak, out)
	}
	if !strings.Contains(out, "level=DEBUG") || !strings.Contains(out, "retry decision") {
		t.Errorf("the log does not hold the client's debug lines; the check saw nothing:\n%s", out)
	}
}

// TestSecretNeverLeaksInAnySpelling: failure classes 1 and 2. A server or
// proxy echoes an allowed token back in every spelling of tokenSpellings,
// in every body shape it might use; no error, no *APIError field and no
// debug log line may show the token in any of them, nor a prefix of it of 8
// bytes or more.
func TestSecretNeverLeaksInAnySpelling(t *testing.T) {
	tok := spellToken
	spellings := tokenSpellings(tok)
	const htmlHead = "<html><body><p>"
	filler := htmlHead + strings.Repeat("x", 180-len(htmlHead)) // the token starts at byte 180
	shapes := []struct {
		name  string
		serve func(w http.ResponseWriter, echo string)
	}{
		{"API error shape, message (401)", func(w http.ResponseWriter, echo string) {
			reply(w, 401, `{"status":"error","code":"bad_authtoken","message":"Bearer `+echo+` is not a valid token"}`)
		}},
		{"API error shape, errors object (400)", func(w http.ResponseWriter, echo string) {
			reply(w, 400, `{"status":"error","code":"invalid_value","message":"bad","errors":{"`+echo+`":["`+echo+`"],"nested":{"deep":"Bearer `+echo+`"}}}`)
		}},
		{"API error shape, code (403)", func(w http.ResponseWriter, echo string) {
			reply(w, 403, `{"status":"error","code":"`+echo+`","message":"not permitted"}`)
		}},
		{"proxy JSON (502)", func(w http.ResponseWriter, echo string) {
			w.Header().Set("X-Request-Id", echo)
			reply(w, 502, `{"error":{"detail":"bad header Bearer `+echo+`"}}`)
		}},
		{"proxy JSON (401)", func(w http.ResponseWriter, echo string) {
			w.Header().Set("X-Request-Id", echo)
			reply(w, 401, `{"error":{"detail":"bad header Bearer `+echo+`"}}`)
		}},
		{"HTML 502, the token across byte 200", func(w http.ResponseWriter, echo string) {
			w.Header().Set("Content-Type", "text/html")
			w.WriteHeader(502)
			_, _ = io.WriteString(w, filler+echo+"</p></body></html>")
		}},
	}
	// Paths: /<shape>/<spelling>/…, /get404/…, /reset/….
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		parts := strings.Split(r.URL.Path, "/")
		switch parts[1] {
		case "get404":
			w.Header().Set("Content-Type", "text/plain")
			w.WriteHeader(404)
			_, _ = io.WriteString(w, "no such token")
			return
		case "reset":
			conn, _ := hijack(t, w)
			reset(conn)
			return
		}
		i, _ := strconv.Atoi(parts[1])
		j, _ := strconv.Atoi(parts[2])
		shapes[i].serve(w, spellings[j].text)
	}))
	t.Cleanup(srv.Close)

	// A bare TCP server that answers with the spelling named by the
	// request's first path segment as its status line, which net/http
	// quotes in its error.
	raw := newRawServer(t, func(conn net.Conn) {
		defer conn.Close()
		req, err := http.ReadRequest(bufio.NewReader(conn))
		if err != nil {
			return
		}
		j, _ := strconv.Atoi(strings.Split(req.URL.Path, "/")[1])
		_, _ = io.WriteString(conn, "HTTP/1.1 "+spellings[j].text+"\r\n\r\n")
	})

	var mu sync.Mutex
	var records []string // every log record, attribute values unquoted
	logs := &logSink{onRecord: func(r slog.Record) {
		mu.Lock()
		records = append(records, recordText(r))
		mu.Unlock()
	}}
	newClient := func(base string) *Client {
		t.Helper()
		c, err := NewClient(tok, WithBaseURL(base), WithLogger(logs.logger()),
			WithMaxRetries(1), WithRetryWait(time.Millisecond, time.Millisecond))
		if err != nil {
			t.Fatalf("NewClient with a token in the RFC 6750 alphabet: %v", err)
		}
		t.Cleanup(c.CloseIdleConnections)
		return c
	}
	type failure struct {
		what string
		err  error
	}
	var failures []failure
	for i, shape := range shapes {
		for j, sp := range spellings {
			_, err := newClient(fmt.Sprintf("%s/%d/%d/", srv.URL, i, j)).APITokens.List(context.Background(), nil)
			failures = append(failures, failure{shape.name + ", " + sp.name, err})
		}
	}
	for j, sp := range spellings {
		_, err := newClient(fmt.Sprintf("%s/%d/", raw.URL, j)).APITokens.List(context.Background(), nil)
		failures = append(failures, failure{"malformed status line, " + sp.name, err})
	}
	// The token in a Get's ID reaches APIError.Path and the URL, escaped.
	_, err := newClient(srv.URL+"/get404/").APITokens.Get(context.Background(), "id-"+tok)
	failures = append(failures, failure{"Get with the token in the ID, 404", err})
	_, err = newClient(srv.URL+"/reset/").APITokens.Get(context.Background(), "id-"+tok)
	failures = append(failures, failure{"Get with the token in the ID, connection reset", err})
	// The token as a query value, query-escaped in the URL.
	_, err = newClient(srv.URL+"/reset/").APITokens.List(context.Background(), &ListAPITokensOptions{AccountID: tok})
	failures = append(failures, failure{"List with the token as account_id, connection reset", err})
	_, err = newClient(srv.URL+"/get404/").APITokens.List(context.Background(), &ListAPITokensOptions{AccountID: tok})
	failures = append(failures, failure{"List with the token as account_id, 404", err})

	for _, f := range failures {
		if f.err == nil {
			t.Errorf("%s: no error", f.what)
			continue
		}
		noTokenIn(t, f.what, f.err, tok)
	}

	for _, line := range strings.Split(logs.String(), "\n") {
		if leak := tokenLeak(line, tok); leak != "" {
			t.Errorf("a debug log line shows %s: %s", leak, line)
		}
	}
	mu.Lock()
	defer mu.Unlock()
	for _, r := range records {
		if leak := tokenLeak(r, tok); leak != "" {
			t.Errorf("a debug log record shows %s: %s", leak, r)
		}
	}
	if !strings.Contains(logs.String(), "retry decision") {
		t.Errorf("the log holds no retry decision; the check saw nothing:\n%s", logs)
	}
}

// TestNewClientTokenAlphabet: failure classes 1 and 2. NewClient accepts a
// token only in RFC 6750's b64token alphabet, ^[A-Za-z0-9\-._~+/]+=*$, and
// refuses any other with an error matching ErrInvalidArgument that names
// the rule and does not show the token.
func TestNewClientTokenAlphabet(t *testing.T) {
	for _, tok := range []string{
		"pf_abc\tdef0123",
		"pf_abc def0123",
		"pf_abc  def0123",
		" pf_abcdef0123",
		"pf_abcdef0123 ",
		`pf_abc"def0123`,
		`pf_abc\def0123`,
		"pf_abcdéf0123",
		"pf_abc\u00a0def0123",
		"pf_abc=def0123", // '=' only at the end
		"==pf_abcdef0123",
		"pf_abc,def0123",
		"pf_abc%2Fdef0123",
		"pf_abc\xffdef0123",
	} {
		_, err := NewClient(tok)
		if !errors.Is(err, ErrInvalidArgument) {
			t.Errorf("NewClient(%q): %v; want an error matching ErrInvalidArgument", tok, err)
			continue
		}
		if msg := err.Error(); !strings.Contains(msg, "RFC 6750") && !strings.Contains(msg, "b64token") {
			t.Errorf("NewClient(%q): %q; want the message to name the rule (RFC 6750 b64token)", tok, msg)
		}
		noTokenIn(t, fmt.Sprintf("NewClient(%q)", tok), err, tok)
	}
	for _, tok := range []string{spellToken, secretToken, testToken, "a", "A-Z.a_z~0+9/", "tok==", "Zm9vYmFy"} {
		if _, err := NewClient(tok); err != nil {
			t.Errorf("NewClient(%q): %v; want it accepted", tok, err)
		}
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

// TestPlainHTTPBaseURL: plain http is refused at NewClient, with the reason,
// unless the host is loopback or WithInsecureHTTP says so.
func TestPlainHTTPBaseURL(t *testing.T) {
	for _, tc := range []struct {
		url      string
		loopback bool
	}{
		{"http://127.0.0.1:8080/", true},
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
	} {
		_, err := NewClient("tok", WithBaseURL(tc.url))
		switch {
		case tc.loopback && err != nil:
			t.Errorf("%s: %v; want it allowed (loopback)", tc.url, err)
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

// TestHeaderUnsafeInputRefused: a token outside RFC 6750's b64token
// alphabet, or a User-Agent product that net/http would refuse as a header
// value, fails NewClient, not every request; the error never quotes the
// token.
func TestHeaderUnsafeInputRefused(t *testing.T) {
	for _, tok := range []string{"pf_abc\x00def", "pf_abc\x7fdef", "pf_abc\x1bdef", "pf_abc\ndef", "pf_abc\tdef", "pf_abc def", `pf_abc"def`, `pf_abc\def`, "pf_abcdéf", "pf_ab=cdef", "===="} {
		_, err := NewClient(tok)
		if !errors.Is(err, ErrInvalidArgument) {
			t.Errorf("token %q: %v; want ErrInvalidArgument", tok, err)
			continue
		}
		if strings.Contains(err.Error(), "pf_ab") {
			t.Errorf("token %q: error %q quotes the token", tok, err)
		}
	}
	for _, tok := range []string{"pf_Ab-c.d_e~f+g/h", "abc==", "A", "pf_live_0123456789abcdef"} {
		if _, err := NewClient(tok); err != nil {
			t.Errorf("token %q is a valid bearer token: %v", tok, err)
		}
	}
	for _, ua := range []string{"app\x00/1", "app/1\r\nX-Evil: 1", "app\x7f"} {
		if _, err := NewClient("tok", WithUserAgent(ua)); !errors.Is(err, ErrInvalidArgument) {
			t.Errorf("User-Agent %q: %v; want ErrInvalidArgument", ua, err)
		}
	}
}

// recordText is everything a log record holds as text, its attributes'
// values unquoted (a text handler would escape a backslash and hide a
// \u00XX spelling).
func recordText(r slog.Record) string {
	var b strings.Builder
	b.WriteString(r.Message)
	var add func(a slog.Attr)
	add = func(a slog.Attr) {
		v := a.Value.Resolve()
		b.WriteString(" " + a.Key + "=")
		if v.Kind() == slog.KindGroup {
			for _, g := range v.Group() {
				add(g)
			}
			return
		}
		b.WriteString(v.String())
	}
	r.Attrs(func(a slog.Attr) bool { add(a); return true })
	return b.String()
}
