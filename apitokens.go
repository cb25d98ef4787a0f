package prefactor

import (
	"context"
	"errors"
	"fmt"
	"iter"
	"maps"
	"net/http"
	"reflect"
	"strconv"
	"strings"
	"sync/atomic"
	"unicode/utf8"

	"github.com/google/go-querystring/query"
)

// APITokensService lists, creates and manages the account's API tokens: the
// /api/v1/api_token endpoints. Get it from [Client].APITokens. These rules
// hold for all its methods.
//
// # Lifecycle
//
// The service moves a token through its states as follows, and refuses any
// other move with an *APIError whose Code is [CodeInvalidAction] (the SDK
// does not check states itself; [APIToken.AvailableActions], when the
// server sends it, says which moves a token allows):
//
//	method    from                 to
//	Suspend   active               suspended
//	Activate  suspended            active
//	Revoke    active or suspended  revoked (final)
//	Delete    revoked              gone
//
// # IDs
//
// An empty or blank id, or "." or "..", gives an error matching
// [ErrInvalidArgument] and nothing is sent. Any other id is escaped as one
// path segment, so "/", "?", "#" and "%" in it never name another path.
//
// # Idempotency and retries
//
// Every call that changes something (Create, Suspend, Activate, Revoke,
// Delete) carries an idempotency key in its JSON body: the caller's, given
// with [WithIdempotencyKey], or a random one. Every attempt repeats it, so
// the server acts once, and the calls are retried like GETs: on transport
// errors, bodies cut short, 429 and 5xx but 501 (see the README's retry
// policy).
//
// # Errors
//
// Options out of range give an error matching [ErrInvalidArgument] before
// anything is sent. An HTTP error status gives an *APIError (errors.As),
// also when retries are used up; [ErrNotFound] and [ErrRateLimited] match
// the common ones. A transport failure or a malformed body gives an error
// that names the operation; a cancelled ctx gives an error matching
// ctx.Err(). No error holds the bearer token.
type APITokensService struct {
	client *Client
}

// ListAPITokensOptions selects and orders the tokens List and All return.
// The zero value lists the token's own account in the server's order, with
// the server's default page size.
type ListAPITokensOptions struct {
	// AccountID lists another account the token may see; "" means the
	// token's own account. Query parameter account_id.
	AccountID string `url:"account_id,omitempty"`
	// Sort orders the list; the zero Sort leaves it to the server.
	// Query parameter sorting.
	Sort Sort `url:"sorting,omitempty"`
	// Offset is the zero-based index of the first token to return.
	// Query parameter pagination[offset].
	Offset int `url:"pagination[offset],omitempty"`
	// PageSize is how many tokens a page holds, 1 to 100; 0 means the
	// server's default. Query parameter pagination[page_size].
	PageSize int `url:"pagination[page_size],omitempty"`
	// IdempotencyKey, at most 64 characters, is sent as idempotency_key.
	// All sends it with the first page only, so a server that replays by
	// key never hands back page one for a later page.
	IdempotencyKey string `url:"idempotency_key,omitempty"`
}

// offsetParam is the query parameter of ListAPITokensOptions.Offset, read
// from its url tag so that the tag stays the one place that names it.
var offsetParam = func() string {
	f, _ := reflect.TypeFor[ListAPITokensOptions]().FieldByName("Offset")
	name, _, _ := strings.Cut(f.Tag.Get("url"), ",")
	return name
}()

const (
	maxPageSize          = 100
	maxIdempotencyKeyLen = 64
)

// validate reports options the API would refuse, before anything is sent.
func (o *ListAPITokensOptions) validate() error {
	switch {
	case o.PageSize < 0 || o.PageSize > maxPageSize:
		return fmt.Errorf("page size %d out of range: want 1..%d, or 0 for the server's default", o.PageSize, maxPageSize)
	case o.Offset < 0:
		return fmt.Errorf("offset %d is negative", o.Offset)
	}
	if err := checkKey(o.IdempotencyKey); err != nil {
		return err
	}
	return o.Sort.validate()
}

// checkKey reports an idempotency key the API could not take as sent: over
// its limit of 64 characters (not bytes), or not valid UTF-8, which JSON
// would rewrite (each bad byte becomes U+FFFD), so that two different keys
// would reach the server as one.
func checkKey(key string) error {
	if !utf8.ValidString(key) {
		return errors.New("idempotency key is not valid UTF-8")
	}
	if n := utf8.RuneCountInString(key); n > maxIdempotencyKeyLen {
		return fmt.Errorf("idempotency key is %d characters long; the limit is %d", n, maxIdempotencyKeyLen)
	}
	return nil
}

// listAPITokensResponse is the body of a successful list call.
type listAPITokensResponse struct {
	Status     string      `json:"status"`
	Summaries  *tokenList  `json:"summaries"`
	Pagination *Pagination `json:"pagination"`
	Sorting    *Sorting    `json:"sorting"`
}

