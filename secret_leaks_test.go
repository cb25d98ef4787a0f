package prefactor

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
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

// End to end, through a client against servers that echo the bearer token
// back: no error, log line or printed value shows it.

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

// Echoes the raw-body scrub cannot see still never cost the caller the
// *APIError: one spelled twice over (percent-encoding inside JSON escapes)
// is scrubbed after decoding, and invalid UTF-8 inside a token never joins
// it together.
func TestAPIErrorSurvivesDisguisedEchoes(t *testing.T) {
	var twice strings.Builder
	for i := 0; i < len(testToken); i++ {
		fmt.Fprintf(&twice, `\u0025%02X`, testToken[i])
	}
	for name, answer := range map[string]func(w http.ResponseWriter){
		"escaped twice": func(w http.ResponseWriter) {
			reply(w, http.StatusBadRequest, `{"status":"error","code":"bad_request","message":"header was `+twice.String()+`"}`)
		},
		"split by invalid UTF-8": func(w http.ResponseWriter) {
			w.Header().Set("Content-Type", "text/html")
			w.WriteHeader(http.StatusBadGateway)
			_, _ = w.Write([]byte("<html>bad gateway " + testToken[:10] + "\xff" + testToken[10:] + "</html>"))
		},
	} {
		t.Run(name, func(t *testing.T) {
			c, _ := setup(t, func(w http.ResponseWriter, _ *http.Request, _ int) { answer(w) }, WithMaxRetries(0))
			_, err := c.APITokens.Get(context.Background(), "tok_1")
			var apiErr *APIError
			if !errors.As(err, &apiErr) {
				t.Fatalf("%v: not an *APIError", err)
			}
			if strings.Contains(err.Error(), testToken) || strings.Contains(apiErr.Message, testToken) {
				t.Errorf("the token shows: %v", err)
			}
		})
	}
}
