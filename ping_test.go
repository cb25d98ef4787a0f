package prefactor

import (
	"context"
	"net/http"
	"strings"
	"testing"
)

func TestPing(t *testing.T) {
	for _, tc := range []struct {
		name   string
		status int
		body   string
		code   ErrorCode // "" for success
	}{
		{"200 with a body", http.StatusOK, `{"status":"success"}`, ""},
		{"200 without a body", http.StatusOK, "", ""},
		{"204", http.StatusNoContent, "", ""},
		{"401 bad token", http.StatusUnauthorized, `{"status":"error","code":"bad_authtoken","message":"invalid token"}`, CodeBadAuthToken},
		{"401 no token", http.StatusUnauthorized, `{"status":"error","code":"not_authenticated","message":"sign in"}`, CodeNotAuthenticated},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c, rec := setup(t, func(w http.ResponseWriter, r *http.Request, _ int) {
				reply(w, tc.status, tc.body)
			})
			err := c.Ping(context.Background())
			if rec.count() != 1 {
				t.Fatalf("server saw %d requests, want 1", rec.count())
			}
			r := rec.get(0)
			if r.Method != http.MethodGet || r.URL.Path != basePrefix+"/api/v1/ping" || r.URL.RawQuery != "" {
				t.Errorf("request %s %s?%s, want GET %s/api/v1/ping", r.Method, r.URL.Path, r.URL.RawQuery, basePrefix)
			}
			if got := r.Header.Get("Authorization"); got != "Bearer "+testToken {
				t.Errorf("Authorization = %q, want the bearer token", got)
			}
			if tc.code == "" {
				if err != nil {
					t.Errorf("Ping: %v, want nil", err)
				}
				return
			}
			apiErr := asAPIError(t, err)
			if apiErr.StatusCode != http.StatusUnauthorized || apiErr.Code != tc.code || apiErr.Attempts != 1 {
				t.Errorf("APIError %+v, want 401 %s after one attempt", apiErr, tc.code)
			}
			if !strings.HasPrefix(err.Error(), "prefactor: ping: ") {
				t.Errorf("error %q does not name the operation", err)
			}
			noSecret(t, "Ping error", err.Error())
		})
	}
}
