package prefactor

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"reflect"
	"runtime"
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
// encoding/json (false). Either way decodeBoth checks that nothing differs
// from what encoding/json makes of them.
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
	{"repeated value shares text", `{"status":"success","summaries":[{"account_id":"acc","id":"a"},{"account_id":"acc","id":"b"},{"account_id":"other","id":"c"}]}`, true},
	{"agent fields", `{"status":"success","summaries":[{"id":"a","agent_id":"ag","agent_deployment_id":"dep"},{"id":"b","agent_id":null,"agent_deployment_id":null}]}`, true},
	{"known values in other fields", `{"status":"success","summaries":[{"id":"active","account_id":"success","environment_id":"account","type":"revoked"},{"id":"id","environment_id":"account"}],"sorting":{"field":"status","direction":"desc"}}`, true},
	{"key order changes from token to token", `{"summaries":[{"id":"a","status":"active","type":"api_token"},{"type":"api_token","id":"b"},{"status":"revoked","x":1,"id":"c","type":"api_token"},{}],"status":"success"}`, true},
	{"white space in one token only", `{"summaries":[{"id":"a","status":"active"},{ "id" : "b" , "status" : "revoked" },{"id":"c","status":"active"}]}`, true},
	{"a key that extends the previous token's", `{"summaries":[{"id":"a","status":"active"},{"idx":"b","statuses":"revoked","id":"b"}]}`, true},
	{"a token that parts from the previous one after its pointers", `{"summaries":[` +
		`{"id":"a","environment_id":"e","last_used_at":"2024-01-01T00:00:00Z","agent_id":null,"status":"active"},` +
		`{"id":"b","environment_id":"f","last_used_at":"2024-01-02T00:00:00Z","agent_id":"g","x":1,"status":"revoked"},` +
		`{"id":"c","environment_id":"f","last_used_at":"2024-01-03T00:00:00Z","agent_id":"g","status":"revoked"},` +
		`{"id":"d","environment_id":null,"last_used_at":null,"agent_id":null,"status":"revoked"}]}`, true},
	{"an unknown key in every token", `{"summaries":[{"id":"a","new":{"b":[1]},"status":"active"},{"id":"b","new":{"b":[2]},"status":"active"}]}`, true},
	{"a token that ends early", `{"summaries":[{"id":"a","status":"active","type":"api_token"},{"id":"b"},{"id":"c","status":"active"}]}`, true},
	{"more keys than the decoder learns", `{"summaries":[{` + strings.Repeat(`"x":0,`, 20) + `"id":"a"},{` + strings.Repeat(`"x":0,`, 20) + `"id":"b"}]}`, true},

	{"escape in a skipped value", `{"x":{"a":"\u00e9\n"},"status":"success","summaries":[]}`, false},
	{"escaped string", `{"status":"success","summaries":[{"id":"a\"b"}]}`, false},
	{"escaped slash", `{"status":"success","summaries":[{"id":"a\/b"}]}`, false},
	{"non-ASCII string", `{"status":"success","summaries":[{"id":"é"}]}`, false},
	{"invalid UTF-8", "{\"status\":\"success\",\"summaries\":[{\"id\":\"\xff\"}]}", false},
	{"case-insensitive key", `{"status":"success","summaries":[{"ID":"a"}]}`, false},
	{"case-insensitive key after the order is learned", `{"status":"success","summaries":[{"id":"a","status":"active"},{"id":"b","Status":"revoked"}]}`, false},
	{"case-insensitive envelope key", `{"Status":"success","summaries":[]}`, false},
	{"case-insensitive pagination key", `{"summaries":[],"pagination":{"Page_Size":10}}`, false},
	{"repeated key", `{"status":"success","summaries":[{"id":"a","id":"b"}]}`, false},
	{"repeated key after the order is learned", `{"status":"success","summaries":[{"id":"a","type":"api_token"},{"id":"b","id":"c"}]}`, false},
	{"repeated pointer key, null last", `{"status":"success","summaries":[{"id":"a","environment_id":"e"},{"id":"b","environment_id":"e","environment_id":null}]}`, false},
	{"repeated summaries", `{"status":"success","summaries":[{"id":"a"}],"summaries":[]}`, false},
	{"repeated pagination key", `{"summaries":[],"pagination":{"page_size":10,"page_size":20}}`, false},
	{"null token", `{"status":"success","summaries":[null]}`, false},
	{"null string field", `{"status":"success","summaries":[{"id":null}]}`, false},
	{"null time field", `{"status":"success","summaries":[{"expires_at":null}]}`, false},
	{"null int field", `{"summaries":[],"pagination":{"page_size":null}}`, false},
	{"null summaries", `{"status":"success","summaries":null}`, false},
	{"float offset", `{"status":"success","summaries":[],"pagination":{"page_size":10.0}}`, false},
	{"exponent offset", `{"status":"success","summaries":[],"pagination":{"page_size":1e1}}`, false},
	{"huge offset", `{"status":"success","summaries":[],"pagination":{"page_size":99999999999999999999}}`, false},
	{"leading zero", `{"status":"success","summaries":[],"pagination":{"page_size":01}}`, false},
	{"leading zero in a skipped value", `{"x":01,"summaries":[]}`, false},
	{"bad time", `{"status":"success","summaries":[{"id":"x","expires_at":"yesterday"}]}`, false},
	{"number for string", `{"status":"success","summaries":[{"id":5}]}`, false},
	{"string for number", `{"summaries":[],"pagination":{"page_size":"10"}}`, false},
	{"object for summaries", `{"status":"success","summaries":{"id":"x"}}`, false},
	{"available actions", `{"status":"success","summaries":[{"id":"a","available_actions":{"activate":false,"delete":false,"revoke":true,"suspend":true}}]}`, false},
	{"null available actions", `{"status":"success","summaries":[{"id":"a","available_actions":null}]}`, false},
	{"truncated", `{"status":"success","summaries":[`, false},
	{"truncated inside a token", `{"status":"success","summaries":[{"id":"a","status":"act`, false},
	{"truncated after a key", `{"summaries":[{"id":"a"},{"id":`, false},
	{"not JSON", `<html>hello</html>`, false},
	{"empty", ``, false},
	{"array", `[1,2]`, false},
	{"bad skipped value", `{"x":[1,],"status":"success","summaries":[]}`, false},
	{"bad escape in skipped value", `{"x":"\q","status":"success","summaries":[]}`, false},
	{"control character", "{\"status\":\"success\",\"summaries\":[{\"id\":\"a\tb\"}]}", false},
	{"deep nesting", `{"x":` + strings.Repeat("[", 100) + strings.Repeat("]", 100) + `,"summaries":[]}`, false},
}

