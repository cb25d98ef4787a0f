package prefactor

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/url"
	"os"
	"strings"
	"syscall"
	"testing"
	"unicode/utf8"
	"unsafe"
)

// scrubSecret holds every kind of byte a bearer token may (RFC 6750's
// b64token): letters, digits, "-._~+/" and "=" padding.
const scrubSecret = "pf_S3cr/3t+Tok-en.v~al=="

// spell writes each byte of s with f(i, c), for spellings built one
// character at a time.
func spell(s string, f func(i int, c byte) string) string {
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		b.WriteString(f(i, s[i]))
	}
	return b.String()
}

// byteSpellings are fmt formats for one byte of the secret, each a
// spelling scrub must recognise: as is, JSON \u00XX (either case), %XX
// (either case), HTML decimal and hex references, and JSON's
// backslash-escape ("\/").
var byteSpellings = []string{"%c", `\u%04x`, `\u%04X`, "%%%02x", "%%%02X", "&#%d;", "&#x%x;", "&#X%X;", `\%c`}

// scrubSpellings are the ways a server, a proxy or net/http may quote the
// token, each of which scrub must find.
func scrubSpellings(secret string) map[string]string {
	m := map[string]string{
		"raw":                   secret,
		`JSON \/`:               strings.ReplaceAll(secret, "/", `\/`),
		`JSON \u002b`:           strings.ReplaceAll(secret, "+", `\u002b`),
		`JSON \u002B`:           strings.ReplaceAll(secret, "+", `\u002B`),
		"url.QueryEscape":       url.QueryEscape(secret),
		"url.PathEscape":        url.PathEscape(secret),
		"QueryEscape lower hex": strings.ReplaceAll(strings.ReplaceAll(url.QueryEscape(secret), "%2B", "%2b"), "%2F", "%2f"),
		"HTML &#43; &#x2F;":     strings.ReplaceAll(strings.ReplaceAll(secret, "+", "&#43;"), "/", "&#x2F;"),
		"mixed per character": spell(secret, func(i int, c byte) string {
			return fmt.Sprintf(byteSpellings[i%len(byteSpellings)], c)
		}),
	}
	for _, format := range byteSpellings[1:] {
		m["each byte as "+format] = spell(secret, func(_ int, c byte) string { return fmt.Sprintf(format, c) })
	}
	return m
}

func TestScrubEverySpelling(t *testing.T) {
	for name, spelled := range scrubSpellings(scrubSecret) {
		for _, frame := range [][2]string{
			{"", ""},
			{`{"message":"bad token `, `"}`},
			{"p", "p"}, // a false start on the secret's first byte
			{scrubSecret[:10], " " + scrubSecret[:10]}, // a partial secret is no secret
		} {
			in := frame[0] + spelled + frame[1]
			want := frame[0] + redacted + frame[1]
			if got := scrub(in, scrubSecret); got != want {
				t.Errorf("%s: scrub(%q)\n = %q\nwant %q", name, in, got, want)
			}
		}
		// Twice, back to back and apart.
		in := spelled + spelled + " and " + spelled
		want := redacted + redacted + " and " + redacted
		if got := scrub(in, scrubSecret); got != want {
			t.Errorf("%s thrice: scrub = %q, want %q", name, got, want)
		}
	}
}

func TestScrubLeavesOtherTextAlone(t *testing.T) {
	for _, tc := range []struct{ name, s, secret string }{
		{"no secret", "GET /api/v1/api_token: 404 not_found", scrubSecret},
		{"empty", "", scrubSecret},
		{"secret short of its last byte", "x " + scrubSecret[:len(scrubSecret)-1] + " y", scrubSecret},
		{"secret with one byte changed", strings.Replace(scrubSecret, "T", "t", 1), scrubSecret},
		{"escapes of other bytes", `\u0041 %41 &#65; &#x41; \/ &amp; 100%`, scrubSecret},
		{"broken escapes", `\u002 %2 &#43 &#x; &#;` + "&", scrubSecret},
		{"secret shorter than 8", "abc1234 and abc1234 again", "abc1234"},
		{"empty secret", "anything", ""},
	} {
		got := scrub(tc.s, tc.secret)
		if got != tc.s {
			t.Errorf("%s: scrub(%q) = %q, want it unchanged", tc.name, tc.s, got)
		}
		// Not only equal: the same string, not a copy.
		if tc.s != "" && unsafe.StringData(got) != unsafe.StringData(tc.s) {
			t.Errorf("%s: scrub returned a copy of text it left unchanged", tc.name)
		}
	}
}

