package prefactortest

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"time"
	"unicode/utf8"

	prefactor "github.com/prefactor-sdk/prefactor-go"
)

// mutationHandler carries out one mutation and returns the answer. It runs
// with s.mu held and must not take it. body is the request body, which is
// empty or a JSON object; now is the server's clock.
type mutationHandler func(r *http.Request, body []byte, now time.Time) reply

// IdempotencyKeyLimit is how many idempotency keys a [Server] remembers:
// the answers to the 10,000 most recent keys. A new key beyond that makes
// the server forget the oldest one, which then counts as never used. The
// SDK gives each mutation a key of its own, so without a bound the keys
// would grow with every mutation for as long as the server runs; with it,
// the server holds at most this many answers, each with the request it
// answered, however long it runs.
const IdempotencyKeyLimit = 10_000

// keyStore keeps the answers to the last limit keys. order holds the keys
// in a ring: once it is full, order[next] is the oldest key and the next
// one to be forgotten.
type keyStore struct {
	limit   int
	answers map[string]keyedAnswer
	order   []string
	next    int
}

func newKeyStore(limit int) keyStore {
	return keyStore{limit: limit, answers: map[string]keyedAnswer{}}
}

// get returns the answer remembered for key, if any.
func (k *keyStore) get(key string) (keyedAnswer, bool) {
	a, ok := k.answers[key]
	return a, ok
}

// put remembers a for key, a key it does not hold, forgetting the oldest
// key when it already holds limit of them. With a limit of 0 or less it
// remembers nothing.
func (k *keyStore) put(key string, a keyedAnswer) {
	switch {
	case k.limit <= 0:
		return
	case len(k.order) < k.limit:
		k.order = append(k.order, key)
	default:
		delete(k.answers, k.order[k.next])
		k.order[k.next] = key
		k.next = (k.next + 1) % k.limit
	}
	k.answers[key] = a
}

// keyedAnswer is the first answer the server gave to an idempotency key,
// and what it answered.
type keyedAnswer struct {
	request string // fingerprint of the request
	status  int
	body    []byte // nil for an answer without a body
}

// mutation wraps the handler of a mutation: it reads the idempotency key
// (idempotency_key in a JSON body, else in the query), then, holding s.mu,
// replays the answer given to that key before, refuses a key used for
// another request, or runs h and remembers its answer under the key.
// Answers of every status h gives (2xx and 4xx) are remembered, for the
// last IdempotencyKeyLimit keys.
func (s *Server) mutation(h mutationHandler) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body) // serve buffered it already
		key, canonical, rep, ok := readMutation(r, body)
		if !ok {
			writeReply(w, rep)
			return
		}
		request := r.Method + " " + r.URL.EscapedPath() + "?" + r.URL.Query().Encode() + "\n" + string(canonical)

		s.mu.Lock()
		if prev, used := s.keys.get(key); key != "" && used {
			s.mu.Unlock()
			if prev.request != request {
				writeReply(w, errorReply(http.StatusUnprocessableEntity, prefactor.CodeIdempotencyKeyAlreadyUsed,
					fmt.Sprintf("idempotency key %q was already used for another request; send a new key for a new request", key), nil))
				return
			}
			writeJSON(w, prev.status, nil, prev.body)
			return
		}
		rep = h(r, body, s.now())
		status, out := encodeReply(rep)
		if key != "" {
			s.keys.put(key, keyedAnswer{request: request, status: status, body: out})
		}
		s.mu.Unlock()
		writeJSON(w, status, rep.header, out)
	}
}

// readMutation checks a mutation's body and idempotency key. It returns the
// key ("" when none was sent) and the body in a canonical form, in which
// two bodies holding the same JSON are equal; or, when the body is not a
// JSON object or the key is unusable, the 400 answer and false.
func readMutation(r *http.Request, body []byte) (key string, canonical []byte, rep reply, ok bool) {
	var fields map[string]json.RawMessage
	if len(bytes.TrimSpace(body)) > 0 {
		dec := json.NewDecoder(bytes.NewReader(body))
		dec.UseNumber()
		var v any
		if err := dec.Decode(&v); err != nil || dec.More() {
			return "", nil, errorReply(http.StatusBadRequest, prefactor.CodeBadRequest, "the request body is not valid JSON", nil), false
		}
		if _, isObject := v.(map[string]any); !isObject {
			return "", nil, errorReply(http.StatusBadRequest, prefactor.CodeBadRequest, "the request body is not a JSON object", nil), false
		}
		canonical, _ = json.Marshal(v) // map keys come out sorted
		_ = json.Unmarshal(body, &fields)
	}

	if raw, sent := fields["idempotency_key"]; sent && string(raw) != "null" {
		if err := json.Unmarshal(raw, &key); err != nil {
			return "", nil, invalidValue(map[string][]string{"idempotency_key": {"must be a string"}}), false
		}
	} else {
		key = r.URL.Query().Get("idempotency_key")
	}
	if utf8.RuneCountInString(key) > maxIdempotencyKey {
		return "", nil, invalidValue(map[string][]string{"idempotency_key": {fmt.Sprintf("must be at most %d characters", maxIdempotencyKey)}}), false
	}
	return key, canonical, reply{}, true
}