// timestampCases are values of a timestamp field, each decoded in a body
// by both paths. The fast path reads the API's layout itself and sends
// anything else to time.Time.UnmarshalJSON; either way the time.Time must
// be the one encoding/json makes, Location included.
var timestampCases = []struct {
	value string
	fast  bool // the fast path reads it itself
}{
	{`"2024-01-01T00:00:00Z"`, true},
	{`"0000-01-01T00:00:00Z"`, true},
	{`"0000-02-29T23:59:59Z"`, true},
	{`"0001-01-01T00:00:00Z"`, true},
	{`"1969-12-31T23:59:59.999999999Z"`, true},
	{`"1970-01-01T00:00:00Z"`, true},
	{`"9999-12-31T23:59:59.999999999Z"`, true},
	{`"2024-02-29T12:00:00Z"`, true},
	{`"2023-02-29T12:00:00Z"`, false},
	{`"1900-02-29T12:00:00Z"`, false},
	{`"2000-02-29T12:00:00Z"`, true},
	{`"2024-04-31T00:00:00Z"`, false},
	{`"2024-12-31T00:00:00Z"`, true},
	{`"2024-13-01T00:00:00Z"`, false},
	{`"2024-00-10T00:00:00Z"`, false},
	{`"2024-01-00T00:00:00Z"`, false},
	{`"2024-01-32T00:00:00Z"`, false},
	{`"2024-01-01T24:00:00Z"`, false},
	{`"2024-01-01T23:60:00Z"`, false},
	{`"2016-12-31T23:59:60Z"`, false},
	{`"2024-01-01T00:00:00.5Z"`, true},
	{`"2024-01-01T00:00:00.123Z"`, true},
	{`"2024-01-01T00:00:00.123456Z"`, true},
	{`"2024-01-01T00:00:00.123456789Z"`, true},
	{`"2024-01-01T00:00:00.1234567891Z"`, true},
	{`"2024-01-01T00:00:00.999999999999999999999Z"`, true},
	{`"2024-01-01T00:00:00.Z"`, false},
	{`"2024-01-01T00:00:00,5Z"`, false},
	{`"2024-01-01T00:00:00.5"`, false},
	{`"2024-01-01T00:00:00"`, false},
	{`"2024-01-01t00:00:00Z"`, false},
	{`"2024-01-01T00:00:00z"`, false},
	{`"2024-01-01 00:00:00Z"`, false},
	{`"2024-01-01T00:00:00+00:00"`, false},
	{`"2024-01-01T00:00:00-00:00"`, false},
	{`"2024-01-01T00:00:00+02:00"`, false},
	{`"2024-02-29T23:59:59.999999999-07:30"`, false},
	{`"2024-01-01T00:00:00+24:00"`, false},
	{`"2024-01-01T00:00:00Z "`, false},
	{`"2024-1-01T00:00:00Z"`, false},
	{`"20240-01-01T00:00:00Z"`, false},
	{`"+2024-01-01T00:00:00Z"`, false},
	{`"２024-01-01T00:00:00Z"`, false},
	{`"2024-01-01T00:00:00\u005a"`, false},
	{`"2024-01-01T00:00:00Z`, false},
	{`""`, false},
	{`"Z"`, false},
	{`2024`, false},
	{`null`, false},
	{`true`, false},
}

