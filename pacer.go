package prefactor

import (
	"context"
	"math"
	"math/rand/v2"
	"net/http"
	"sync"
	"time"
)

// A pacer sets the pace of one parallel walk: every attempt of the walk, a
// page's first attempt or a retry, takes a place with acquire before it is
// sent and gives it back with release when its answer (or failure) is in.
// The walk, not each request, owns the rate:
//
//   - After a 429 no attempt of the walk starts until the Retry-After has
//     passed, plus up to 20 % at random (retryAfterJitter), so that callers
//     told the same wait do not come back in step. A 429 during the pause
//     makes it last at least until its own Retry-After has passed.
//   - The limit on attempts in flight then falls to what the server
//     sustained: for each 429 of the pause, the attempts that were in
//     flight when it was sent and were not refused too; the most of those,
//     and at least one. Halving is not enough: 16 halved still overloads a
//     server that takes 4, and costs a second pause.
//   - It rises again by one after a quiet period without a 429 of
//     quietFactor times the last Retry-After (at least minQuiet), and by
//     one more after each further quiet period, up to the walk's
//     concurrency. Probing sooner costs a whole pause each time it fails.
//
// release reports whether a 429 was the walk's own doing: the attempt was
// sent while others of the walk were in flight, so the walk, by lowering
// its limit, will send fewer. The retry path need not count such a 429
// against the page's retries; each one lowers the limit until a single
// attempt is in flight, whose 429s then count as usual.
//
// A pacer is safe for concurrent use.
type pacer struct {
	clk  clock
	ceil int // the walk's concurrency; the limit never exceeds it

	mu        sync.Mutex
	lim       int           // attempts allowed in flight, 1..ceil
	inFlight  int           // attempts acquired and not released
	seq       uint64        // counts acquires and releases, ordering them
	until     time.Time     // no attempt starts before this: the pause after a 429
	quiet     time.Duration // quiet period of the last 429
	calm      time.Time     // when the limit may rise by one; zero: never yet
	limBefore int           // the limit when the current pause began
	pause     []attempt     // the 429s of the current pause; at most ceil
	refused   []attempt     // the last 429s, oldest first; at most 4·ceil
	changed   chan struct{} // closed by release when acquires wait; nil when none do
}

const (
	// quietFactor times the last Retry-After is how long a walk goes
	// without a 429 before its limit rises by one.
	quietFactor = 4
	// minQuiet is the shortest quiet period, for a 429 that asked for
	// little or no wait.
	minQuiet = time.Second
)

// ticket is an attempt in flight, from acquire to release.
type ticket struct {
	start   uint64 // the pacer's seq when it started
	company int    // other attempts in flight when it started
}

// attempt is a ticket that ended; end is the pacer's seq then.
type attempt struct {
	ticket
	end uint64
}

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

// acquire waits until no pause is in effect and fewer attempts than the
// limit are in flight, then counts one more in flight and returns its
// ticket, which release must take back once. It returns ctx's error, and
// counts nothing, when ctx ends first (or has ended already).
func (p *pacer) acquire(ctx context.Context) (ticket, error) {
	for {
		p.mu.Lock()
		if err := ctx.Err(); err != nil {
			p.mu.Unlock()
			return ticket{}, err
		}
		now := p.clk.now()
		p.creep(now)
		pause := p.until.Sub(now)
		if pause <= 0 && p.inFlight < p.lim {
			p.seq++
			t := ticket{start: p.seq, company: p.inFlight}
			p.inFlight++
			p.mu.Unlock()
			return t, nil
		}
		var wake chan struct{}
		if pause <= 0 {
			// Only a place is missing: the next release brings one.
			if p.changed == nil {
				p.changed = make(chan struct{})
			}
			pause, wake = 0, p.changed
		}
		p.mu.Unlock()
		p.clk.sleep(ctx, pause, wake)
	}
}

// release ends the attempt of t, which got HTTP status (0 for none: a
// transport error, a cancelled request). A 429 starts or extends the pause
// by retryAfter — the wait the server asked for or, without a Retry-After
// header, the backoff the caller would have waited — with jitter, and
// lowers the limit to what the server sustained. eager reports a 429 that
// came while other attempts of the walk were in flight; see pacer.
func (p *pacer) release(t ticket, status int, retryAfter time.Duration) (eager bool) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.seq++
	if p.inFlight > 0 {
		p.inFlight--
	}
	if p.changed != nil {
		close(p.changed)
		p.changed = nil
	}
	if status != http.StatusTooManyRequests {
		return false
	}

	now := p.clk.now()
	begins := !now.Before(p.until) // no pause in effect: this 429 begins one
	if begins {
		p.pause = p.pause[:0]
		p.limBefore = p.lim
	}
	a := attempt{ticket: t, end: p.seq}
	p.pause = appendBounded(p.pause, a, p.ceil)
	p.refused = appendBounded(p.refused, a, 4*p.ceil)
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
	return t.company > 0
}

// limit returns how many attempts may be in flight now.
func (p *pacer) limit() int {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.creep(p.clk.now())
	return p.lim
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
// the current pause's 429s: for each, the attempts that were in flight
// when it started and were not refused too (those still in flight count as
// not refused); the most of those. An attempt the server took although it
// was sent after every refused one is not seen, so the estimate is then
// low by one until the limit creeps back. The caller holds p.mu.
func (p *pacer) sustained() int {
	best := 0
	for _, k := range p.pause {
		n := k.company
		for _, j := range p.refused {
			if j.start < k.start && j.end > k.start { // in flight when k started
				n--
			}
		}
		best = max(best, n)
	}
	return best
}

// appendBounded appends a to s, dropping the oldest entry when s already
// holds limit of them.
func appendBounded(s []attempt, a attempt, limit int) []attempt {
	if len(s) >= limit {
		s = append(s[:0], s[len(s)-limit+1:]...)
	}
	return append(s, a)
}

// retryAfterJitter returns a wait of at least d and at most d + d/5, picked
// at random, so that clients told the same Retry-After do not come back at
// the same moment. d <= 0 gives 0.
func retryAfterJitter(d time.Duration) time.Duration {
	if d <= 0 {
		return 0
	}
	extra := d / 5
	if d > math.MaxInt64-extra {
		return d
	}
	return d + rand.N(extra+1)
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
