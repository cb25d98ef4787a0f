package prefactor

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"reflect"
	"strings"
	"testing"
	"time"
)

// decodeBoth decodes body with the fast path and with encoding/json. fast
// reports whether the fast path took the body; when it did, the two results
// must be equal and encoding/json must have succeeded.
func decodeBoth(t *testing.T, body []byte) (fast bool) {
	t.Helper()
	var got listAPITokensResponse
	fast, fastErr := got.decodeFast(body)
	var want listAPITokensResponse
	err := json.NewDecoder(bytes.NewReader(body)).Decode(&want)
	if fastErr != nil && err == nil {
		t.Fatalf("fast path refused %q (%v), which encoding/json accepts", body, fastErr)
	}
	if !fast {
		if !reflect.DeepEqual(got, listAPITokensResponse{}) {
			t.Fatalf("fast path declined %q but changed its output to %+v", body, got)
		}
		return false
	}
	if err != nil {
		t.Fatalf("fast path took %q, which encoding/json rejects: %v", body, err)
	}
	if !reflect.DeepEqual(got, want) {
		t.Fatalf("fast path and encoding/json disagree on %q:\nfast %s\njson %s", body, dump(got), dump(want))
	}
	return true
}

func dump(r listAPITokensResponse) string {
	b, _ := json.Marshal(r)
	return string(b)
}

// fastPathCases are bodies the fast path must take (true) or leave to
// encoding/json (false).
var fastPathCases = []struct {
	name string
	body string
	fast bool
}{
	{"reference example", referenceExample, true},
	{"empty list", `{"status":"success","summaries":[],"pagination":null,"sorting":null}`, true},
	{"white space everywhere", " \n{ \"status\" : \"success\" ,\t\"summaries\" : [ { \"id\" : \"a\" } , {\"id\":\"b\"} ] }\r\n", true},
	{"trailing data is ignored like encoding/json's Decoder", `{"status":"success","summaries":[]} trailing`, true},
	{"unknown values of every kind", `{"x":[1,-2.5e+3,0.5E-7,true,false,null,{"a":"é"}],"status":"success","summaries":[{"id":"a","y":{"z":[[]]}}]}`, true},
	{"no summaries", `{"status":"success"}`, true},
	{"empty object", `{}`, true},
	{"unknown status kept", `{"status":"weird","summaries":[]}`, true},
	{"pagination with nulls", `{"status":"success","summaries":[],"pagination":{"next_page_offset":null,"previous_page_offset":null,"item_count":-0}}`, true},
	{"time with offset", `{"status":"success","summaries":[{"inserted_at":"2024-01-01T00:00:00+02:00","last_used_at":"2024-02-29T23:59:59.999999999-07:30"}]}`, true},
	{"repeated value shares text", `{"status":"success","summaries":[{"account_id":"acc","id":"a"},{"account_id":"acc","id":"b"},{"account_id":"other","id":"c"}]}`, true},
	{"agent fields", `{"status":"success","summaries":[{"id":"a","agent_id":"ag","agent_deployment_id":"dep"},{"id":"b","agent_id":null,"agent_deployment_id":null}]}`, true},

	{"escape in a skipped value", `{"x":{"a":"\u00e9\n"},"status":"success","summaries":[]}`, false},
	{"escaped string", `{"status":"success","summaries":[{"id":"a\"b"}]}`, false},
	{"non-ASCII string", `{"status":"success","summaries":[{"id":"é"}]}`, false},
	{"case-insensitive key", `{"status":"success","summaries":[{"ID":"a"}]}`, false},
	{"case-insensitive envelope key", `{"Status":"success","summaries":[]}`, false},
	{"repeated key", `{"status":"success","summaries":[{"id":"a","id":"b"}]}`, false},
	{"repeated summaries", `{"status":"success","summaries":[{"id":"a"}],"summaries":[]}`, false},
	{"null token", `{"status":"success","summaries":[null]}`, false},
	{"null string field", `{"status":"success","summaries":[{"id":null}]}`, false},
	{"null time field", `{"status":"success","summaries":[{"expires_at":null}]}`, false},
	{"null summaries", `{"status":"success","summaries":null}`, false},
	{"float offset", `{"status":"success","summaries":[],"pagination":{"page_size":10.0}}`, false},
	{"exponent offset", `{"status":"success","summaries":[],"pagination":{"page_size":1e1}}`, false},
	{"huge offset", `{"status":"success","summaries":[],"pagination":{"page_size":99999999999999999999}}`, false},
	{"leading zero", `{"status":"success","summaries":[],"pagination":{"page_size":01}}`, false},
	{"bad time", `{"status":"success","summaries":[{"id":"x","expires_at":"yesterday"}]}`, false},
	{"number for string", `{"status":"success","summaries":[{"id":5}]}`, false},
	{"available actions", `{"status":"success","summaries":[{"id":"a","available_actions":{"activate":false,"delete":false,"revoke":true,"suspend":true}}]}`, false},
	{"null available actions", `{"status":"success","summaries":[{"id":"a","available_actions":null}]}`, false},
	{"truncated", `{"status":"success","summaries":[`, false},
	{"not JSON", `<html>hello</html>`, false},
	{"empty", ``, false},
	{"array", `[1,2]`, false},
	{"bad skipped value", `{"x":[1,],"status":"success","summaries":[]}`, false},
	{"bad escape in skipped value", `{"x":"\q","status":"success","summaries":[]}`, false},
	{"control character", "{\"status\":\"success\",\"summaries\":[{\"id\":\"a\tb\"}]}", false},
	{"deep nesting", `{"x":` + strings.Repeat("[", 100) + strings.Repeat("]", 100) + `,"summaries":[]}`, false},
}

