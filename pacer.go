package prefactor

import (
	"cmp"
	"context"
	"math"
	"net/http"
	"slices"
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
//     sustained: the most attempts that were in flight at once, while a
//     refused one was, and were not refused themselves (see sustained); at
//     least one. Halving is not enough: 16 halved still overloads a server
//     that takes 4, and costs a second pause.
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
	pause     []uint64      // starts of the current pause's 429s; at most ceil
	log       []attempt     // the attempts in flight and the last ended ones, by start
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
			p.remember(t.start)
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
	a := p.find(t.start)
	if a == nil || a.end != 0 {
		return false // not a ticket of this pacer in flight
	}
	a.end = p.seq
	a.refused = status == http.StatusTooManyRequests
	p.inFlight--
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
