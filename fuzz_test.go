package prefactor

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"math"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"testing"
	"time"
	"unicode/utf8"
)

// Fuzz targets. Seeds live in testdata/fuzz/<FuzzName>/ and run with every
// go test; .ci/run fuzzes each target briefly. No input may panic.

const fuzzToken = "pf_fuzz_secret_0123456789"

func fuzzClient(tb testing.TB) *Client {
	c, err := NewClient(fuzzToken, WithBaseURL("https://api.example.com/prefix"))
	if err != nil {
		tb.Fatal(err)
	}
	return c
}

func fuzzResponse(status int, header http.Header, body []byte) *http.Response {
	if header == nil {
		header = http.Header{}
	}
	return &http.Response{
		StatusCode: status,
		Header:     header,
		Body:       io.NopCloser(bytes.NewReader(body)),
		Request:    &http.Request{Method: http.MethodGet, URL: &url.URL{Path: "/prefix/api/v1/api_token"}},
	}
}

// FuzzDecodeList decodes arbitrary bodies with the fast path and with
// encoding/json: when the fast path takes one, both must give the same
// result; when it declines one, it must leave its output alone.
func FuzzDecodeList(f *testing.F) {
	for _, tc := range fastPathCases {
		f.Add([]byte(tc.body))
	}
	for _, tc := range timestampCases {
		f.Add([]byte(`{"summaries":[{"id":"a","expires_at":` + tc.value + `,"last_used_at":` + tc.value + `}]}`))
	}
	f.Add(renderPages(f, 3).page(0))
	f.Fuzz(func(t *testing.T, body []byte) {
		decodeBoth(t, body)
	})
}

// FuzzDecodeListTimestamp compares parseUTC with time.Time.UnmarshalJSON,
// the parser encoding/json calls, on arbitrary strings: parseUTC may
// decline any, but what it takes it must parse to the same time.Time.
func FuzzDecodeListTimestamp(f *testing.F) {
	for _, tc := range timestampCases {
		f.Add(tc.value)
	}
	f.Fuzz(func(t *testing.T, s string) {
		checkParseUTC(t, s, false)
	})
}

// FuzzDecodeListResponse feeds arbitrary bytes to the list call's 2xx
// decoding. A body it accepts must give a page the caller can use without
// checking for nils: every item non-nil.
func FuzzDecodeListResponse(f *testing.F) {
	for _, tc := range fastPathCases {
		f.Add([]byte(tc.body))
	}
	f.Fuzz(func(t *testing.T, body []byte) {
		var out listAPITokensResponse
		err := decodeResponse(fuzzResponse(200, nil, body), &out)
		if err != nil {
			var readErr *readError
			if errors.As(err, &readErr) && !errors.Is(err, io.ErrUnexpectedEOF) {
				t.Fatalf("an in-memory body failed to read: %v", err)
			}
			if err.Error() == "" {
				t.Fatal("empty error message")
			}
			return
		}
		if (out.Status != "success" && out.Status != "") || out.Summaries == nil {
			t.Fatalf("accepted status %q, summaries %v", out.Status, out.Summaries)
		}
		page := &Page[*APIToken]{Items: *out.Summaries, Pagination: out.Pagination, Sorting: out.Sorting}
		for i, tok := range page.Items {
			if tok == nil {
				t.Fatalf("item %d is nil", i)
			}
			_ = tok.ID
		}
		if next, ok := page.NextOffset(); ok != (out.Pagination != nil && out.Pagination.NextPageOffset != nil) || (ok && next != *out.Pagination.NextPageOffset) {
			t.Fatalf("NextOffset = %d, %v; pagination %+v", next, ok, out.Pagination)
		}
	})
}

// FuzzDecodeErrorBody feeds arbitrary statuses, Retry-After values and
// bodies to the error path. The *APIError must read well and never carry the
// bearer token, even when the server echoes it.
func FuzzDecodeErrorBody(f *testing.F) {
	c := fuzzClient(f)
	f.Fuzz(func(t *testing.T, status int, retryAfter string, body []byte) {
		h := http.Header{}
		if retryAfter != "" {
			h.Set("Retry-After", retryAfter)
		}
		e := newAPIError(fuzzResponse(status, h, body), body, 2, c.token.Reveal())
		msg := e.Error()
		if e.StatusCode != status || e.Attempts != 2 || e.RetryAfter < 0 {
			t.Fatalf("APIError %+v from status %d", e, status)
		}
		if !strings.Contains(msg, strconv.Itoa(status)) || !strings.Contains(msg, "GET /prefix/api/v1/api_token") {
			t.Fatalf("message %q lacks the status or the request", msg)
		}
		if strings.Contains(msg, fuzzToken) || strings.Contains(e.Message, fuzzToken) || strings.Contains(string(e.Code), fuzzToken) {
			t.Fatalf("the token leaks: %q", msg)
		}
		if e.Code == "" && e.Message != "" && !bytes.Contains(body, []byte(`"status"`)) {
			// A snippet of a body that is not the API's JSON: one line, short, valid text.
			if len(e.Message) > maxSnippet || strings.ContainsAny(e.Message, "\n\r\t") || !utf8.ValidString(e.Message) {
				t.Fatalf("snippet %q: want one valid line of at most %d bytes", e.Message, maxSnippet)
			}
		}
		if errors.Is(e, ErrNotFound) != (e.Code == CodeNotFound) {
			t.Fatalf("errors.Is(ErrNotFound) disagrees with Code %q", e.Code)
		}
	})
}