func TestDecodeFastAgreesWithEncodingJSON(t *testing.T) {
	for _, tc := range fastPathCases {
		t.Run(tc.name, func(t *testing.T) {
			if fast := decodeBoth(t, []byte(tc.body)); fast != tc.fast {
				t.Errorf("fast path took the body: %v, want %v", fast, tc.fast)
			}
		})
	}
}

func FuzzDecodeList(f *testing.F) {
	for _, tc := range fastPathCases {
		f.Add([]byte(tc.body))
	}
	f.Add(renderPages(f, 3).page(0))
	f.Fuzz(func(t *testing.T, body []byte) {
		decodeBoth(t, body)
	})
}

// TestDecodeFastCoversEveryField fills every field of the decoded types
// through reflection, so a field added to APIToken, Pagination or Sorting
// later fails here until the fast path decodes it. AvailableActions is the
// exception, left nil: list summaries never carry it, and a body that does
// goes to encoding/json (TestDecodeAvailableActionsFallsBack).
func TestDecodeFastCoversEveryField(t *testing.T) {
	var tok APIToken
	fill(t, reflect.ValueOf(&tok).Elem(), "tok")
	var pag Pagination
	fill(t, reflect.ValueOf(&pag).Elem(), "pag")
	var srt Sorting
	fill(t, reflect.ValueOf(&srt).Elem(), "srt")
	items := tokenList{&tok, &tok}
	body, err := json.Marshal(listAPITokensResponse{Status: "success", Summaries: &items, Pagination: &pag, Sorting: &srt})
	if err != nil {
		t.Fatal(err)
	}
	if !decodeBoth(t, body) {
		t.Fatalf("the fast path declines a body with every field set: %s", body)
	}
}

// fill sets every field of the struct v to a distinct non-zero value.
func fill(t *testing.T, v reflect.Value, prefix string) {
	t.Helper()
	for i := range v.NumField() {
		f := v.Field(i)
		name := fmt.Sprintf("%s-%d", prefix, i)
		switch p := f.Addr().Interface().(type) {
		case *time.Time:
			*p = time.Date(2024, 1, 1+i, 2, 3, 4, 5000*i, time.UTC)
		case **time.Time:
			tm := time.Date(2025, 2, 1+i, 2, 3, 4, 0, time.UTC)
			*p = &tm
		case **string:
			*p = &name
		case *int:
			*p = 1000 + i
		case **int:
			n := 2000 + i
			*p = &n
		case **TokenActions:
			// Absent from list summaries; see TestDecodeFastCoversEveryField.
		default:
			if f.Kind() != reflect.String {
				t.Fatalf("field %s of %s has type %s, which this test cannot fill", v.Type().Field(i).Name, v.Type(), f.Type())
			}
			f.SetString(name)
		}
	}
}

