package prefactor

import (
	"cmp"
	"context"
	"math"
	"net/http"
	"slices"
	"sync"
	"time"

	"github.com/hashicorp/go-retryablehttp"
)

// walkLoop returns the retry loop of one parallel walk of up to n requests
// at once: the Client's retry policy, with every attempt sent through a
// pacer that sets the walk's pace. rank orders attempts waiting for a
// place, lowest first; a walk ranks a page by its offset, so the page the
// caller waits on goes first.
func (c *Client) walkLoop(n int, rank func(*http.Request) int) *retryablehttp.Client {
	p := newPacer(n, nil)
	p.next, p.rank = c.hc.Transport, rank
	p.retryAfterLimit, p.waitMin, p.waitMax = c.retryAfterLimit, c.retryWaitMin, c.retryWaitMax
	hc := &http.Client{Transport: p, CheckRedirect: c.hc.CheckRedirect, Jar: c.hc.Jar}
	return c.newLoop(hc, pacedBackoff)
}

// pacedBackoff is the Backoff of a walk's loop: backoff, but no wait after
// a 429, whose wait the walk's pacer holds every attempt back for.
func pacedBackoff(min, max time.Duration, attempt int, resp *http.Response) time.Duration {
	if resp != nil && resp.StatusCode == http.StatusTooManyRequests {
		return 0
	}
	return backoff(min, max, attempt, resp)
}

// A pacer is the http.RoundTripper of one parallel walk: every attempt of
// the walk, a page's first or a retry, takes a place before it is sent and
// gives it back when its answer (or failure) is in. The walk, not each
// request, owns the rate:
//
//   - After a 429 no attempt of the walk starts until the Retry-After has
//     passed, plus up to a fifth at random (retryAfterJitter), so that
//     callers told the same wait do not come back in step; without a
//     Retry-After, for a backoff that grows with each 429 in a row. A 429
//     during the pause makes it last at least until its own wait has
//     passed. A Retry-After over WithRetryAfterLimit pauses nothing: the
//     call gives up instead.
//   - The limit on attempts in flight then falls to what the server
//     sustained: the most attempts that were in flight at once, while a
//     refused one was, and were not refused themselves (see sustained); at
//     least one. Halving is not enough: 16 halved still overloads a server
//     that takes 4, and costs a second pause.
//   - It rises again by one after a quiet period without a 429 of
//     quietFactor times the last Retry-After (at least minQuiet), and by
//     one more after each further quiet period, up to the walk's
//     concurrency. Probing sooner costs a whole pause each time it fails.
//   - Attempts waiting for a place get it in rank order.
//
// A 429 drawn while other attempts of the walk were in flight (when it
// was sent, or since) is the walk's own doing: the pacer, having lowered
// its limit, sends the request again itself (a list is a GET), up to the
// walk's concurrency times, so that it does not use up the request's
// retries; unless the wait it asks for is one the request's retry loop
// would not take either. A 429 to an attempt that flew alone goes back to
// the retry loop like any answer.
//
// A pacer is safe for concurrent use.
type pacer struct {
	next            http.RoundTripper       // sends an attempt
	rank            func(*http.Request) int // nil: all equal
	retryAfterLimit time.Duration
	waitMin         time.Duration // the pause after a 429 without Retry-After, as backoff's min and max
	waitMax         time.Duration
	clk             clock
	ceil            int // the walk's concurrency; the limit never exceeds it

	mu        sync.Mutex
	lim       int           // attempts allowed in flight, 1..ceil
	inFlight  int           // attempts acquired and not released
	seq       uint64        // counts acquires and releases, ordering them
	lastStart uint64        // seq of the latest acquire
	until     time.Time     // no attempt starts before this: the pause after a 429
	quiet     time.Duration // quiet period of the last 429
	calm      time.Time     // when the limit may rise by one; zero: never yet
	limBefore int           // the limit when the current pause began
	pause     []uint64      // starts of the current pause's 429s; at most ceil
	streak    int           // 429s in a row
	log       []attempt     // the attempts in flight and the last ended ones, by start
	waiting   []int         // ranks of the acquires waiting for a place
	changed   chan struct{} // closed when a place or the first rank may have come free; nil when nobody waits
}

const (
	// quietFactor times the last Retry-After is how long a walk goes
	// without a 429 before its limit rises by one.
	quietFactor = 4
	// minQuiet is the shortest quiet period, for a 429 that asked for
	// little or no wait.
	minQuiet = time.Second
)

