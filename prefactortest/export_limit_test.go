package prefactortest

// OnAdmit makes s run f in every request it admits, before the request's
// latency; while f blocks, the request stays in flight. Tests of the
// concurrency limit use it to hold requests without sleeping.
func OnAdmit(s *Server, f func()) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.limit.admitted = f
}
