package prefactortest

import (
	"bytes"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"slices"
	"strconv"
	"strings"
	"testing"
)

func TestKeyStoreForgetsTheOldest(t *testing.T) {
	k := newKeyStore(3)
	held := func() []string {
		var out []string
		for _, key := range []string{"a", "b", "c", "d", "e", "f", "g"} {
			if a, ok := k.get(key); ok {
				if a.status != int(key[0]) {
					t.Errorf("%s holds the answer of another key (%d)", key, a.status)
				}
				out = append(out, key)
			}
		}
		return out
	}
	for i, want := range [][]string{
		{"a"}, {"a", "b"}, {"a", "b", "c"}, // filling up
		{"b", "c", "d"}, {"c", "d", "e"}, {"d", "e", "f"}, {"e", "f", "g"}, // once round the ring and more
	} {
		key := string(rune('a' + i))
		k.put(key, keyedAnswer{status: int(key[0])})
		if got := held(); !slices.Equal(got, want) {
			t.Fatalf("after putting %s: holds %v, want %v", key, got, want)
		}
		if len(k.answers) > 3 || len(k.order) > 3 {
			t.Fatalf("after putting %s: %d answers, %d keys in the ring; want at most 3", key, len(k.answers), len(k.order))
		}
	}
}

func TestKeyStoreWithoutRoom(t *testing.T) {
	k := newKeyStore(0)
	k.put("a", keyedAnswer{status: 1})
	if _, ok := k.get("a"); ok || len(k.answers) != 0 || len(k.order) != 0 {
		t.Errorf("a store with a limit of 0 remembered a key")
	}
}

// mutate hands one mutation straight to the server's handler and returns
// its answer.
func mutate(s *Server, method, target, body string) (int, []byte) {
	r := httptest.NewRequest(method, target, strings.NewReader(body))
	r.Header.Set("Authorization", "Bearer "+Token)
	r.Header.Set("Content-Type", "application/json")
	w := httptest.NewRecorder()
	s.serve(w, r)
	return w.Code, w.Body.Bytes()
}

// createdID returns the ID of the token a create answered with.
func createdID(t *testing.T, status int, body []byte) string {
	t.Helper()
	var a struct {
		Details struct{ ID string } `json:"details"`
	}
	if err := json.Unmarshal(body, &a); status != http.StatusCreated || err != nil || a.Details.ID == "" {
		t.Fatalf("create answered %d %s (%v), want 201 and a token", status, body, err)
	}
	return a.Details.ID
}

// The server replays any of the last IdempotencyKeyLimit keys, and serves
// an older one as new: a create sent again with it makes a second token.
func TestIdempotencyKeyWindow(t *testing.T) {
	s := NewServer(t)
	s.SetRequestLimit(0)
	create := func(key string) (int, []byte) {
		return mutate(s, http.MethodPost, "/api/v1/api_token", `{"details":{"token_scope":"account"},"idempotency_key":"`+key+`"}`)
	}
	// other uses up a key with a cheap mutation: a suspend of an unknown
	// token, whose 404 is remembered like any answer.
	other := func(i int) {
		if status, body := mutate(s, http.MethodPost, "/api/v1/api_token/unknown/suspend", `{"idempotency_key":"k-`+strconv.Itoa(i)+`"}`); status != http.StatusNotFound {
			t.Fatalf("suspend of an unknown token: %d %s", status, body)
		}
	}

	firstStatus, firstBody := create("first")
	first := createdID(t, firstStatus, firstBody)
	for i := 1; i < IdempotencyKeyLimit; i++ {
		other(i)
	}
	// "first" is the oldest of the last IdempotencyKeyLimit keys: still held.
	if status, body := create("first"); status != firstStatus || !bytes.Equal(body, firstBody) {
		t.Fatalf("replay of the oldest held key: %d %s, want %d %s", status, body, firstStatus, firstBody)
	}
	if n := len(s.Tokens()); n != 1 {
		t.Fatalf("%d tokens after a replay, want 1", n)
	}

	lastStatus, lastBody := create("last") // one key more: "first" is forgotten
	last := createdID(t, lastStatus, lastBody)
	if status, body := create("last"); status != lastStatus || !bytes.Equal(body, lastBody) {
		t.Errorf("replay of the latest key: %d %s, want %d %s", status, body, lastStatus, lastBody)
	}
	againStatus, againBody := create("first")
	again := createdID(t, againStatus, againBody)
	if again == first || again == last {
		t.Errorf("create with the forgotten key answered token %s again", again)
	}
	var got []string
	for _, tok := range s.Tokens() {
		got = append(got, tok.ID)
	}
	if want := []string{first, last, again}; !slices.Equal(got, want) {
		t.Errorf("tokens %v, want %v: a forgotten key makes a new token", got, want)
	}
	if n, r := len(s.keys.answers), len(s.keys.order); n != IdempotencyKeyLimit || r != IdempotencyKeyLimit {
		t.Errorf("%d answers and %d keys held, want %d of each", n, r, IdempotencyKeyLimit)
	}
}

// A long run of keyed mutations keeps the heap flat: 10,000 of them, each
// with a 1 KiB body the server remembers with its key, would hold more than
// 10 MiB if every key were kept; with a limit of 100 keys the heap after the
// run is within 2 MiB of the heap after the first 1,000.
func TestIdempotencyKeysMemoryStaysFlat(t *testing.T) {
	const (
		limit  = 100
		warmup = 1000
		run    = 10000
		slack  = 2 << 20
	)
	s := NewServer(t)
	s.SetRequestLimit(0)
	s.mu.Lock()
	s.keys = newKeyStore(limit)
	s.mu.Unlock()
	pad := strings.Repeat("x", 1024)
	serve := func(first, n int) {
		for i := first; i < first+n; i++ {
			body := `{"pad":"` + pad + `","idempotency_key":"k-` + strconv.Itoa(i) + `"}`
			if status, _ := mutate(s, http.MethodPost, "/api/v1/api_token/unknown/revoke", body); status != http.StatusNotFound {
				t.Fatalf("revoke of an unknown token answered %d", status)
			}
		}
	}
	serve(0, warmup) // the ring is full, the map at its working size
	before := heapInUse()
	serve(warmup, run)
	after := heapInUse()

	if after > before+slack {
		t.Errorf("HeapInuse grew from %d to %d bytes over %d keyed mutations (+%d), want at most +%d",
			before, after, run, after-before, slack)
	}
	s.mu.Lock()
	n, r := len(s.keys.answers), len(s.keys.order)
	_, newest := s.keys.get("k-" + strconv.Itoa(warmup+run-1))
	_, oldest := s.keys.get("k-" + strconv.Itoa(warmup+run-limit-1))
	s.mu.Unlock()
	if n != limit || r != limit || !newest || oldest {
		t.Errorf("holds %d answers, %d keys, the newest %v, the one before the last %d %v; want %d, %d, true, false",
			n, r, newest, limit, oldest, limit, limit)
	}
	t.Logf("HeapInuse %d → %d bytes over %d keyed mutations, keeping %d keys", before, after, run, limit)
}
