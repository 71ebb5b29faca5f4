package wake

import "testing"

func closed(ch <-chan struct{}) bool {
	select {
	case <-ch:
		return true
	default:
		return false
	}
}

// TestSignal: Broadcast closes the channel every waiter took since the
// last Broadcast, and only that one.
func TestSignal(t *testing.T) {
	var s Signal
	s.Broadcast() // no waiter: nothing to close
	a, b := s.Chan(), s.Chan()
	if a != b {
		t.Fatal("Chan() twice without a Broadcast returned two channels")
	}
	if closed(a) {
		t.Fatal("Chan() returned a closed channel")
	}
	s.Broadcast()
	if !closed(a) {
		t.Error("Broadcast left the waiters' channel open")
	}
	c := s.Chan()
	if c == a || closed(c) {
		t.Error("Chan() after a Broadcast returned the closed channel")
	}
}
