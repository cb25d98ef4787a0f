package prefactor

import (
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/url"
	"reflect"
	"strings"
	"unicode/utf8"
)

// This file keeps the bearer token secret: the Secret type that holds
// credentials, the alphabet a token may use, and the scrubber that removes
// every spelling of the token from what a server sends back.

// Secret holds a credential, such as the value of a token Create made.
// Printing it with fmt (any verb, also inside a larger value), logging it
// with log/slog or encoding it with encoding/json shows "[REDACTED]"; only
// [Secret.Reveal] returns the value. The zero Secret holds "".
type Secret struct {
	// value sits behind a pointer: where a verb does not fit, fmt prints
	// the operand without its Format method, and a nested pointer only as
	// an address.
	value *string
}

// NewSecret returns a Secret holding value, for instance to build a
// [CreatedAPIToken] in a test double.
func NewSecret(value string) Secret { return Secret{value: &value} }

const redacted = "[REDACTED]"

// Reveal returns the secret value. Call it only where the value must leave
// the program, such as an Authorization header or a secret store.
func (s Secret) Reveal() string {
	if s.value == nil {
		return ""
	}
	return *s.value
}

// String returns "[REDACTED]".
func (s Secret) String() string { return redacted }

// GoString returns a redacted form, for the %#v verb.
func (s Secret) GoString() string { return `prefactor.Secret("` + redacted + `")` }

// Format writes a redacted form for every fmt verb.
func (s Secret) Format(f fmt.State, verb rune) {
	if verb == 'v' && f.Flag('#') {
		_, _ = f.Write([]byte(s.GoString()))
		return
	}
	_, _ = f.Write([]byte(redacted))
}

// LogValue makes log/slog record "[REDACTED]".
func (s Secret) LogValue() slog.Value { return slog.StringValue(redacted) }

// MarshalJSON encodes "[REDACTED]", so a Secret inside a value that
// log/slog's JSON handler or encoding/json writes stays hidden.
func (s Secret) MarshalJSON() ([]byte, error) { return []byte(`"` + redacted + `"`), nil }

// UnmarshalJSON decodes a JSON string, or null for the zero Secret.
func (s *Secret) UnmarshalJSON(b []byte) error {
	var v *string
	if err := json.Unmarshal(b, &v); err != nil {
		return err
	}
	*s = Secret{value: v}
	return nil
}

// checkToken reports a token that could not travel as a bearer token:
// empty, or with a byte outside RFC 6750's b64token alphabet (letters,
// digits, "-._~+/", then any number of "="). Refusing the rest up front
// also means no quoting or escaping net/http applies can disguise the token
// in an error message. The error names the byte's position, never the
// token.
func checkToken(token string) error {
	if strings.TrimSpace(token) == "" {
		return errors.New("empty API token")
	}
	pad := len(strings.TrimRight(token, "="))
	if pad == 0 {
		return errors.New("API token is only padding ('=')")
	}
	for i := 0; i < pad; i++ {
		if !tokenByte[token[i]] {
			return fmt.Errorf("API token has %s at byte %d; a bearer token holds only letters, digits, - . _ ~ + / and trailing = (RFC 6750)", describeByte(token[i]), i)
		}
	}
	return nil
}

// tokenByte marks the bytes of RFC 6750's b64token before its padding.
var tokenByte = func() (t [256]bool) {
	for _, c := range []byte("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-._~+/") {
		t[c] = true
	}
	return t
}()

// describeByte names a byte for an error without quoting anything secret.
func describeByte(b byte) string {
	switch {
	case b == ' ':
		return "a space"
	case b == '\t':
		return "a tab"
	case b == '\r' || b == '\n':
		return "a line break"
	case b < ' ' || b == 0x7f:
		return "a control character"
	case b >= 0x80:
		return "a non-ASCII byte"
	case b == '=':
		return "'=' before the end"
	}
	return fmt.Sprintf("the character %q", b)
}

// shorten returns s scrubbed of secret and cut, on a rune boundary, to at
// most max bytes. A cut never leaves the start of the secret at the end.
func shorten(s string, max int, secret string) string {
	// A spelling of the secret that starts within max bytes ends within
	// max + maxSpelling·len(secret): what lies beyond cannot matter, and
	// scrubbing it would cost time a long header could make large.
	if limit := max + maxSpelling*len(secret); len(s) > limit {
		s = s[:limit]
	}
	s = scrub(s, secret)
	if len(s) <= max {
		// Trimmed even uncut: what arrived may itself have been cut
		// through the secret (an error body read up to its limit).
		return trimSecretPrefix(s, secret)
	}
	cut := max
	for cut > 0 && !utf8.RuneStart(s[cut]) {
		cut--
	}
	return trimSecretPrefix(strings.TrimSpace(s[:cut]), secret)
}

// maxSpelling is the longest spelling of one byte scrub recognises
// ("&#x002F;" is 8 bytes; "&#00047;" 8).
const maxSpelling = 10

// scrubValue scrubs the strings, keys included, of a decoded JSON value.
func scrubValue(v any, secret string) any {
	switch v := v.(type) {
	case string:
		return scrub(v, secret)
	case []any:
		for i, x := range v {
			v[i] = scrubValue(x, secret)
		}
	case map[string]any:
		out := make(map[string]any, len(v))
		for k, x := range v {
			out[scrub(k, secret)] = scrubValue(x, secret)
		}
		return out
	}
	return v
}

// minScrubLen is the shortest secret scrub looks for. Shorter ones are not
// real tokens, and replacing, say, every "t" would wreck the message.
const minScrubLen = 8

