package prefactor

import (
	"context"
	"net/http"
	"strings"
	"testing"
)

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