// FuzzListOptionsQuery encodes ListAPITokensOptions the way List does and
// decodes the URL with url.ParseQuery: valid options come back unchanged,
// with nothing added; invalid ones are refused before encoding.
func FuzzListOptionsQuery(f *testing.F) {
	c := fuzzClient(f)
	f.Fuzz(func(t *testing.T, accountID, field, direction string, offset, pageSize int, key string) {
		o := ListAPITokensOptions{
			AccountID:      accountID,
			Sort:           Sort{Field: SortField(field), Direction: SortDirection(direction)},
			Offset:         offset,
			PageSize:       pageSize,
			IdempotencyKey: key,
		}
		if err := o.validate(); err != nil {
			if o.PageSize >= 0 && o.PageSize <= maxPageSize && o.Offset >= 0 && utf8.ValidString(key) && utf8.RuneCountInString(key) <= maxIdempotencyKeyLen && o.Sort.validate() == nil {
				t.Fatalf("valid options refused: %v", err)
			}
			return
		}
		raw, err := c.endpoint("api/v1/api_token", &o)
		if err != nil {
			t.Fatalf("encoding valid options: %v", err)
		}
		u, err := url.Parse(raw)
		if err != nil {
			t.Fatalf("the client built an unparsable URL %q: %v", raw, err)
		}
		if u.Path != "/prefix/api/v1/api_token" || u.Host != "api.example.com" {
			t.Fatalf("URL %q: the options changed the path or host", raw)
		}
		got, err := url.ParseQuery(u.RawQuery)
		if err != nil {
			t.Fatalf("query %q does not parse: %v", u.RawQuery, err)
		}
		want := url.Values{}
		if o.AccountID != "" {
			want.Set("account_id", o.AccountID)
		}
		if o.Sort.Field != "" {
			if o.Sort.Direction == SortDesc {
				want.Set("sorting", "-"+field)
			} else {
				want.Set("sorting", field)
			}
		}
		if o.Offset != 0 {
			want.Set("pagination[offset]", strconv.Itoa(o.Offset))
		}
		if o.PageSize != 0 {
			want.Set("pagination[page_size]", strconv.Itoa(o.PageSize))
		}
		if o.IdempotencyKey != "" {
			want.Set("idempotency_key", o.IdempotencyKey)
		}
		if got.Encode() != want.Encode() {
			t.Fatalf("options %+v\nencoded %q\ndecoded %v\nwant    %v", o, u.RawQuery, got, want)
		}
	})
}

// FuzzParseRetryAfter: any header value parses without panicking; a value it
// accepts is a wait of zero or more that matches the header's form.
func FuzzParseRetryAfter(f *testing.F) {
	now := time.Date(2025, 6, 1, 12, 0, 0, 0, time.UTC)
	f.Fuzz(func(t *testing.T, v string) {
		d, ok := parseRetryAfter(v, now)
		if !ok {
			if d != 0 {
				t.Fatalf("parseRetryAfter(%q) = %s, false; want 0 when refused", v, d)
			}
			return
		}
		if d < 0 {
			t.Fatalf("parseRetryAfter(%q) = %s: negative", v, d)
		}
		s := strings.TrimSpace(v)
		if s != "" && strings.Trim(s, "0123456789") == "" {
			want := time.Duration(math.MaxInt64)
			if n, err := strconv.ParseInt(s, 10, 64); err == nil && n <= math.MaxInt64/int64(time.Second) {
				want = time.Duration(n) * time.Second
			}
			if d != want {
				t.Fatalf("parseRetryAfter(%q) = %s; want %s", v, d, want)
			}
			return
		}
		at, err := http.ParseTime(s)
		if err != nil {
			t.Fatalf("parseRetryAfter(%q) accepted what is neither seconds nor an HTTP-date", v)
		}
		if want := max(at.Sub(now), 0); d != want {
			t.Fatalf("parseRetryAfter(%q) = %s; want %s", v, d, want)
		}
	})
}

// FuzzScrub checks scrub against its own matcher, for any text and a
// spelling of the secret built from choices, one per character: what
// scrub returns holds no spelling of the secret (so scrubbing again
// changes nothing), and text with none of the bytes a spelling can start
// with comes back as it is.
func FuzzScrub(f *testing.F) {
	const secret = scrubSecret
	f.Add("", []byte{})
	f.Add("token "+secret+" refused", []byte{0, 1, 2, 3, 4, 5})
	f.Add(`{"message":"`+strings.ReplaceAll(secret, "/", `\/`)+`"}`, []byte{1})
	f.Add(url.QueryEscape(secret)+"&#43;&#x2F;%2b%2F\\u002B", []byte{2, 3, 4, 5, 6})
	f.Add("plain text, no escapes", []byte{6, 5, 4, 3, 2, 1, 0})
	f.Fuzz(func(t *testing.T, text string, choices []byte) {
		noSpelling := func(what, s string) {
			for i := 0; i < len(s); i++ {
				if end := matchSecret(s, i, secret); end > 0 {
					t.Fatalf("%s: scrub left a spelling of the secret at %d: %q", what, i, s[i:end])
				}
			}
		}
		out := scrub(text, secret)
		noSpelling("text", out)
		if again := scrub(out, secret); again != out {
			t.Fatalf("scrub is not a fixed point:\n once  %q\n twice %q", out, again)
		}
		if !strings.ContainsAny(text, secret[:1]+`\%&`) && out != text {
			t.Fatalf("scrub changed text without a spelling: %q -> %q", text, out)
		}

		// The secret, each character spelled as choices say, between text.
		spelled := spell(secret, func(i int, c byte) string {
			k := 0
			if len(choices) > 0 {
				k = int(choices[i%len(choices)]) % len(byteSpellings)
			}
			return fmt.Sprintf(byteSpellings[k], c)
		})
		in := text + spelled + text
		out = scrub(in, secret)
		noSpelling("text with the secret", out)
		if out == in || !strings.Contains(out, redacted) {
			t.Fatalf("scrub missed the secret in %q", in)
		}
	})
}
