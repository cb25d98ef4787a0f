package prefactor

import (
	"context"
	"errors"
	"math"
	"net/http"
	"net/http/httptest"
	"runtime"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// pacerWait bounds every wait of the pacer tests for something that should
// happen at once, so that a bug fails the test instead of hanging it.
const pacerWait = 10 * time.Second

// fakeClock is a clock that moves only when advance is called. Every sleep
// announces its duration on sleeping before it blocks, so a test knows
// when an acquire waits.
type fakeClock struct {
	mu       sync.Mutex
	t        time.Time
	sleepers map[*fakeSleeper]bool
	sleeping chan time.Duration
}

type fakeSleeper struct {
	at   time.Time
	fire chan struct{}
}

func newFakeClock() *fakeClock {
	return &fakeClock{
		t:        time.Date(2026, 11, 2, 9, 0, 0, 0, time.UTC),
		sleepers: map[*fakeSleeper]bool{},
		sleeping: make(chan time.Duration, 64),
	}
}

func (c *fakeClock) now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

func (c *fakeClock) sleep(ctx context.Context, d time.Duration, wake <-chan struct{}) {
	var fire chan struct{}
	s := &fakeSleeper{fire: make(chan struct{})}
	if d > 0 {
		fire = s.fire
		c.mu.Lock()
		s.at = c.t.Add(d)
		c.sleepers[s] = true
		c.mu.Unlock()
		defer func() {
			c.mu.Lock()
			delete(c.sleepers, s)
			c.mu.Unlock()
		}()
	}
	c.sleeping <- d
	select {
	case <-fire:
	case <-wake:
	case <-ctx.Done():
	}
}

// advance moves the clock on by d and ends the sleeps that are then due.
func (c *fakeClock) advance(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.t = c.t.Add(d)
	for s := range c.sleepers {
		if !s.at.After(c.t) {
			close(s.fire)
			delete(c.sleepers, s)
		}
	}
}

// awaitSleep waits until an acquire sleeps and returns how long it means to.
func (c *fakeClock) awaitSleep(t *testing.T) time.Duration {
	t.Helper()
	select {
	case d := <-c.sleeping:
		return d
	case <-time.After(pacerWait):
		t.Fatal("no acquire went to sleep")
		return 0
	}
}

type acquired struct {
	t   ticket
	err error
}

// acquireAsync runs p.acquire(ctx, 0) in a goroutine and returns its result.
func acquireAsync(ctx context.Context, p *pacer) <-chan acquired {
	out := make(chan acquired, 1)
	go func() {
		t, err := p.acquire(ctx, 0)
		out <- acquired{t, err}
	}()
	return out
}

func awaitAcquired(t *testing.T, ch <-chan acquired) acquired {
	t.Helper()
	select {
	case a := <-ch:
		return a
	case <-time.After(pacerWait):
		t.Fatal("acquire did not return")
		return acquired{}
	}
}

func notAcquired(t *testing.T, ch <-chan acquired, when string) {
	t.Helper()
	select {
	case a := <-ch:
		t.Fatalf("%s: acquire returned (%+v)", when, a)
	default:
	}
}

// limit returns how many attempts p allows in flight now.
func (p *pacer) limit() int {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.creep(p.clk.now())
	return p.lim
}

// take acquires n tickets that the pacer allows at once; it fails the test
// if any of them would have to wait.
func take(t *testing.T, p *pacer, n int) []ticket {
	t.Helper()
	out := make([]ticket, n)
	for i := range out {
		if !mayStart(p) {
			t.Fatalf("ticket %d of %d would have to wait (limit %d)", i+1, n, p.limit())
		}
		tk, err := p.acquire(context.Background(), 0)
		if err != nil {
			t.Fatal(err)
		}
		out[i] = tk
	}
	return out
}

// mayStart reports whether an acquire would start an attempt now.
func mayStart(p *pacer) bool {
	p.mu.Lock()
	defer p.mu.Unlock()
	now := p.clk.now()
	p.creep(now)
	return !now.Before(p.until) && p.inFlight < p.lim
}

func TestPacerLimitFallsToSustained(t *testing.T) {
	const ra = time.Second
	tooMany := http.StatusTooManyRequests

	// A burst of 16 against a server that takes 4: 12 are refused. The
	// limit falls to 4 whichever answers come first and whichever 4 of the
	// burst the server happened to take: connections that were idle
	// deliver later requests first.
	for _, tc := range []struct {
		name    string
		taken   []int // indexes of the burst the server took
		okFirst bool  // their answers arrive before the 429s
	}{
		{name: "429s first", taken: []int{0, 1, 2, 3}},
		{name: "successes first", taken: []int{0, 1, 2, 3}, okFirst: true},
		{name: "taken out of order", taken: []int{0, 2, 7, 11}},
		{name: "taken out of order, successes first", taken: []int{1, 5, 6, 9}, okFirst: true},
		{name: "taken last", taken: []int{0, 2, 7, 15}},
		{name: "taken newest", taken: []int{12, 13, 14, 15}},
		{name: "taken newest, successes first", taken: []int{12, 13, 14, 15}, okFirst: true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			p := newPacer(16, newFakeClock())
			burst := take(t, p, 16)
			taken := map[int]bool{}
			for _, i := range tc.taken {
				taken[i] = true
			}
			answerOK := func() {
				for i, tk := range burst {
					if taken[i] {
						if p.release(tk, http.StatusOK, 0) {
							t.Errorf("a success reported eager")
						}
					}
				}
			}
			if tc.okFirst {
				answerOK()
			}
			for i := len(burst) - 1; i >= 0; i-- { // newest first: the worst order for the estimate
				if !taken[i] && !p.release(burst[i], tooMany, ra) && burst[i].company > 0 {
					t.Errorf("429 of burst[%d] (with %d in flight) not eager", i, burst[i].company)
				}
			}
			if !tc.okFirst {
				answerOK()
			}
			if got := p.limit(); got != 4 {
				t.Errorf("limit %d after the burst, want 4", got)
			}
		})
	}

	t.Run("a probe one over", func(t *testing.T) {
		p := newPacer(5, newFakeClock())
		tk := take(t, p, 5)
		if !p.release(tk[4], tooMany, ra) {
			t.Error("429 of the fifth not eager")
		}
		if got := p.limit(); got != 4 {
			t.Errorf("limit %d, want 4", got)
		}
	})

	t.Run("a probe one over, places turning over meanwhile", func(t *testing.T) {
		p := newPacer(5, newFakeClock())
		tk := take(t, p, 5)
		probe := tk[4]
		for _, k := range tk[:3] { // three answers come back, three more go out
			p.release(k, http.StatusOK, 0)
			take(t, p, 1)
		}
		p.release(probe, tooMany, ra)
		if got := p.limit(); got != 4 {
			t.Errorf("limit %d, want 4: never more than 4 beside the probe", got)
		}
	})

	t.Run("a lone attempt", func(t *testing.T) {
		p := newPacer(8, newFakeClock())
		tk := take(t, p, 1)
		if p.release(tk[0], tooMany, ra) {
			t.Error("429 of a lone attempt reported eager: it would retry for free")
		}
		if got := p.limit(); got != 1 {
			t.Errorf("limit %d, want 1", got)
		}
	})

	t.Run("other failures leave it", func(t *testing.T) {
		p := newPacer(8, newFakeClock())
		for _, status := range []int{0, http.StatusOK, http.StatusServiceUnavailable, http.StatusInternalServerError} {
			tk := take(t, p, 8)
			for _, k := range tk {
				if p.release(k, status, ra) {
					t.Errorf("status %d reported eager", status)
				}
			}
		}
		if got := p.limit(); got != 8 || !mayStart(p) {
			t.Errorf("limit %d (may start: %v), want 8 and no pause", got, mayStart(p))
		}
	})

	t.Run("a ticket ends once", func(t *testing.T) {
		p := newPacer(2, newFakeClock())
		tk := take(t, p, 2)
		p.release(tk[0], http.StatusOK, 0)
		p.release(tk[0], tooMany, ra) // again: ignored
		p.release(ticket{}, tooMany, ra)
		if got := p.limit(); got != 2 || !mayStart(p) {
			t.Fatalf("limit %d (may start: %v) after stray releases, want 2 and no pause", got, mayStart(p))
		}
		take(t, p, 1)
		if mayStart(p) {
			t.Error("a stray release freed a place")
		}
	})

	t.Run("a second pause lowers it further, never raises it", func(t *testing.T) {
		clk := newFakeClock()
		p := newPacer(16, clk)
		tk := take(t, p, 6)
		p.release(tk[5], tooMany, ra) // 5 others were in flight: limit 5
		if got := p.limit(); got != 5 {
			t.Fatalf("limit %d, want 5", got)
		}
		for _, k := range tk[:5] {
			p.release(k, http.StatusOK, 0)
		}
		clk.advance(ra * 6 / 5)
		tk = take(t, p, 3)
		p.release(tk[2], tooMany, ra) // 2 others: limit 2
		if got := p.limit(); got != 2 {
			t.Errorf("limit %d, want 2", got)
		}
	})
}

