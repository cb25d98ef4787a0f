package prefactor

// The SDK's limits, in one place. Each bounds what a caller or a server can
// make the SDK hold or do; docs/limits.md lists them with what happens past
// each one.

// What the SDK reads of a response. Buffers grow with the bytes that
// arrive, never with a size the server announces.
const (
	// maxSuccessBody bounds a 2xx body. A full page of 100 tokens is about
	// 50 KiB, so this leaves room for growth while keeping a broken or
	// hostile server from filling memory.
	maxSuccessBody = 16 << 20
	// maxErrorBody bounds how much of an error response is read.
	maxErrorBody = 1 << 20
	// maxDrain bounds what is read of a body nobody needs, so that its
	// connection can be reused.
	maxDrain = 64 << 10
	// maxPooledBody is the largest body buffer kept for reuse.
	maxPooledBody = 1 << 20
	// maxPageItems bounds the items of one page. The API sends at most 100;
	// a page of a million empty objects would otherwise cost hundreds of
	// bytes of memory for each three bytes received.
	maxPageItems = 1000
	// maxSkipDepth bounds the nesting of values the fast decoder skips;
	// deeper ones go to encoding/json, which has its own limit.
	maxSkipDepth = 64
	// maxPooledText is the largest text scratch space of the fast decoder
	// kept for reuse, so that a page of unusually large values does not pin
	// it in the pool.
	maxPooledText = 1 << 20
)

// What an error holds of what the server sent.
const (
	// maxSnippet bounds APIError.Message when the body is not the API's
	// error JSON.
	maxSnippet = 200
	// maxMessage bounds APIError.Message from the API's error JSON.
	maxMessage = 4 << 10
	// maxShown bounds what an error quotes of a path, URL, code or header,
	// which a caller's ID or a server could make as long as it likes.
	maxShown = 256
	// maxFieldErrors bounds the errors object decoded into APIError.Errors:
	// decoded into maps, JSON costs many times its size.
	maxFieldErrors = 64 << 10
	// maxFieldDepth is how deep APIError.FieldErrors joins nested keys;
	// deeper objects become their JSON text, so its result stays linear in
	// the size of the errors object.
	maxFieldDepth = 16
)

// What a caller may ask for.
const (
	// maxPageSize is the largest page the API serves.
	maxPageSize = 100
	// maxIdempotencyKeyLen is the API's limit on an idempotency key, in
	// characters.
	maxIdempotencyKeyLen = 64
	// maxConcurrency bounds WithConcurrency.
	maxConcurrency = 16
)

// How far the SDK follows a server.
const (
	// maxRedirects is how many redirects one attempt follows.
	maxRedirects = 10
	// maxEmptyRun is how many pages in a row may bring nothing new yet name
	// a next page before a walk stops with ErrPaginationStalled.
	maxEmptyRun = 3
)