func (r *listAPITokensResponse) check() error {
	if err := checkStatus(r.Status); err != nil {
		return err
	}
	if r.Summaries == nil {
		return errors.New("no summaries in the response")
	}
	// A null entry would reach the caller as a nil *APIToken with a nil
	// error, and the caller's tok.ID would panic.
	for i, tok := range *r.Summaries {
		if tok == nil {
			return fmt.Errorf("summaries[%d] is null", i)
		}
	}
	return nil
}

const opListAPITokens = "list API tokens"

// List returns one page of API tokens: GET /api/v1/api_token.
//
// opts may be nil. Options out of range (see [ListAPITokensOptions]) give an
// error matching [ErrInvalidArgument] and nothing is sent. The other errors
// are described on [APITokensService].
func (s *APITokensService) List(ctx context.Context, opts *ListAPITokensOptions, reqOpts ...RequestOption) (*Page[*APIToken], error) {
	o, cfg, err := listOptions(opts, reqOpts)
	if err != nil {
		return nil, invalidArgument(opListAPITokens, err)
	}
	return s.list(ctx, &o, nil, cfg.responseInto)
}

// listOptions copies opts (nil: the zero options), applies reqOpts and
// checks the result.
func listOptions(opts *ListAPITokensOptions, reqOpts []RequestOption) (ListAPITokensOptions, requestConfig, error) {
	var o ListAPITokensOptions
	if opts != nil {
		o = *opts
	}
	cfg, err := newRequestConfig(reqOpts)
	if err != nil {
		return o, cfg, err
	}
	if cfg.idempotencyKeySet {
		if o.IdempotencyKey != "" && o.IdempotencyKey != cfg.idempotencyKey {
			return o, cfg, errors.New("two different idempotency keys: ListAPITokensOptions.IdempotencyKey and WithIdempotencyKey")
		}
		o.IdempotencyKey = cfg.idempotencyKey
	}
	return o, cfg, o.validate()
}

// list sends a list request with query q: validated options, or their
// url.Values. throttled, when not nil, counts the 429s it receives.
func (s *APITokensService) list(ctx context.Context, q any, throttled *atomic.Int64, into **http.Response) (*Page[*APIToken], error) {
	var resp listAPITokensResponse
	err := s.client.do(ctx, &apiRequest{
		op:           opListAPITokens,
		method:       http.MethodGet,
		path:         apiTokensPath,
		query:        q,
		idempotent:   true,
		throttled:    throttled,
		responseInto: into,
	}, &resp)
	if err != nil {
		return nil, err
	}
	return &Page[*APIToken]{Items: []*APIToken(*resp.Summaries), Pagination: resp.Pagination, Sorting: resp.Sorting}, nil
}

// All returns every API token, page after page, for use in a for-range loop:
//
//	for tok, err := range client.APITokens.All(ctx, nil) {
//		if err != nil {
//			return err
//		}
//		fmt.Println(tok.ID)
//	}
//
// It starts at opts.Offset and follows the server's next_page_offset until
// the last page. It yields tokens in server order, exactly as the pages list
// them: a token that appears on two pages (the list changed while paging) is
// yielded twice, so deduplicate by ID if that matters. On the first error (the
// same kinds as List, plus [ErrPaginationStalled] when the server's pages
// stop making progress) it yields (nil, err) once and stops. Breaking out of
// the loop sends no further request. opts is copied, never modified; each
// range over the result starts again from the first page. The idempotency
// key, if any, goes with the first page only.
//
// [WithConcurrency](n) fetches up to n pages at once, still yielding in
// order and each token once. By default pages are fetched one after
// another.
func (s *APITokensService) All(ctx context.Context, opts *ListAPITokensOptions, reqOpts ...RequestOption) iter.Seq2[*APIToken, error] {
	o, cfg, err := listOptions(opts, reqOpts)
	return func(yield func(*APIToken, error) bool) {
		if err != nil {
			yield(nil, invalidArgument(opListAPITokens, err))
			return
		}
		// Pages after the first differ only in their offset: encode the rest
		// once for the walk.
		later := o
		later.Offset, later.IdempotencyKey = 0, ""
		base, err := query.Values(&later)
		if err != nil {
			yield(nil, invalidArgument(opListAPITokens, err))
			return
		}
		pages := allPages(ctx, opListAPITokens, o.Offset, cfg.concurrency, cfg.responseInto, func(ctx context.Context, offset int, first bool, throttled *atomic.Int64) (*Page[*APIToken], *http.Response, error) {
			var q any = base
			if first {
				page := o
				page.Offset = offset
				q = &page
			} else if offset != 0 {
				v := maps.Clone(base)
				v.Set(offsetParam, strconv.Itoa(offset))
				q = v
			}
			var resp *http.Response
			page, err := s.list(ctx, q, throttled, &resp)
			return page, resp, err
		})
		pages(yield)
	}
}