func TestPacerPause(t *testing.T) {
	const ra = time.Second
	clk := newFakeClock()
	p := newPacer(4, clk)
	tk := take(t, p, 2)
	p.release(tk[1], http.StatusTooManyRequests, ra) // the other was in flight: limit 1
	p.release(tk[0], http.StatusOK, 0)               // a place is free, but the pause holds
	if mayStart(p) {
		t.Fatal("an attempt may start during the pause")
	}

	got := acquireAsync(context.Background(), p)
	d := clk.awaitSleep(t)
	if d < ra || d > ra*6/5 {
		t.Fatalf("acquire sleeps %s, want between %s and %s", d, ra, ra*6/5)
	}
	clk.advance(ra - time.Nanosecond)
	notAcquired(t, got, "a nanosecond before the Retry-After")
	clk.advance(d - ra + time.Nanosecond)
	if a := awaitAcquired(t, got); a.err != nil {
		t.Fatal(a.err)
	}
	if got := p.limit(); got != 1 {
		t.Errorf("limit %d after the pause, want 1", got)
	}
}

func TestPacerPauseExtends(t *testing.T) {
	clk := newFakeClock()
	p := newPacer(4, clk)
	tk := take(t, p, 3)
	p.release(tk[2], http.StatusTooManyRequests, time.Second)
	clk.advance(500 * time.Millisecond)
	p.release(tk[1], http.StatusTooManyRequests, 3*time.Second) // asks for longer
	p.release(tk[0], http.StatusOK, 0)
	got := acquireAsync(context.Background(), p)
	if d := clk.awaitSleep(t); d < 3*time.Second || d > 3*time.Second*6/5 {
		t.Fatalf("acquire sleeps %s, want the second Retry-After, 3s to 3.6s", d)
	}
	clk.advance(3*time.Second - time.Nanosecond)
	notAcquired(t, got, "before the longer Retry-After")
	clk.advance(time.Second)
	if a := awaitAcquired(t, got); a.err != nil {
		t.Fatal(a.err)
	}
}