func TestShorten(t *testing.T) {
	const secret = scrubSecret
	if got := shorten(strings.Repeat("é", 10), 5, secret); got != "éé" {
		t.Errorf("shorten(10×é, 5) = %q, want %q: cut on the rune boundary", got, "éé")
	}
	if got := shorten("short", 200, secret); got != "short" {
		t.Errorf("shorten(%q, 200) = %q, want it unchanged", "short", got)
	}

	// Scrubbed before the cut: a spelling longer than the room left is still
	// found, and a secret across the cut leaves none of itself.
	a190 := strings.Repeat("a", 190)
	if got := shorten(a190+spell(secret, func(_ int, c byte) string { return fmt.Sprintf("%%%02X", c) }), 200, secret); got != a190+redacted {
		t.Errorf("percent-encoded secret at the cut: got %q, want %q", got, a190+redacted)
	}
	a195 := strings.Repeat("a", 195)
	if got, want := shorten(a195+secret+" tail", 200, secret), (a195 + redacted)[:200]; got != want {
		t.Errorf("secret across the cut: got %q, want %q", got, want)
	}

	// Wherever the cut falls, what is left is valid, short enough, and ends
	// in no four bytes of the secret's start. The text is built so that a
	// plain cut would leave such a prefix: the secret without its last byte
	// is no secret for scrub.
	partial := secret[:len(secret)-1]
	for _, s := range []string{
		"prefix é " + partial,
		"ü" + partial + " " + partial + "ü",
		partial + partial,
	} {
		for max := 0; max <= len(s)+2; max++ {
			got := shorten(s, max, secret)
			if len(got) > max || !utf8.ValidString(got) {
				t.Errorf("shorten(%q, %d) = %q: over the limit or not valid UTF-8", s, max, got)
			}
			for k := 4; k <= len(secret); k++ {
				if strings.HasSuffix(got, secret[:k]) {
					t.Errorf("shorten(%q, %d) = %q ends in %d bytes of the secret", s, max, got, k)
				}
			}
		}
	}
}

func TestTrimSecretPrefix(t *testing.T) {
	const secret = scrubSecret
	for _, tc := range []struct{ name, s, secret, want string }{
		{"four bytes of the start", "msg " + secret[:4], secret, "msg "},
		{"all but the last byte", "msg " + secret[:len(secret)-1], secret, "msg "},
		{"only the start", secret[:6], secret, ""},
		{"the start twice", "msg " + secret[:6] + secret[:5], secret, "msg "},
		{"three bytes are too few to tell", "msg " + secret[:3], secret, "msg " + secret[:3]},
		{"the start in the middle", secret[:6] + " msg", secret, secret[:6] + " msg"},
		{"the secret's end", "msg " + secret[4:], secret, "msg " + secret[4:]},
		{"secret shorter than 8", "msg abcd", "abcdefg", "msg abcd"},
		{"empty", "", secret, ""},
	} {
		if got := trimSecretPrefix(tc.s, tc.secret); got != tc.want {
			t.Errorf("%s: trimSecretPrefix(%q) = %q, want %q", tc.name, tc.s, got, tc.want)
		}
	}
}

// An '&' makes the scrubber look for an HTML character reference; it looks
// no further than the longest one, so a body of '&' costs linear time (it
// took 19 s for 1 MiB when the search ran to the end of the body).
func TestScrubLooksAtMostOneSpellingAhead(t *testing.T) {
	if n := spelledAs("&#"+strings.Repeat("0", 20)+"43;", '+'); n != 0 {
		t.Errorf("a 25-byte character reference counted as a spelling of '+' (%d bytes)", n)
	}
	if n := spelledAs("&#43;", '+'); n != 5 {
		t.Errorf(`"&#43;" spells '+' in %d bytes, want 5`, n)
	}
	secret := testToken
	body := strings.Repeat("&", maxErrorBody) + secret
	if got := scrub(body, secret); strings.Contains(got, secret) || !strings.HasSuffix(got, redacted) {
		t.Errorf("the secret after 1 MiB of '&' was not scrubbed")
	}
	// shorten looks only as far as what it keeps can reach.
	long := strings.Repeat("&", 10<<20)
	if got := shorten(long, maxShown, secret); len(got) > maxShown {
		t.Errorf("shorten kept %d bytes of a 10 MiB header, want at most %d", len(got), maxShown)
	}
}

// leakyError is an error type the scrub cannot rebuild: its text holds
// whatever it was given.
type leakyError struct{ text string }

func (e *leakyError) Error() string { return e.text }

// cleanError is an error type whose own text never holds the secret.
type cleanError struct{ code int }

func (e *cleanError) Error() string { return fmt.Sprintf("code %d", e.code) }

// secretAddr is a net.Addr whose text holds the secret, as a Unix socket
// path could.
type secretAddr struct{}

func (secretAddr) Network() string { return "unix" }

func (secretAddr) String() string { return "/run/" + scrubSecret + ".sock" }