// TestDecodeFastResultsOutliveThePool checks that a decoded page owns its
// memory: decoding the next page through the same pooled scratch space
// leaves it unchanged.
func TestDecodeFastResultsOutliveThePool(t *testing.T) {
	pages := renderPages(t, 300)
	var first listAPITokensResponse
	if ok, _ := first.decodeFast(pages.page(0)); !ok {
		t.Fatal("fast path declined a rendered page")
	}
	snapshot, err := json.Marshal(first)
	if err != nil {
		t.Fatal(err)
	}
	for k := 1; k < 3; k++ {
		var next listAPITokensResponse
		if ok, _ := next.decodeFast(pages.page(k)); !ok {
			t.Fatal("fast path declined a rendered page")
		}
	}
	again, _ := json.Marshal(first)
	if !bytes.Equal(snapshot, again) {
		t.Errorf("first page changed after later pages were decoded")
	}
	for i, tok := range *first.Summaries {
		want := benchToken(i)
		if !reflect.DeepEqual(*tok, want) {
			t.Fatalf("token %d = %+v, want %+v", i, *tok, want)
		}
	}
}

// TestDecodeFastAllocatesPerPage guards the point of the fast path: a page
// of 100 tokens costs a handful of allocations, where encoding/json needs
// about nine per token. The bound leaves room for the race detector, which
// makes sync.Pool drop entries at random.
func TestDecodeFastAllocatesPerPage(t *testing.T) {
	body := renderPages(t, benchPageSize).page(0)
	c, err := NewClient(testToken)
	if err != nil {
		t.Fatal(err)
	}
	rd := bytes.NewReader(body)
	resp := &http.Response{StatusCode: http.StatusOK, Header: http.Header{}, ContentLength: int64(len(body)), Body: io.NopCloser(rd)}
	allocs := testing.AllocsPerRun(50, func() {
		rd.Reset(body)
		var out listAPITokensResponse
		if err := (&call{c: c, out: &out}).read(resp); err != nil || len(*out.Summaries) != benchPageSize {
			t.Fatal(err)
		}
	})
	if allocs > 40 {
		t.Errorf("decoding a page of %d tokens took %.0f allocations, want at most 40", benchPageSize, allocs)
	}
}

// decodeList reads body as a list call reads its response.
func decodeList(t *testing.T, body string) *listAPITokensResponse {
	t.Helper()
	c, err := NewClient(testToken)
	if err != nil {
		t.Fatal(err)
	}
	resp := &http.Response{StatusCode: http.StatusOK, Header: http.Header{}, ContentLength: int64(len(body)), Body: io.NopCloser(strings.NewReader(body))}
	var out listAPITokensResponse
	if err := (&call{c: c, out: &out}).read(resp); err != nil {
		t.Fatalf("decoding %s: %v", body, err)
	}
	return &out
}

// A list body with agent_id, null or not, stays on the fast path and
// decodes it.
func TestDecodeAgentIDOnTheFastPath(t *testing.T) {
	body := `{"status":"success","summaries":[` +
		`{"id":"a","token_scope":"agent_deployment","agent_id":"01agent","agent_deployment_id":"01dep"},` +
		`{"id":"b","token_scope":"account","agent_id":null,"agent_deployment_id":null},` +
		`{"id":"c","token_scope":"agent_deployment","agent_id":"01agent","agent_deployment_id":"01dep"}]}`
	var fast listAPITokensResponse
	if ok, _ := fast.decodeFast([]byte(body)); !ok {
		t.Fatal("the fast path declines a body with agent_id")
	}
	out := decodeList(t, body)
	items := *out.Summaries
	if len(items) != 3 {
		t.Fatalf("%d tokens, want 3", len(items))
	}
	for i, want := range []string{"01agent", "", "01agent"} {
		got := items[i].AgentID
		switch {
		case want == "" && got != nil:
			t.Errorf("token %d: AgentID %q, want nil", i, *got)
		case want != "" && (got == nil || *got != want):
			t.Errorf("token %d: AgentID %v, want %q", i, got, want)
		}
		if items[i].AvailableActions != nil {
			t.Errorf("token %d: AvailableActions %+v, want nil without available_actions", i, *items[i].AvailableActions)
		}
	}
	if items[0].AgentID == items[2].AgentID {
		t.Error("two tokens share one AgentID pointer; changing one would change the other")
	}
}