// RoundTrip sends req once it has a place, and again, as described on
// pacer, after a 429 the walk's eagerness drew.
func (p *pacer) RoundTrip(req *http.Request) (*http.Response, error) {
	rank := 0
	if p.rank != nil {
		rank = p.rank(req)
	}
	for resent := 0; ; resent++ {
		t, err := p.acquire(req.Context(), rank)
		if err != nil {
			return nil, err
		}
		resp, err := p.next.RoundTrip(req)
		status := 0
		if err == nil {
			status = resp.StatusCode
		}
		eager := p.release(t, status, p.pauseFor(resp))
		if !eager || resent >= p.ceil || !p.resendable(req, resp) {
			return resp, err
		}
		drainClose(resp.Body)
	}
}

// resendable reports whether the pacer may send req again after resp, a
// 429: req is a GET without a body, and the wait resp asks for is one the
// request's retry loop would take too (waitRefused), so that a call told
// to wait too long ends with the 429 as it would alone.
func (p *pacer) resendable(req *http.Request, resp *http.Response) bool {
	if req.Method != http.MethodGet || (req.Body != nil && req.Body != http.NoBody) {
		return false
	}
	wait, ok := retryAfter(resp)
	return !ok || waitRefused(req.Context(), wait, p.retryAfterLimit) == ""
}

// pauseFor returns how long a 429 answer pauses the walk: its Retry-After,
// 0 when that is over the limit (the call gives up rather than wait), and
// without one a backoff that grows with the 429s in a row.
func (p *pacer) pauseFor(resp *http.Response) time.Duration {
	if resp == nil || resp.StatusCode != http.StatusTooManyRequests {
		return 0
	}
	if wait, ok := retryAfter(resp); ok {
		if wait > p.retryAfterLimit {
			return 0
		}
		return wait
	}
	p.mu.Lock()
	streak := p.streak
	p.mu.Unlock()
	return backoff(p.waitMin, p.waitMax, streak, nil)
}

// ticket is an attempt in flight, from acquire to release.
type ticket struct {
	start   uint64 // the pacer's seq when it started
	company int    // other attempts in flight when it started
}

// attempt is what the pacer remembers of an attempt.
type attempt struct {
	start, end uint64 // the pacer's seq when it started and ended; end 0 in flight
	refused    bool   // it got a 429
}

// logSize bounds the attempts a pacer remembers: those in flight (at most
// ceil) and, with them, at least the last logSize(ceil)-ceil that ended.
func logSize(ceil int) int { return 5 * ceil }

// clock is the time a pacer lives by: the system's, or a fake in tests.
type clock interface {
	now() time.Time
	// sleep returns once d has passed, wake is closed or ctx is done,
	// whichever comes first; with d <= 0 only wake or ctx ends it. A nil
	// wake never closes.
	sleep(ctx context.Context, d time.Duration, wake <-chan struct{})
}

// newPacer returns a pacer that allows n attempts in flight (at least 1)
// until a 429 lowers the limit. clk nil means the system clock.
func newPacer(n int, clk clock) *pacer {
	if clk == nil {
		clk = systemClock{}
	}
	n = max(n, 1)
	return &pacer{clk: clk, ceil: n, lim: n}
}

// acquire waits until no pause is in effect, fewer attempts than the
// limit are in flight and no acquire of a lower rank waits, then counts one
// more in flight and returns its ticket, which release must take back
// once. It returns ctx's error, and counts nothing, when ctx ends first (or
// has ended already).
func (p *pacer) acquire(ctx context.Context, rank int) (ticket, error) {
	p.mu.Lock()
	p.waiting = append(p.waiting, rank)
	for {
		if err := ctx.Err(); err != nil {
			p.leave(rank)
			p.mu.Unlock()
			return ticket{}, err
		}
		now := p.clk.now()
		p.creep(now)
		pause := p.until.Sub(now)
		if pause <= 0 && p.inFlight < p.lim && rank == slices.Min(p.waiting) {
			p.leave(rank)
			p.seq++
			t := ticket{start: p.seq, company: p.inFlight}
			p.lastStart = p.seq
			p.inFlight++
			p.remember(t.start)
			p.mu.Unlock()
			return t, nil
		}
		// During a pause only its end matters (a pause never shortens);
		// after it, the next release or the departure of a lower rank.
		var wake chan struct{}
		if pause <= 0 {
			if p.changed == nil {
				p.changed = make(chan struct{})
			}
			pause, wake = 0, p.changed
		}
		p.mu.Unlock()
		p.clk.sleep(ctx, pause, wake)
		p.mu.Lock()
	}
}

// leave takes rank off the waiting list and wakes the other acquires, for
// which it may have been in the way. The caller holds p.mu.
func (p *pacer) leave(rank int) {
	i := slices.Index(p.waiting, rank)
	p.waiting = slices.Delete(p.waiting, i, i+1)
	p.wake()
}