func TestScrubError(t *testing.T) {
	const secret = scrubSecret
	if scrubError(nil, secret) != nil {
		t.Error("scrubError(nil) is not nil")
	}
	clean := fmt.Errorf("prefactor: get API token: %w", &cleanError{7})
	if got := scrubError(clean, secret); got != clean {
		t.Errorf("an error without the secret came back as %T %v, want the same error", got, got)
	}

	// A transport error as net/http builds it, with the secret (escaped, as
	// in a query) in its URL and in the dial error's text.
	opErr := &net.OpError{Op: "dial", Net: "tcp", Err: &os.SyscallError{Syscall: "connect " + url.QueryEscape(secret), Err: syscall.ECONNREFUSED}}
	urlErr := &url.Error{Op: "Get", URL: "https://api.example.com/x?account_id=" + url.QueryEscape(secret), Err: opErr}
	err := scrubError(fmt.Errorf("prefactor: list API tokens: %w: %w", urlErr, &cleanError{3}), secret)

	wantClean := func(what string, e error) {
		t.Helper()
		for _, s := range []string{e.Error(), fmt.Sprintf("%v", e), fmt.Sprintf("%+v", e), fmt.Sprintf("%#v", e), fmt.Sprintf("%s", e), fmt.Sprintf("%q", e)} {
			if scrub(s, secret) != s {
				t.Errorf("%s shows the secret: %s", what, s)
			}
		}
	}
	wantClean("scrubbed error", err)
	if !strings.Contains(err.Error(), redacted) || !strings.Contains(err.Error(), "list API tokens") {
		t.Errorf("scrubbed message %q lost the operation or the redaction mark", err)
	}
	for _, target := range []error{syscall.ECONNREFUSED} {
		if !errors.Is(err, target) {
			t.Errorf("errors.Is(%v) is false through the scrubbed chain", target)
		}
	}
	if errors.Is(err, context.Canceled) {
		t.Error("errors.Is(context.Canceled) is true for a chain without it")
	}
	for _, e := range errorChain(err) {
		wantClean(fmt.Sprintf("unwrapped %T", e), e)
	}

	var ue *url.Error
	if !errors.As(err, &ue) || ue == nil {
		t.Fatalf("errors.As(*url.Error) failed on %v", err)
	}
	wantClean("*url.Error from errors.As", ue)
	if ue.Op != "Get" || !strings.HasPrefix(ue.URL, "https://api.example.com/x?account_id=") {
		t.Errorf("*url.Error = %+v: Op or URL lost", ue)
	}
	if !errors.Is(ue, syscall.ECONNREFUSED) {
		t.Error("the *url.Error errors.As hands out no longer matches ECONNREFUSED")
	}
	var oe *net.OpError
	if !errors.As(err, &oe) || oe == nil {
		t.Fatalf("errors.As(*net.OpError) failed on %v", err)
	}
	wantClean("*net.OpError from errors.As", oe)
	if oe.Op != "dial" || oe.Net != "tcp" {
		t.Errorf("*net.OpError = %+v: Op or Net lost", oe)
	}
	var ne net.Error // an interface target: the first match is the *url.Error
	if !errors.As(err, &ne) || ne == nil {
		t.Fatalf("errors.As(net.Error) failed on %v", err)
	}
	wantClean("net.Error from errors.As", ne)
	var ce *cleanError
	if !errors.As(err, &ce) || ce.code != 3 {
		t.Errorf("errors.As(*cleanError) = %v; want the clean error of the chain", ce)
	}

	// A type the scrub cannot rebuild is not handed out when its text holds
	// the secret, whatever spelling; nor is a net.OpError whose address
	// does.
	for name, spelled := range scrubSpellings(secret) {
		err := scrubError(fmt.Errorf("wrapped: %w", &leakyError{"token " + spelled + " refused"}), secret)
		wantClean(name, err)
		le := &leakyError{"left alone"}
		if errors.As(err, &le) {
			t.Errorf("%s: errors.As handed out %T %q", name, le, le.text)
		} else if le != nil {
			t.Errorf("%s: errors.As failed but left %v in the target, want nil", name, le)
		}
	}
	addrErr := scrubError(&url.Error{Op: "Get", URL: "http://unix", Err: &net.OpError{Op: "dial", Net: "unix", Addr: secretAddr{}, Err: syscall.ENOENT}}, secret)
	wantClean("error with a secret address", addrErr)
	oe = nil
	if errors.As(addrErr, &oe) {
		wantClean("*net.OpError with a secret address", oe)
	}
	ue = nil
	if errors.As(addrErr, &ue) {
		wantClean("*url.Error with a secret address", ue)
	}
	if !errors.Is(addrErr, syscall.ENOENT) {
		t.Error("errors.Is(ENOENT) is false through the scrubbed chain")
	}
}