// A body with available_actions goes to encoding/json and decodes it,
// next to the fields the fast path would have read.
func TestDecodeAvailableActionsFallsBack(t *testing.T) {
	body := `{"status":"success","summaries":[` +
		`{"id":"a","status":"suspended","agent_id":"01agent","available_actions":{"activate":true,"delete":false,"revoke":true,"suspend":false}},` +
		`{"id":"b","status":"revoked","available_actions":{"delete":true}},` +
		`{"id":"c","status":"active"}]}`
	var fast listAPITokensResponse
	if ok, _ := fast.decodeFast([]byte(body)); ok {
		t.Fatal("the fast path took a body with available_actions; it does not know TokenActions")
	}
	items := *decodeList(t, body).Summaries
	if len(items) != 3 {
		t.Fatalf("%d tokens, want 3", len(items))
	}
	want := []*TokenActions{{Activate: true, Revoke: true}, {Delete: true}, nil}
	for i, w := range want {
		if !reflect.DeepEqual(items[i].AvailableActions, w) {
			t.Errorf("token %s: AvailableActions %+v, want %+v", items[i].ID, items[i].AvailableActions, w)
		}
	}
	if items[0].Status != TokenStatusSuspended || items[0].AgentID == nil || *items[0].AgentID != "01agent" {
		t.Errorf("token a: %+v; other fields lost on the way through encoding/json", *items[0])
	}
}

// referenceExample is the success body of the endpoint reference, with
// fields the SDK does not know yet and values it has no constant for.
const referenceExample = `{
  "status": "success",
  "summaries": [
    {
      "account_id": "013xrzp12g3nqk8ngskn1wtxgka5b0nf",
      "created_by_admin_user_id": "013xrzp12g3nqk8nh0qrc2b1jfanmvb9",
      "environment_id": "013xrzp12g3nqk8nzxvq7jm2arsfg5h1",
      "expires_at": "2024-01-01T00:00:00Z",
      "id": "013xrzp12g3nqk8n7f8f9jbg8d18q7tm",
      "inserted_at": "2024-01-01T00:00:00Z",
      "last_used_at": "2024-01-01T00:00:00Z",
      "status": "active",
      "token_scope": "account",
      "type": "api_token",
      "updated_at": "2024-01-01T00:00:00Z"
    },
    {
      "account_id": "013xrzp12g3nqk8ngskn1wtxgka5b0nf",
      "created_by_admin_user_id": null,
      "environment_id": null,
      "expires_at": "2025-06-30T12:30:00.123456Z",
      "id": "013xrzp12g3nqk8n7f8f9jbg8d18q7tn",
      "inserted_at": "2024-01-01T00:00:00+02:00",
      "last_used_at": null,
      "status": "quarantined",
      "token_scope": "agent_deployment",
      "agent_deployment_id": "013xrzp12g3nqk8nagentdeploy0001",
      "type": "api_token",
      "updated_at": "2024-01-01T00:00:00Z",
      "future_field": {"nested": [1, 2, 3]}
    }
  ],
  "pagination": {
    "item_count": 200, "item_end": 100, "item_start": 91, "next_page_offset": 110,
    "page_count": 20, "page_index": 10, "page_offset": 90, "page_size": 10, "previous_page_offset": 80
  },
  "sorting": {"direction": "asc", "field": "id"},
  "extra": true
}`
