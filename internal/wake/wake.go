// Package wake is a broadcast to goroutines that wait for something to
// happen: the stores' implementations of claim.EventNotifier share it.
package wake

import "sync"

// Signal wakes every goroutine that took its channel before a Broadcast.
// The zero value is ready for use; a Signal must not be copied after
// first use.
type Signal struct {
	mu sync.Mutex
	ch chan struct{} // made when first asked for, closed by Broadcast; nil while no one waits
}

// Chan returns a channel that the next Broadcast closes.
func (s *Signal) Chan() <-chan struct{} {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.ch == nil {
		s.ch = make(chan struct{})
	}
	return s.ch
}

// Broadcast closes the channel Chan returned, if it returned one since
// the last Broadcast; the next Chan returns a new one.
func (s *Signal) Broadcast() {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.ch != nil {
		close(s.ch)
		s.ch = nil
	}
}