func TestPacerWaitsForAPlace(t *testing.T) {
	clk := newFakeClock()
	p := newPacer(2, clk)
	tk := take(t, p, 2)
	got := acquireAsync(context.Background(), p)
	if d := clk.awaitSleep(t); d != 0 {
		t.Fatalf("acquire sleeps %s for a place; want no timeout", d)
	}
	notAcquired(t, got, "with every place taken")
	p.release(tk[0], http.StatusOK, 0)
	a := awaitAcquired(t, got)
	if a.err != nil {
		t.Fatal(a.err)
	}
	if a.t.company != 1 {
		t.Errorf("ticket company %d, want 1", a.t.company)
	}
}

func TestPacerCreepsBack(t *testing.T) {
	const ra = time.Second
	const quiet = quietFactor * ra
	clk := newFakeClock()
	p := newPacer(4, clk)
	tk := take(t, p, 3)
	p.release(tk[2], http.StatusTooManyRequests, ra) // limit 2
	p.release(tk[0], http.StatusOK, 0)
	p.release(tk[1], http.StatusOK, 0)

	step := func(d time.Duration, want int) {
		t.Helper()
		clk.advance(d)
		if got := p.limit(); got != want {
			t.Fatalf("limit %d, want %d", got, want)
		}
	}
	step(0, 2)
	step(quiet-time.Nanosecond, 2) // not before the quiet period
	step(time.Nanosecond, 3)       // +1
	step(quiet-time.Nanosecond, 3) // +1 a quiet period later, not before
	step(time.Nanosecond, 4)
	step(10*quiet, 4) // never above the walk's concurrency

	// A 429 starts the quiet period again.
	tk = take(t, p, 4)
	p.release(tk[3], http.StatusTooManyRequests, ra) // limit 3
	for _, k := range tk[:3] {
		p.release(k, http.StatusOK, 0)
	}
	step(quiet-time.Nanosecond, 3)
	step(time.Nanosecond, 4)

	// A 429 asking for no wait still waits minQuiet before creeping.
	tk = take(t, p, 2)
	p.release(tk[1], http.StatusTooManyRequests, 0) // limit 1
	p.release(tk[0], http.StatusOK, 0)
	if !mayStart(p) {
		t.Error("Retry-After 0 paused the walk")
	}
	step(minQuiet-time.Nanosecond, 1)
	step(time.Nanosecond, 2)
}