func TestDecodeTimestampsAgreeWithEncodingJSON(t *testing.T) {
	for _, tc := range timestampCases {
		for _, key := range []string{"inserted_at", "last_used_at"} {
			body := `{"status":"success","summaries":[{"id":"a","` + key + `":` + tc.value + `}]}`
			decodeBoth(t, []byte(body))
		}
		if _, n := parseUTC([]byte(tc.value)); (n > 0) != tc.fast {
			t.Errorf("parseUTC takes %s: %v, want %v", tc.value, n > 0, tc.fast)
		}
	}
}

// TestParseUTCMatchesTime sweeps the calendar: every day number from 0 to
// 32 of every month of years around the leap-year rules' edges, in the
// layout parseUTC reads, must parse as time.Time.UnmarshalJSON parses it or
// be declined where UnmarshalJSON fails.
func TestParseUTCMatchesTime(t *testing.T) {
	years := []int{0, 1, 3, 4, 99, 100, 101, 399, 400, 401, 1582, 1899, 1900, 1969, 1970, 1999, 2000, 2024, 2025, 2100, 2400, 9998, 9999}
	for _, y := range years {
		for m := 0; m <= 13; m++ {
			for d := 0; d <= 32; d++ {
				for _, rest := range []string{"T00:00:00Z", "T23:59:59.987654321987Z", "T12:34:56.5Z"} {
					s := fmt.Sprintf(`"%04d-%02d-%02d%s"`, y, m, d, rest)
					checkParseUTC(t, s, true)
				}
			}
		}
	}
}

// TestParseUTCEveryByteAnywhere puts each of the 256 byte values in
// each place of a timestamp parseUTC takes, so that every digit and
// separator it checks meets every byte it could be instead.
func TestParseUTCEveryByteAnywhere(t *testing.T) {
	for _, valid := range []string{`"2024-02-29T23:59:59Z"`, `"1999-12-31T00:00:00.5Z"`} {
		for i := range len(valid) {
			for c := range 256 {
				b := []byte(valid)
				b[i] = byte(c)
				checkParseUTC(t, string(b), false)
			}
		}
	}
}

