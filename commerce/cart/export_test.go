package cart

// WithGroupHook makes the add combiner tell f the size of every group it
// runs (a group of 1 is an add run alone). Give it after WithAddGroups.
func WithGroupHook(f func(size int)) Option {
	return func(s *Service) {
		if s.combiner != nil {
			s.combiner.grouped = f
		}
	}
}

// AddsWaiting is how many adds wait for a group.
func (s *Service) AddsWaiting() int {
	s.combiner.mu.Lock()
	defer s.combiner.mu.Unlock()
	return len(s.combiner.waiting)
}