func TestPacerContextEnds(t *testing.T) {
	t.Run("waiting for a place", func(t *testing.T) {
		clk := newFakeClock()
		p := newPacer(1, clk)
		tk := take(t, p, 1)
		ctx, cancel := context.WithCancel(context.Background())
		got := acquireAsync(ctx, p)
		clk.awaitSleep(t)
		cancel()
		if a := awaitAcquired(t, got); !errors.Is(a.err, context.Canceled) {
			t.Fatalf("acquire returned %v, want context.Canceled", a.err)
		}
		// The cancelled acquire took no place: the one released is free.
		p.release(tk[0], http.StatusOK, 0)
		take(t, p, 1)
	})

	t.Run("during a pause", func(t *testing.T) {
		clk := newFakeClock()
		p := newPacer(2, clk)
		tk := take(t, p, 1)
		p.release(tk[0], http.StatusTooManyRequests, time.Hour)
		ctx, cancel := context.WithCancel(context.Background())
		got := acquireAsync(ctx, p)
		if d := clk.awaitSleep(t); d < time.Hour {
			t.Fatalf("acquire sleeps %s, want the pause of an hour", d)
		}
		cancel()
		if a := awaitAcquired(t, got); !errors.Is(a.err, context.Canceled) {
			t.Fatalf("acquire returned %v, want context.Canceled", a.err)
		}
	})

	t.Run("already over", func(t *testing.T) {
		p := newPacer(4, newFakeClock())
		ctx, cancel := context.WithCancel(context.Background())
		cancel()
		if _, err := p.acquire(ctx, 0); !errors.Is(err, context.Canceled) {
			t.Fatalf("acquire returned %v, want context.Canceled", err)
		}
		take(t, p, 4) // nothing was counted
	})
}

// TestPacerConcurrent runs many attempts from many goroutines on the
// system clock, some of them refused with "Retry-After: 0" so that the
// limit moves, and checks that no more than the limit are ever in flight
// and that every place comes back.
func TestPacerConcurrent(t *testing.T) {
	const n, workers, each = 3, 12, 40
	p := newPacer(n, nil)
	var inFlight, most atomic.Int64
	var wg sync.WaitGroup
	errs := make(chan error, workers)
	for w := range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range each {
				tk, err := p.acquire(context.Background(), 0)
				if err != nil {
					errs <- err
					return
				}
				cur := inFlight.Add(1)
				for {
					m := most.Load()
					if cur <= m || most.CompareAndSwap(m, cur) {
						break
					}
				}
				status := http.StatusOK
				if (w+i)%17 == 0 {
					status = http.StatusTooManyRequests
				}
				inFlight.Add(-1)
				p.release(tk, status, 0)
			}
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Fatal(err)
	}
	if m := most.Load(); m > n || m < 1 {
		t.Errorf("%d attempts in flight at once, want 1 to %d", m, n)
	}
	p.mu.Lock()
	left := p.inFlight
	p.mu.Unlock()
	if left != 0 {
		t.Errorf("%d attempts still counted in flight", left)
	}
}