// wake wakes every acquire waiting for a change. The caller holds p.mu.
func (p *pacer) wake() {
	if p.changed != nil {
		close(p.changed)
		p.changed = nil
	}
}

// release ends the attempt of t, which got HTTP status (0 for none: a
// transport error, a cancelled request). A 429 starts or extends the pause
// by retryAfter (pauseFor's choice) with jitter, and lowers the limit to
// what the server sustained. eager reports a 429 to an attempt whose
// flight others of the walk shared; see pacer.
func (p *pacer) release(t ticket, status int, retryAfter time.Duration) (eager bool) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.seq++
	a := p.find(t.start)
	if a == nil || a.end != 0 {
		return false // not a ticket of this pacer in flight
	}
	a.end = p.seq
	a.refused = status == http.StatusTooManyRequests
	p.inFlight--
	p.wake()
	if status != http.StatusTooManyRequests {
		p.streak = 0
		return false
	}
	p.streak++

	now := p.clk.now()
	begins := !now.Before(p.until) // no pause in effect: this 429 begins one
	if begins {
		p.pause = p.pause[:0]
		p.limBefore = p.lim
	}
	if len(p.pause) < p.ceil {
		p.pause = append(p.pause, t.start)
	}
	p.lim = max(1, min(p.limBefore, p.sustained()))

	retryAfter = max(retryAfter, 0)
	if end := now.Add(retryAfterJitter(retryAfter)); end.After(p.until) {
		p.until = end
	}
	p.quiet = minQuiet
	if retryAfter > math.MaxInt64/quietFactor {
		p.quiet = math.MaxInt64
	} else if q := quietFactor * retryAfter; q > p.quiet {
		p.quiet = q
	}
	if calm := now.Add(p.quiet); begins || calm.After(p.calm) {
		p.calm = calm
	}
	// Others of the walk were in flight at some moment of its flight: when
	// it started, or since. Which of them reached the server first is
	// chance.
	return t.company > 0 || p.lastStart > t.start
}

// creep raises the limit by one when a quiet period has passed since the
// last 429 or the last rise. The caller holds p.mu.
func (p *pacer) creep(now time.Time) {
	if p.lim < p.ceil && !p.calm.IsZero() && !now.Before(p.calm) {
		p.lim++
		p.calm = now.Add(p.quiet)
	}
}

// sustained returns the concurrency the server sustained by the account of
// the current pause's 429s: the most attempts in flight at one moment while
// a refused attempt was, counting those that were not refused (an attempt
// still in flight counts as not refused). The moments looked at are the
// refused attempt's start and every start during its flight, so that
// attempts the server took although they were sent after the refused one
// count too. The caller holds p.mu.
func (p *pacer) sustained() int {
	best := 0
	for _, start := range p.pause {
		k, ok := p.index(start)
		if !ok {
			continue
		}
		end := p.log[k].end
		for i := k; i < len(p.log) && p.log[i].start < end; i++ {
			at := p.log[i].start
			n := 0
			for _, j := range p.log[:i+1] {
				if !j.refused && (j.end == 0 || j.end > at) {
					n++
				}
			}
			best = max(best, n)
		}
	}
	return best
}

// remember adds the attempt that starts at seq start to the log, first
// dropping the oldest ended attempt when the log is full. The caller holds
// p.mu.
func (p *pacer) remember(start uint64) {
	if len(p.log) >= logSize(p.ceil) {
		for i, a := range p.log {
			if a.end != 0 {
				p.log = append(p.log[:i], p.log[i+1:]...)
				break
			}
		}
	}
	p.log = append(p.log, attempt{start: start})
}

// index returns the position in the log of the attempt that started at seq
// start, and false when the log no longer holds it. The caller holds p.mu.
func (p *pacer) index(start uint64) (int, bool) {
	return slices.BinarySearchFunc(p.log, start, func(a attempt, s uint64) int { return cmp.Compare(a.start, s) })
}

// find returns the attempt that started at seq start, or nil. The caller
// holds p.mu.
func (p *pacer) find(start uint64) *attempt {
	if i, ok := p.index(start); ok {
		return &p.log[i]
	}
	return nil
}

// systemClock is the clock of time.Now and timers.
type systemClock struct{}

func (systemClock) now() time.Time { return time.Now() }

func (systemClock) sleep(ctx context.Context, d time.Duration, wake <-chan struct{}) {
	var timeout <-chan time.Time
	if d > 0 {
		t := time.NewTimer(d)
		defer t.Stop()
		timeout = t.C
	}
	select {
	case <-timeout:
	case <-wake:
	case <-ctx.Done():
	}
}
