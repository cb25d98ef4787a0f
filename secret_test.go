package prefactor

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"testing"
)

// TestSecretUnderEveryVerb: a token value is unreachable through fmt,
// whatever the verb and flags, also inside slices, maps, structs and
// pointers, where fmt prints an operand whose verb does not fit without
// its Format method; and through encoding/json and log/slog.
func TestSecretUnderEveryVerb(t *testing.T) {
	const value = "eyJhbGciOiJIUzI1NiJ9.c2VjcmV0LXZhbHVl.c2lnbmF0dXJl"
	created := &CreatedAPIToken{APIToken: APIToken{ID: "tok_1"}, Token: NewSecret(value)}
	c, err := NewClient(value)
	if err != nil {
		t.Fatal(err)
	}
	type holder struct {
		Created *CreatedAPIToken
		Value   CreatedAPIToken
		Secret  Secret
		Client  *Client
	}
	h := holder{created, *created, created.Token, c}
	values := map[string]any{
		"*CreatedAPIToken":   created,
		"CreatedAPIToken":    *created,
		"Secret":             created.Token,
		"*Secret":            &created.Token,
		"[]*CreatedAPIToken": []*CreatedAPIToken{created},
		"[]CreatedAPIToken":  []CreatedAPIToken{*created},
		"map of pointers":    map[string]*CreatedAPIToken{"a": created},
		"map of secrets":     map[Secret]Secret{created.Token: created.Token},
		"[]Secret":           []Secret{created.Token},
		"[1]Secret":          [1]Secret{created.Token},
		"struct":             h,
		"*struct":            &h,
		"[]any":              []any{created, created.Token, h},
		"*Client":            c,
		"Client":             *c,
	}
	var verbs []string
	for _, v := range "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ" {
		for _, flags := range []string{"", "+", "#", "-", " ", "0", "+#", "10.3"} {
			verbs = append(verbs, "%"+flags+string(v))
		}
	}
	for name, v := range values {
		for _, verb := range verbs {
			if got := fmt.Sprintf(verb, v); strings.Contains(got, "c2VjcmV0") {
				t.Errorf("fmt.Sprintf(%q, %s) prints the token: %s", verb, name, got)
			}
		}
		if b, err := json.Marshal(v); err == nil && bytes.Contains(b, []byte("c2VjcmV0")) {
			t.Errorf("json.Marshal(%s) encodes the token: %s", name, b)
		}
		var buf bytes.Buffer
		slog.New(slog.NewJSONHandler(&buf, nil)).Info("x", "v", v)
		slog.New(slog.NewTextHandler(&buf, nil)).Info("x", "v", v)
		if strings.Contains(buf.String(), "c2VjcmV0") {
			t.Errorf("log/slog records the token of %s: %s", name, buf.String())
		}
	}
	if created.Token.Reveal() != value {
		t.Errorf("Reveal = %q, want the value", created.Token.Reveal())
	}
}

// TestSecretJSON: a Secret decodes from a JSON string or null, and encodes
// redacted.
func TestSecretJSON(t *testing.T) {
	var v struct{ Token Secret }
	if err := json.Unmarshal([]byte(`{"Token":"abc"}`), &v); err != nil || v.Token.Reveal() != "abc" {
		t.Fatalf("decoding a string: %v, %q", err, v.Token.Reveal())
	}
	if err := json.Unmarshal([]byte(`{"Token":null}`), &v); err != nil || v.Token.Reveal() != "" {
		t.Fatalf("decoding null: %v, %q", err, v.Token.Reveal())
	}
	if err := json.Unmarshal([]byte(`{"Token":1}`), &v); err == nil {
		t.Fatal("decoding a number succeeded")
	}
	if b, _ := json.Marshal(struct{ Token Secret }{NewSecret("abc")}); string(b) != `{"Token":"[REDACTED]"}` {
		t.Errorf("encoded as %s", b)
	}
	var zero Secret
	if zero.Reveal() != "" || fmt.Sprint(zero) != redacted {
		t.Errorf("zero Secret: Reveal %q, prints %q", zero.Reveal(), fmt.Sprint(zero))
	}
}

// TestNewClientTokenAlphabet: failure classes 1 and 2. NewClient accepts a
// token only in RFC 6750's b64token alphabet, ^[A-Za-z0-9\-._~+/]+=*$, so
// that no header net/http would refuse fails every request, and refuses
// any other with an error matching ErrInvalidArgument that names the rule
// (a token of padding alone is refused as such) and shows no part of the
// token.
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
		"pf_abc\x00def",
		"pf_abc\x7fdef",
		"pf_abc\x1bdef",
		"pf_abc\ndef",
		"pf_abc\tdef",
		"pf_abc def",
		`pf_abc"def`,
		`pf_abc\def`,
		"pf_abcdéf",
		"pf_ab=cdef",
		"====",
	} {
		_, err := NewClient(tok)
		if !errors.Is(err, ErrInvalidArgument) {
			t.Errorf("NewClient(%q): %v; want an error matching ErrInvalidArgument", tok, err)
			continue
		}
		msg := err.Error()
		if strings.Trim(tok, "=") != "" && !strings.Contains(msg, "RFC 6750") && !strings.Contains(msg, "b64token") {
			t.Errorf("NewClient(%q): %q; want the message to name the rule (RFC 6750 b64token)", tok, msg)
		}
		if strings.Contains(msg, "pf_ab") {
			t.Errorf("NewClient(%q): error %q quotes the token", tok, msg)
		}
		noTokenIn(t, fmt.Sprintf("NewClient(%q)", tok), err, tok)
	}
	for _, tok := range []string{spellToken, secretToken, testToken, "a", "A-Z.a_z~0+9/", "tok==", "Zm9vYmFy", "pf_Ab-c.d_e~f+g/h", "abc==", "A", "pf_live_0123456789abcdef"} {
		if _, err := NewClient(tok); err != nil {
			t.Errorf("NewClient(%q): %v; want it accepted", tok, err)
		}
	}
}