func TestRetryAfterJitter(t *testing.T) {
	for _, d := range []time.Duration{time.Nanosecond, 7, time.Second, 60 * time.Second} {
		lo, hi := time.Duration(math.MaxInt64), time.Duration(0)
		for range 2000 {
			got := retryAfterJitter(d)
			if got < d || got > d+d/5 {
				t.Fatalf("retryAfterJitter(%s) = %s, want %s to %s", d, got, d, d+d/5)
			}
			lo, hi = min(lo, got), max(hi, got)
		}
		// Spread over the range, not one value: 2000 draws all in one
		// quarter of it would happen with probability about 0.75^2000.
		if d >= time.Second && (lo > d+d/20 || hi < d+d*3/20) {
			t.Errorf("retryAfterJitter(%s) ranged over %s to %s only", d, lo, hi)
		}
	}
	if got := retryAfterJitter(0); got != 0 {
		t.Errorf("retryAfterJitter(0) = %s", got)
	}
	if got := retryAfterJitter(-time.Second); got != 0 {
		t.Errorf("retryAfterJitter(-1s) = %s", got)
	}
	if got := retryAfterJitter(math.MaxInt64); got != math.MaxInt64 {
		t.Errorf("retryAfterJitter(max) = %s, want no overflow", got)
	}
}

func TestSystemClockSleep(t *testing.T) {
	cancelled, cancel := context.WithCancel(context.Background())
	cancel()
	closed := make(chan struct{})
	close(closed)
	for _, tc := range []struct {
		name string
		ctx  context.Context
		d    time.Duration
		wake <-chan struct{}
	}{
		{"ctx done", cancelled, time.Hour, nil},
		{"woken", context.Background(), time.Hour, closed},
		{"woken, no timeout", context.Background(), 0, closed},
		{"time passed", context.Background(), time.Millisecond, nil},
	} {
		done := make(chan struct{})
		go func() {
			systemClock{}.sleep(tc.ctx, tc.d, tc.wake)
			close(done)
		}()
		select {
		case <-done:
		case <-time.After(pacerWait):
			t.Fatalf("%s: sleep did not return", tc.name)
		}
	}
}

// roundTripFunc is an http.RoundTripper made of a function.
type roundTripFunc func(*http.Request) (*http.Response, error)

func (f roundTripFunc) RoundTrip(r *http.Request) (*http.Response, error) { return f(r) }

func answer(status int, retryAfter string) *http.Response {
	resp := &http.Response{StatusCode: status, Header: http.Header{}, Body: http.NoBody}
	if retryAfter != "" {
		resp.Header.Set("Retry-After", retryAfter)
	}
	return resp
}

// TestPacerResendsWhatTheWalkDrew: a 429 to an attempt sent while others
// of the walk were in flight is the walk's own doing; the pacer lowers its
// limit and sends the request again itself, so the request's retry loop
// never sees it. A 429 to an attempt sent alone goes back to the loop.
func TestPacerResendsWhatTheWalkDrew(t *testing.T) {
	p := newPacer(2, nil)
	var sent atomic.Int32
	firstSent := make(chan struct{})
	p.next = roundTripFunc(func(*http.Request) (*http.Response, error) {
		if sent.Add(1) == 1 {
			close(firstSent)
			return answer(http.StatusTooManyRequests, "0"), nil
		}
		return answer(http.StatusOK, ""), nil
	})
	other, err := p.acquire(context.Background(), 0) // another page, in flight
	if err != nil {
		t.Fatal(err)
	}
	req := httptest.NewRequest(http.MethodGet, "http://h/api/v1/api_token", nil)
	type result struct {
		resp *http.Response
		err  error
	}
	done := make(chan result, 1)
	go func() {
		resp, err := p.RoundTrip(req)
		done <- result{resp, err}
	}()
	<-firstSent
	// The 429 lowered the limit to the one attempt the server took: the
	// resend waits for the other page to finish.
	p.release(other, http.StatusOK, 0)
	var r result
	select {
	case r = <-done:
	case <-time.After(pacerWait):
		t.Fatal("RoundTrip did not return")
	}
	if r.err != nil || r.resp.StatusCode != http.StatusOK || sent.Load() != 2 || p.limit() != 1 {
		t.Fatalf("RoundTrip = %v, %v after %d sends, limit %d; want 200 after 2, limit 1", r.resp, r.err, sent.Load(), p.limit())
	}

	sent.Store(10) // alone now: the 429 is the request's
	p.next = roundTripFunc(func(*http.Request) (*http.Response, error) {
		sent.Add(1)
		return answer(http.StatusTooManyRequests, "0"), nil
	})
	if resp, err := p.RoundTrip(req); err != nil || resp.StatusCode != http.StatusTooManyRequests || sent.Load() != 11 {
		t.Fatalf("RoundTrip alone = %v, %v after %d sends; want the 429 after 1", resp, err, sent.Load()-10)
	}
}

