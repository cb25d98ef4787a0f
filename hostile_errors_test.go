package prefactor

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"testing"
)

// Regressions found in review of the hostile-server work: each test failed
// before its fix.

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

// The response WithResponseInto hands out does not carry the bearer token.
func TestResponseIntoHoldsNoToken(t *testing.T) {
	c, _ := setup(t, func(w http.ResponseWriter, r *http.Request, n int) {
		reply(w, 200, `{"status":"success","details":`+tokenJSON("tok_1")+`}`)
	})
	var resp *http.Response
	if _, err := c.APITokens.Get(context.Background(), "tok_1", WithResponseInto(&resp)); err != nil {
		t.Fatal(err)
	}
	if resp.Request == nil || resp.Request.Method != http.MethodGet || !strings.HasSuffix(resp.Request.URL.Path, "/api_token/tok_1") {
		t.Fatalf("request %+v; want the GET that was sent", resp.Request)
	}
	if h := resp.Request.Header.Get("Authorization"); h != "" {
		t.Errorf("the handed-out request carries Authorization %q", h)
	}
	if got := fmt.Sprintf("%+v", resp.Request); strings.Contains(got, testToken) {
		t.Error("the handed-out request prints the token")
	}
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

// What one error keeps is bounded: Message from the API's JSON is cut to
// 4 KiB, and an errors object over 64 KiB is not decoded.
func TestAPIErrorBoundsMessageAndFieldErrors(t *testing.T) {
	huge := `{"status":"error","code":"validation_errors","message":"` + strings.Repeat("x", 100<<10) +
		`","errors":{"f":[` + strings.Repeat("{},", 30000) + `{}]}}`
	c, _ := setup(t, func(w http.ResponseWriter, _ *http.Request, _ int) {
		reply(w, http.StatusUnprocessableEntity, huge)
	}, WithMaxRetries(0))
	_, err := c.APITokens.Get(context.Background(), "tok_1")
	e := asAPIError(t, err)
	if e.Code != CodeValidationErrors || len(e.Message) > maxMessage || e.Errors != nil {
		t.Errorf("code %q, message of %d bytes, errors %v; want the code, at most %d bytes, no errors decoded", e.Code, len(e.Message), e.Errors != nil, maxMessage)
	}
	small := `{"status":"error","code":"validation_errors","message":"m","errors":{"details":{"expires_at":["in the past"]}}}`
	c2, _ := setup(t, func(w http.ResponseWriter, _ *http.Request, _ int) {
		reply(w, http.StatusUnprocessableEntity, small)
	}, WithMaxRetries(0))
	_, err = c2.APITokens.Get(context.Background(), "tok_1")
	if got := asAPIError(t, err).FieldErrors()["details.expires_at"]; len(got) != 1 || got[0] != "in the past" {
		t.Errorf("field errors %v; want the one message", got)
	}
}
