package prefactortest_test

import (
	"encoding/json"
	"go/doc/comment"
	"go/parser"
	"go/token"
	"net/http"
	"reflect"
	"strings"
	"testing"

	prefactor "github.com/prefactor-sdk/prefactor-go"
	"github.com/prefactor-sdk/prefactor-go/prefactortest"
)

// wireSamples returns the JSON samples of the package doc's Wire format
// section, in order, decoded.
func wireSamples(t *testing.T) []any {
	t.Helper()
	f, err := parser.ParseFile(token.NewFileSet(), "doc.go", nil, parser.ParseComments|parser.PackageClauseOnly)
	if err != nil {
		t.Fatal(err)
	}
	var p comment.Parser
	var samples []any
	inSection := false
	for _, block := range p.Parse(f.Doc.Text()).Content {
		switch b := block.(type) {
		case *comment.Heading:
			inSection = len(b.Text) == 1 && b.Text[0] == comment.Plain("Wire format")
		case *comment.Code:
			if !inSection {
				continue
			}
			var v any
			if err := json.Unmarshal([]byte(b.Text), &v); err != nil {
				t.Fatalf("a sample of the Wire format section is not JSON: %v\n%s", err, b.Text)
			}
			samples = append(samples, v)
		}
	}
	return samples
}

// decodeJSON decodes a's body.
func decodeJSON(t *testing.T, a answer) any {
	t.Helper()
	var v any
	if err := json.Unmarshal(a.body, &v); err != nil {
		t.Fatalf("%s: %v", a.body, err)
	}
	return v
}

// The package doc's samples are what the fake sends for the requests the
// doc names, so a handler written from them answers as the fake does.
func TestWireFormatSamples(t *testing.T) {
	samples := wireSamples(t)
	if len(samples) != 4 {
		t.Fatalf("%d samples in the Wire format section, want 4: list, one token, create, error", len(samples))
	}
	list, one, created, failed := samples[0], samples[1], samples[2], samples[3]

	// The fake holds the list sample's token.
	listed, _ := list.(map[string]any)["summaries"].([]any)
	if len(listed) != 1 {
		t.Fatalf("the list sample has %d tokens under \"summaries\", want 1", len(listed))
	}
	raw, _ := json.Marshal(listed[0])
	var tok prefactor.APIToken
	if err := json.Unmarshal(raw, &tok); err != nil {
		t.Fatal(err)
	}
	srv := prefactortest.NewServer(t, tok)
	srv.SetClock(prefactortest.ReferenceTime)

	if got := decodeJSON(t, get(t, srv, "sorting=id&pagination%5Bpage_size%5D=10", bearer)); !reflect.DeepEqual(got, list) {
		t.Errorf("list: the fake sends\n%v\nthe doc shows\n%v", got, list)
	}
	if got := decodeJSON(t, call(t, srv, http.MethodGet, tokenPath(tok.ID), "")); !reflect.DeepEqual(got, one) {
		t.Errorf("one token: the fake sends\n%v\nthe doc shows\n%v", got, one)
	}

	// The value is shortened in the doc: compare it apart.
	got, _ := decodeJSON(t, call(t, srv, http.MethodPost, listPath, `{"details":{"token_scope":"account"}}`)).(map[string]any)
	want, _ := created.(map[string]any)
	gotValue, _ := got["token"].(string)
	wantValue, _ := want["token"].(string)
	head, tail, _ := strings.Cut(wantValue, "…")
	if wantValue == "" || !strings.HasPrefix(gotValue, head) || !strings.HasSuffix(gotValue, tail) {
		t.Errorf("created value %q, the doc shows %q", gotValue, wantValue)
	}
	delete(got, "token")
	delete(want, "token")
	if !reflect.DeepEqual(got, want) {
		t.Errorf("create: the fake sends\n%v\nthe doc shows\n%v", got, want)
	}

	a := call(t, srv, http.MethodPost, listPath, `{"details":{"token_scope":"environment"}}`)
	if got := decodeJSON(t, a); a.status != http.StatusBadRequest || !reflect.DeepEqual(got, failed) {
		t.Errorf("error: the fake sends %d\n%v\nthe doc shows\n%v", a.status, got, failed)
	}
}