// TestPacerResendsAtMostTheConcurrency: a server that answers 429 to
// everything while another attempt is in flight gets each request at most
// 1 + the walk's concurrency times from the pacer before the 429 goes back
// to the retry loop, whatever the limit does.
func TestPacerResendsAtMostTheConcurrency(t *testing.T) {
	const n = 3
	p := newPacer(n, nil)
	var sent atomic.Int32
	p.next = roundTripFunc(func(*http.Request) (*http.Response, error) {
		sent.Add(1)
		return answer(http.StatusTooManyRequests, "0"), nil
	})
	other, err := p.acquire(context.Background(), 0) // in flight throughout: every 429 is eager
	if err != nil {
		t.Fatal(err)
	}
	defer p.release(other, http.StatusOK, 0)
	// Keep a place free whatever the 429s do to the limit, as quiet
	// periods would: only the bound can end the resends.
	stop := make(chan struct{})
	defer close(stop)
	go func() {
		for {
			select {
			case <-stop:
				return
			default:
			}
			p.mu.Lock()
			p.lim, p.until = n, time.Time{}
			p.wake()
			p.mu.Unlock()
			runtime.Gosched()
		}
	}()
	resp, err := p.RoundTrip(httptest.NewRequest(http.MethodGet, "http://h/", nil))
	if err != nil || resp.StatusCode != http.StatusTooManyRequests || sent.Load() != n+1 {
		t.Errorf("RoundTrip = %v, %v after %d sends; want the 429 after %d", resp, err, sent.Load(), n+1)
	}
}

// TestPacerNeverResendsAMutation: only a GET without a body is sent again.
func TestPacerNeverResendsAMutation(t *testing.T) {
	p := newPacer(2, nil)
	var sent atomic.Int32
	p.next = roundTripFunc(func(*http.Request) (*http.Response, error) {
		sent.Add(1)
		return answer(http.StatusTooManyRequests, "0"), nil
	})
	other, _ := p.acquire(context.Background(), 0)
	defer p.release(other, http.StatusOK, 0)
	req := httptest.NewRequest(http.MethodPost, "http://h/", strings.NewReader(`{}`))
	if resp, err := p.RoundTrip(req); err != nil || resp.StatusCode != http.StatusTooManyRequests || sent.Load() != 1 {
		t.Errorf("POST: RoundTrip = %v, %v after %d sends; want the 429 after 1", resp, err, sent.Load())
	}
}

// TestPacerOverLimitRetryAfterPausesNothing: a 429 whose Retry-After is
// over WithRetryAfterLimit ends its own call at once; the rest of the walk
// must not wait that long either.
func TestPacerOverLimitRetryAfterPausesNothing(t *testing.T) {
	p := newPacer(4, nil)
	p.retryAfterLimit = time.Minute
	p.next = roundTripFunc(func(*http.Request) (*http.Response, error) {
		return answer(http.StatusTooManyRequests, "3600"), nil
	})
	if _, err := p.RoundTrip(httptest.NewRequest(http.MethodGet, "http://h/", nil)); err != nil {
		t.Fatal(err)
	}
	if !mayStart(p) {
		t.Error("the walk's next attempt waits for the hour the server asked of a call that gave up")
	}
}

// TestPacerServesLowestRankFirst: when a place comes free, the waiting
// attempt of the lowest rank (a walk's earliest page, which its caller
// waits on) gets it, whatever the order the attempts began waiting in.
func TestPacerServesLowestRankFirst(t *testing.T) {
	clk := newFakeClock()
	p := newPacer(1, clk)
	held := take(t, p, 1)
	ranks := []int{50, 30, 10, 40, 20}
	got := make(chan int, len(ranks))
	for _, r := range ranks {
		go func() {
			tk, err := p.acquire(context.Background(), r)
			if err != nil {
				t.Error(err)
				return
			}
			got <- r
			p.release(tk, http.StatusOK, 0)
		}()
		clk.awaitSleep(t)
	}
	p.release(held[0], http.StatusOK, 0)
	for _, want := range []int{10, 20, 30, 40, 50} {
		select {
		case r := <-got:
			if r != want {
				t.Fatalf("rank %d got the place; want %d", r, want)
			}
		case <-time.After(pacerWait):
			t.Fatalf("no acquire got the place; want rank %d", want)
		}
	}
}

