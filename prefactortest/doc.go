// Package prefactortest helps test code that uses prefactor-go, without the
// network and without a real API token. One fake of the API serves three
// ways in:
//
//   - over loopback: [NewServer] starts it on httptest, and [Server.Client]
//     returns a client of it;
//   - behind httpmock: [Server.Responder] answers any request of an
//     httpmock transport as the same fake would, without a connection;
//   - fixed answers on httpmock: [ListResponder] serves a list of tokens
//     and [ErrorResponder] one error, for a route you register them on.
//
// The httpmock ways work on a transport of its own, given to
// prefactor.WithHTTPClient, and on the *http.Client your code already
// uses, after httpmock.ActivateNonDefault.
//
// The first two share everything below: the store, the lifecycle rules,
// idempotency keys, faults, latency, the rate limit and the request record.
// [FakeTokens] makes realistic, deterministic tokens to seed any of them,
// and [FastRetries] makes the retries of a client that a test builds itself
// wait milliseconds instead of seconds.
//
//	srv := prefactortest.NewServer(t, prefactortest.FakeTokens(30)...)
//	client := srv.Client()
//
//	mock := httpmock.NewMockTransport()
//	mock.RegisterNoResponder(srv.Responder())
//	client, err := prefactor.NewClient(prefactortest.Token,
//		prefactor.WithHTTPClient(&http.Client{Transport: mock}),
//		prefactortest.FastRetries())
//
// The fake answers as if every request came from one account, [AccountID],
// the account of its bearer token, [Token]. Without that token it answers
// 401 not_authenticated; with another, 401 bad_authtoken.
//
// # Listing
//
// GET /api/v1/api_token is served as the API reference describes it:
//
//   - without account_id it lists the calling token's account, as the
//     service does: the tokens whose AccountID is AccountID, and those
//     with no AccountID at all (test data built by hand). account_id lists
//     the account it names instead, any account: the fake has no
//     permission model, so it never answers 403;
//   - sorting takes id or status, with a leading "-" for descending, and
//     breaks ties by ID ascending; any other field is 400 invalid_value.
//     Without sorting the list is in ID order, and the response's sorting
//     is null;
//   - pagination[offset] (default 0) and pagination[page_size] (default
//     [DefaultPageSize], 1 to [MaxPageSize]) select the page; a value out
//     of range is 400 invalid_value with the parameter in the field
//     errors. The response's pagination object is computed as the
//     reference defines it: one-based item_start, item_end and page_index,
//     zero-based page_offset, next and previous page offsets null at the
//     ends, item_start and item_end 0 on an empty page. An offset between
//     page boundaries counts a short first page before it, so that the
//     fields agree: offset 5 with page size 10 is page 2 (after items 1
//     to 5), its previous_page_offset 0 is page 1, and page_count counts
//     the short page too.
//
// Every token it sends carries agent_id and agent_deployment_id, null
// unless the token is agent_deployment-scoped. The summaries of a list
// have no available_actions; the one-token answers below do.
//
// # One token and its lifecycle
//
// The rest of the resource follows the service's rules:
//
//	GET    /api/v1/api_token/{id}           200, the token
//	POST   /api/v1/api_token                201, a new active token and its value
//	POST   /api/v1/api_token/{id}/suspend   200, active → suspended
//	POST   /api/v1/api_token/{id}/activate  200, suspended → active
//	POST   /api/v1/api_token/{id}/revoke    200, active or suspended → revoked
//	DELETE /api/v1/api_token/{id}           200, revoked → gone
//
// Each answers with the token as the call left it (see Wire format below).
// Its available_actions follow the same table: suspend and revoke for an
// active token, activate and revoke for a suspended one, delete for a
// revoked one, none for a status the fake does not know. A delete's
// details are the token as it was deleted, with every action false.
//
// An unknown ID is 404 not_found. A move the table does not allow
// (suspending a revoked token, deleting an active one) is 422
// invalid_action, and the token is left as it was. A move sets the token's
// updated_at to the server's clock ([Server.SetClock]).
//
// Create takes {"details":{"token_scope":…,"account_id":…,"agent_id":…,
// "environment_id":…,"expires_at":…}} and checks it: token_scope is
// required and one of account, environment and agent_deployment;
// environment needs environment_id; agent_deployment needs agent_id and
// environment_id; a field the scope does not use, and an expires_at that is
// not RFC 3339 or not in the future, are refused. Missing fields are 400
// required_value, bad ones 400 invalid_value, with one entry per field in
// "errors"; after [Server.SetValidationErrors](true), 422 validation_errors
// instead.
//
// The new token has an ID shaped like FakeTokens' ones, no creator,
// inserted_at and updated_at at the server's clock and, without
// expires_at, [DefaultTokenLifetime] later as its expiry. Without
// account_id it joins AccountID. An agent_deployment token keeps its
// agent_id and gets an agent_deployment_id, the same for every token of one
// agent and environment. Its value, in the create answer only, is shaped
// like the API's: a JWT whose payload holds the token's ID as "sub", its
// creation as "iat" and its expiry as "exp". IDs and values come from a
// fixed seed, so a server whose clock is fixed creates the same tokens in
// every run.
//
// # Idempotency keys
//
// A create, suspend, activate, revoke or delete may carry
// "idempotency_key" in its JSON body, or else the query parameter
// idempotency_key; when both are sent, the body's is the key. At most 64
// characters, else 400 invalid_value. The server remembers the first
// answer to each key, success or 4xx, and answers a later request with the
// same key and the same method, path, query and JSON body with that answer
// again, changing nothing: a repeated create returns the same token and
// value and makes no second token. The same key with any other request is
// 422 idempotency_key_already_used. Keys belong to one Server, which
// remembers the last [IdempotencyKeyLimit] of them and forgets the oldest
// beyond that: a key it forgot is served as a new one. A mutation without
// a key is carried out each time it is sent.
//
// Requests that fail authentication never reach this step, nor do those
// [Server.FailNext] fails, unless the [Fault] has AfterHandling: those use
// up no key, and a client's retry after them is served normally. A Fault
// with AfterHandling lets the request through first, so its key is
// remembered with the answer the client never saw.
//
// # Checking the token, and errors
//
// GET /api/v1/ping answers 200 {"status":"success"} to Token and the 401s
// above to any other. Any other route answers 404 not_found.
//
// Errors are the API's JSON, with "errors" mapping each field to its
// messages. The API's other form, code validation_errors, nests objects in
// "errors"; the fake sends it for a refused create after
// SetValidationErrors(true), and a Fault sends any "errors"
// ([Fault.Errors]).
//
// # Faults, latency and rate limits
//
// [Server.FailNext] makes the next requests fail with a [Fault]: a status,
// a body, a dropped connection, or a lost answer to a request that was
// carried out (AfterHandling). A Fault's Method and Path aim it at one
// route, so that, say, the list succeeds and then one revoke fails:
//
//	srv.FailNext(1, prefactortest.Fault{Status: 500, Method: "POST", Path: "/api/v1/api_token/*/revoke"})
//
// [Server.SetLatency] slows every answer, and [Server.SetConcurrencyLimit]
// makes the fake play a rate-limited service, which answers 429 with
// Retry-After to requests over a number in flight. [Server.Requests] tells
// what the server received (the last [DefaultRequestLimit] requests, or as
// [Server.SetRequestLimit] says), and [Server.Tokens] what the store holds
// after the code under test acted on it.
//
// # Wire format
//
// For tests that answer with a handler of their own, here is one sample of
// each body the API sends, which the fake sends too. A list, here
// GET /api/v1/api_token?sorting=id&pagination[page_size]=10, puts its
// tokens under "summaries":
//
//	{
//	  "status": "success",
//	  "summaries": [
//	    {
//	      "id": "01k37vd52gcn2mpznnp0jm1r1w80da21",
//	      "type": "api_token",
//	      "account_id": "01hqz7zee085vspf7cqqtx588y91rt2w",
//	      "created_by_admin_user_id": "01hqz833m0kbd036hpwmskh4rv0528ze",
//	      "environment_id": "01hqzbda20jc58tmwvw96tp4x05cdr5t",
//	      "agent_id": null,
//	      "agent_deployment_id": null,
//	      "expires_at": "2026-08-22T02:58:26Z",
//	      "inserted_at": "2025-08-22T02:58:26Z",
//	      "updated_at": "2025-08-22T02:58:26Z",
//	      "last_used_at": "2026-02-17T11:17:30Z",
//	      "status": "active",
//	      "token_scope": "environment"
//	    }
//	  ],
//	  "pagination": {
//	    "item_count": 1, "item_start": 1, "item_end": 1,
//	    "page_count": 1, "page_index": 1, "page_offset": 0, "page_size": 10,
//	    "next_page_offset": null, "previous_page_offset": null
//	  },
//	  "sorting": {"field": "id", "direction": "asc"}
//	}
//
// Get, suspend, activate, revoke and delete answer with one token under
// "details", which adds available_actions to the summary's fields, here
// for GET /api/v1/api_token/01k37vd52gcn2mpznnp0jm1r1w80da21:
//
//	{
//	  "status": "success",
//	  "details": {
//	    "id": "01k37vd52gcn2mpznnp0jm1r1w80da21",
//	    "type": "api_token",
//	    "account_id": "01hqz7zee085vspf7cqqtx588y91rt2w",
//	    "created_by_admin_user_id": "01hqz833m0kbd036hpwmskh4rv0528ze",
//	    "environment_id": "01hqzbda20jc58tmwvw96tp4x05cdr5t",
//	    "agent_id": null,
//	    "agent_deployment_id": null,
//	    "expires_at": "2026-08-22T02:58:26Z",
//	    "inserted_at": "2025-08-22T02:58:26Z",
//	    "updated_at": "2025-08-22T02:58:26Z",
//	    "last_used_at": "2026-02-17T11:17:30Z",
//	    "status": "active",
//	    "token_scope": "environment",
//	    "available_actions": {"activate": false, "delete": false, "revoke": true, "suspend": true}
//	  }
//	}
//
// A create answers 201 with the new token's value as "token", next to
// "details" (the value is shortened here), for
// POST /api/v1/api_token with {"details":{"token_scope":"account"}}:
//
//	{
//	  "status": "success",
//	  "details": {
//	    "id": "01kjpy44e09b9992bje0t0q9e35mn271",
//	    "type": "api_token",
//	    "account_id": "01hqz7zee085vspf7cqqtx588y91rt2w",
//	    "created_by_admin_user_id": null,
//	    "environment_id": null,
//	    "agent_id": null,
//	    "agent_deployment_id": null,
//	    "expires_at": "2026-05-31T09:30:00Z",
//	    "inserted_at": "2026-03-02T09:30:00Z",
//	    "updated_at": "2026-03-02T09:30:00Z",
//	    "last_used_at": null,
//	    "status": "active",
//	    "token_scope": "account",
//	    "available_actions": {"activate": false, "delete": false, "revoke": true, "suspend": true}
//	  },
//	  "token": "eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9.eyJzdWIiOiIwMWtqcHk0NGUwOW….xjy8duTxK6vI5V4bG0KP0MW-5ZHgReviTVwzIVbcNyE"
//	}
//
// An error carries a code and a message, and per-field messages under
// "errors" when there are any; here, 400 for a create with
// {"details":{"token_scope":"environment"}}:
//
//	{
//	  "status": "error",
//	  "code": "required_value",
//	  "message": "invalid parameters: environment_id is required for token_scope environment",
//	  "errors": {"environment_id": ["is required for token_scope environment"]}
//	}
//
// # Demos
//
// [Start] runs the fake outside tests, as the examples do when no API token
// is set; close it with [Server.Close].
package prefactortest