// checkParseUTC fails unless parseUTC either declines s or takes a JSON
// string from its start and parses it to exactly what
// time.Time.UnmarshalJSON makes of that string. For s in the API's layout
// it may decline only what UnmarshalJSON refuses.
func checkParseUTC(t testing.TB, s string, apiLayout bool) {
	t.Helper()
	got, n := parseUTC([]byte(s))
	var want time.Time
	if n == 0 {
		if apiLayout && want.UnmarshalJSON([]byte(s)) == nil {
			t.Errorf("parseUTC declines %s, which time.Time accepts as %v", s, want)
		}
		return
	}
	if err := want.UnmarshalJSON([]byte(s[:n])); err != nil {
		t.Errorf("parseUTC accepts %s as %v; time.Time says %v", s[:n], got, err)
	} else if !reflect.DeepEqual(got, want) || got.Location() != want.Location() {
		t.Errorf("parseUTC(%s) = %#v, time.Time says %#v", s[:n], got, want)
	}
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

// TestDecodeKeysMatchStructTags checks the decoder's key tables against
// the JSON names of the fields they stand for, so that a field renamed or
// added in types.go or pagination.go fails here until decode.go follows.
func TestDecodeKeysMatchStructTags(t *testing.T) {
	for _, tc := range []struct {
		keys keys
		typ  reflect.Type
	}{
		{envelopeKeys, reflect.TypeFor[listAPITokensResponse]()},
		{tokenKeys, reflect.TypeFor[APIToken]()},
		{paginationKeys, reflect.TypeFor[Pagination]()},
		{sortingKeys, reflect.TypeFor[Sorting]()},
	} {
		var tags []string
		for i := range tc.typ.NumField() {
			name, _, _ := strings.Cut(tc.typ.Field(i).Tag.Get("json"), ",")
			tags = append(tags, name)
		}
		if got := tc.keys[1:]; !reflect.DeepEqual([]string(got), tags) {
			t.Errorf("%s: the decoder knows the keys %q, the struct has %q", tc.typ, got, tags)
		}
	}
	for k, name := range tokenKeys {
		if k > 0 && tokenLiterals[k] != `"`+name+`":` {
			t.Errorf("literal %q for key %q", tokenLiterals[k], name)
		}
	}
	if len(tokenKeys) != nTokenKeys {
		t.Errorf("%d token keys, nTokenKeys is %d", len(tokenKeys), nTokenKeys)
	}
}

// A summaries value that is not an array gets encoding/json's type error,
// naming the field, on the way through encoding/json.
func TestDecodeSummariesNotAnArray(t *testing.T) {
	for _, body := range []string{`{"summaries":{"id":"x"}}`, `{"summaries":5}`, `{"summaries":"x"}`, `{"summaries":true}`} {
		var out listAPITokensResponse
		err := json.NewDecoder(strings.NewReader(body)).Decode(&out)
		var te *json.UnmarshalTypeError
		if !errors.As(err, &te) || te.Field != "summaries" || te.Value != "non-array" ||
			err.Error() != "json: cannot unmarshal non-array into Go struct field listAPITokensResponse.summaries of type []*prefactor.APIToken" {
			t.Errorf("%s: error %v, want encoding/json's type error for summaries", body, err)
		}
	}
}

// Both paths refuse a page of more than maxPageItems items with
// errTooManyItems, and take one of exactly maxPageItems.
func TestDecodeBoundsItemsOnBothPaths(t *testing.T) {
	page := func(n int, item string) []byte {
		return []byte(`{"status":"success","summaries":[` + strings.TrimSuffix(strings.Repeat(item+",", n), ",") + `]}`)
	}
	for _, tc := range []struct {
		item string
		fast bool
	}{{`{"id":"a"}`, true}, {`{"id":"\u0061"}`, false}} {
		if !decodeBoth(t, page(maxPageItems, tc.item)) == tc.fast {
			t.Errorf("%s: the fast path took a full page: %v, want %v", tc.item, !tc.fast, tc.fast)
		}
		var fast listAPITokensResponse
		ok, fastErr := fast.decodeFast(page(maxPageItems+1, tc.item))
		var slow listAPITokensResponse
		slowErr := json.Unmarshal(page(maxPageItems+1, tc.item), &slow)
		if !errors.Is(slowErr, errTooManyItems) {
			t.Errorf("%s: encoding/json's path gives %v, want errTooManyItems", tc.item, slowErr)
		}
		if tc.fast && (ok || !errors.Is(fastErr, errTooManyItems) || fast.Summaries != nil) {
			t.Errorf("%s: fast path gives %v, %v, %v; want errTooManyItems and no output", tc.item, ok, fastErr, fast.Summaries)
		}
	}
}

// A page's slab is sized from the previous page's count but never beyond
// what the body can hold: a small body after a large page costs little.
func TestDecodeFastSlabGrowsWithTheBody(t *testing.T) {
	big := []byte(`{"status":"success","summaries":[` + strings.Repeat(`{"id":"a"},`, maxPageItems-1) + `{"id":"a"}]}`)
	small := []byte(`{"status":"success","summaries":[{"id":"a"}]}`)
	var before, after runtime.MemStats
	var total uint64
	const runs = 20
	for range runs {
		var out listAPITokensResponse
		if ok, err := out.decodeFast(big); !ok || err != nil {
			t.Fatalf("decoding a page of %d tokens: %v %v", maxPageItems, ok, err)
		}
		runtime.ReadMemStats(&before)
		if ok, _ := out.decodeFast(small); !ok {
			t.Fatal("fast path declined a small page")
		}
		runtime.ReadMemStats(&after)
		total += after.TotalAlloc - before.TotalAlloc
	}
	if total/runs > 4096 {
		t.Errorf("decoding a one-token body of %d bytes after a page of %d tokens allocated %d bytes", len(small), maxPageItems, total/runs)
	}
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
	for _, offset := range []int{100, 200} {
		var next listAPITokensResponse
		if ok, _ := next.decodeFast(pages.page(offset)); !ok {
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
	rd := bytes.NewReader(body)
	resp := &http.Response{StatusCode: http.StatusOK, Header: http.Header{}, ContentLength: int64(len(body))}
	allocs := testing.AllocsPerRun(50, func() {
		rd.Reset(body)
		resp.Body = io.NopCloser(rd)
		var out listAPITokensResponse
		if err := decodeResponse(resp, &out); err != nil || len(*out.Summaries) != benchPageSize {
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
	resp := &http.Response{StatusCode: http.StatusOK, Header: http.Header{}, ContentLength: int64(len(body)), Body: io.NopCloser(strings.NewReader(body))}
	var out listAPITokensResponse
	if err := decodeResponse(resp, &out); err != nil {
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