// TestWalkLoopLeavesTheWaitToThePacer: in a parallel walk, a request's
// retry after a 429 does not sleep the Retry-After itself; it goes straight
// back to the pacer, which holds it until the walk's pause ends and then
// serves the page the caller waits on first. Sleeping on its own as well,
// that page would wake after the pause had ended and another page had
// taken the place, costing it a whole further pause about half the time
// (TestParallelWalkFailsAsFastAsSequential). Other answers back off as
// usual.
func TestWalkLoopLeavesTheWaitToThePacer(t *testing.T) {
	c, err := NewClient(testToken, WithRetryWait(time.Second, 2*time.Second))
	if err != nil {
		t.Fatal(err)
	}
	loop := c.walkLoop(4, nil)
	if got := loop.Backoff(loop.RetryWaitMin, loop.RetryWaitMax, 0, answer(http.StatusTooManyRequests, "5")); got != 0 {
		t.Errorf("after a 429 the walk's loop waits %s; want 0, the pacer's pause being the wait", got)
	}
	if got := loop.Backoff(loop.RetryWaitMin, loop.RetryWaitMax, 0, answer(http.StatusServiceUnavailable, "5")); got < 5*time.Second {
		t.Errorf("after a 503 with Retry-After 5 the walk's loop waits %s; want at least 5s", got)
	}
	if got := loop.Backoff(loop.RetryWaitMin, loop.RetryWaitMax, 1, nil); got < time.Second || got > 2*time.Second {
		t.Errorf("after a transport error the walk's loop waits %s; want the backoff, 1s to 2s", got)
	}
}

// TestPacerEagerWhateverTheOrderOfArrival: attempts sent together reach
// the server in any order, so a 429 to the first one sent is the walk's
// doing as much as one to the last: any attempt started during its flight
// makes it so.
func TestPacerEagerWhateverTheOrderOfArrival(t *testing.T) {
	p := newPacer(4, newFakeClock())
	first := take(t, p, 1)[0] // alone when sent
	later := take(t, p, 1)[0]
	if !p.release(first, http.StatusTooManyRequests, 0) {
		t.Error("a 429 to the first of two attempts in flight is not the walk's doing")
	}
	p.release(later, http.StatusOK, 0)
	alone := take(t, p, 1)[0]
	if p.release(alone, http.StatusTooManyRequests, 0) {
		t.Error("a 429 to an attempt that flew alone is counted as the walk's doing")
	}
}

// TestPacerResendsOnlyWhatTheLoopWouldRetry: a 429 the walk drew itself is
// sent again only if the request's retry loop would wait it out too: not
// when its Retry-After is over WithRetryAfterLimit, nor when it could
// outlast the request's deadline. The call then ends with the 429 at once,
// as it does alone.
func TestPacerResendsOnlyWhatTheLoopWouldRetry(t *testing.T) {
	for _, tc := range []struct {
		name       string
		retryAfter string
		deadline   time.Duration
	}{
		{"over the limit", "3600", pacerWait},
		{"past the deadline", "5", 2 * time.Second},
	} {
		t.Run(tc.name, func(t *testing.T) {
			p := newPacer(2, nil)
			p.retryAfterLimit = time.Minute
			var sent atomic.Int32
			p.next = roundTripFunc(func(*http.Request) (*http.Response, error) {
				sent.Add(1)
				return answer(http.StatusTooManyRequests, tc.retryAfter), nil
			})
			other, _ := p.acquire(context.Background(), 0) // in flight: the 429 is the walk's doing
			defer p.release(other, http.StatusOK, 0)
			ctx, cancel := context.WithTimeout(context.Background(), tc.deadline)
			defer cancel()
			req := httptest.NewRequest(http.MethodGet, "http://h/", nil).WithContext(ctx)
			if resp, err := p.RoundTrip(req); err != nil || resp.StatusCode != http.StatusTooManyRequests || sent.Load() != 1 {
				t.Errorf("RoundTrip = %v, %v after %d sends; want the 429 after 1", resp, err, sent.Load())
			}
		})
	}
}