// scrub replaces every spelling of secret in s with a redaction mark: as is,
// JSON-escaped (\/, \u002b, any character as \u00XX), percent-encoded
// (url.QueryEscape, url.PathEscape, any character as %XX) and as HTML
// character references (&#43;, &#x2F;), each character in any of these
// forms. These are the ways a server, a proxy or net/http itself may quote
// a bearer token back; NewClient admits only tokens of RFC 6750's alphabet,
// which none of them changes further.
func scrub(s, secret string) string {
	if len(secret) < minScrubLen {
		return s
	}
	var b strings.Builder
	last := 0
	for i := 0; i < len(s); i++ {
		if c := s[i]; c != secret[0] && c != '\\' && c != '%' && c != '&' {
			continue
		}
		if end := matchSecret(s, i, secret); end > 0 {
			b.WriteString(s[last:i])
			b.WriteString(redacted)
			last, i = end, end-1
		}
	}
	if last == 0 {
		return s
	}
	b.WriteString(s[last:])
	return b.String()
}

// matchSecret reports where a spelling of secret that starts at s[i] ends,
// or -1.
func matchSecret(s string, i int, secret string) int {
	for k := 0; k < len(secret); k++ {
		n := spelledAs(s[i:], secret[k])
		if n == 0 {
			return -1
		}
		i += n
	}
	return i
}

// spelledAs reports how many bytes at the start of s spell the byte c, or 0.
func spelledAs(s string, c byte) int {
	if s == "" {
		return 0
	}
	switch s[0] {
	case c:
		return 1
	case '\\': // JSON: \/ or \u00XX
		if len(s) >= 2 && s[1] == c {
			return 2
		}
		if len(s) >= 6 && (s[1] == 'u') {
			if v, ok := hexValue(s[2:6]); ok && v == int(c) {
				return 6
			}
		}
	case '%': // URL: %XX
		if len(s) >= 3 {
			if v, ok := hexValue(s[1:3]); ok && v == int(c) {
				return 3
			}
		}
	case '&': // HTML: &#NN; or &#xHH;
		end := strings.IndexByte(s[:min(len(s), maxSpelling+1)], ';')
		if end < 3 || end > 10 || s[1] != '#' {
			return 0
		}
		num := s[2:end]
		v, ok := 0, false
		if num[0] == 'x' || num[0] == 'X' {
			v, ok = hexValue(num[1:])
		} else {
			v, ok = decValue(num)
		}
		if ok && v == int(c) {
			return end + 1
		}
	}
	return 0
}

func hexValue(s string) (int, bool) {
	if s == "" {
		return 0, false
	}
	v := 0
	for i := 0; i < len(s); i++ {
		c := s[i] | 0x20 // lower case for letters
		switch {
		case s[i] >= '0' && s[i] <= '9':
			v = v*16 + int(s[i]-'0')
		case c >= 'a' && c <= 'f':
			v = v*16 + int(c-'a') + 10
		default:
			return 0, false
		}
	}
	return v, true
}

func decValue(s string) (int, bool) {
	if s == "" {
		return 0, false
	}
	v := 0
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return 0, false
		}
		v = v*10 + int(s[i]-'0')
	}
	return v, true
}

// trimSecretPrefix removes from the end of s the start of secret, four
// bytes or more of it: what a cut through the middle of the secret would
// leave.
func trimSecretPrefix(s, secret string) string {
	if len(secret) < minScrubLen {
		return s
	}
	// Again after each cut: what a cut uncovers may be the start of the
	// secret too. Each pass removes four bytes or more.
	for trimmed := true; trimmed; {
		trimmed = false
		for k := min(len(secret)-1, len(s)); k >= minScrubLen/2; k-- {
			if strings.HasSuffix(s, secret[:k]) {
				s, trimmed = s[:len(s)-k], true
				break
			}
		}
	}
	return s
}

// scrubError returns err, or, when its message holds a spelling of secret,
// an error with a cleaned message that still answers errors.Is and
// errors.As (see scrubbedError). Errors from the standard library may quote
// what a server sent (a malformed status line), and a URL may hold a
// caller's ID.
func scrubError(err error, secret string) error {
	if err == nil {
		return nil
	}
	msg := err.Error()
	clean := scrub(msg, secret)
	if clean == msg {
		return err
	}
	return &scrubbedError{msg: clean, err: err, secret: NewSecret(secret)}
}

// scrubbedError has a cleaned message. It answers errors.Is for the whole
// original chain. errors.As finds any error of the chain whose own text is
// clean; of one whose text holds the secret it hands out a scrubbed copy
// for the wrappers a transport error comes in (*url.Error, *net.OpError),
// and nothing for other types. It never hands out the secret, and so it
// does not unwrap.
type scrubbedError struct {
	msg    string
	err    error // the original; never returned
	secret Secret
}

func (e *scrubbedError) Error() string        { return e.msg }
func (e *scrubbedError) Is(target error) bool { return errors.Is(e.err, target) }

func (e *scrubbedError) As(target any) bool {
	if !errors.As(e.err, target) {
		return false
	}
	dst := reflect.ValueOf(target).Elem()
	found, _ := dst.Interface().(error)
	secret := e.secret.Reveal()
	if found == nil || scrub(found.Error(), secret) == found.Error() {
		return true
	}
	var clean error
	switch f := found.(type) {
	case *url.Error:
		clean = &url.Error{Op: f.Op, URL: scrub(f.URL, secret), Err: scrubError(f.Err, secret)}
	case *net.OpError:
		c := *f
		c.Err = scrubError(f.Err, secret)
		clean = &c
	}
	// A copy can still hold the secret where it was not rebuilt (a
	// *net.OpError's address): that one is not handed out either.
	if clean == nil || scrub(clean.Error(), secret) != clean.Error() || !reflect.TypeOf(clean).AssignableTo(dst.Type()) {
		dst.SetZero()
		return false
	}
	dst.Set(reflect.ValueOf(clean))
	return true
}
