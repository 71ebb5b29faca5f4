package postgres

import "testing"

// isClosed reports whether ch is closed.
func isClosed(ch <-chan struct{}) bool {
	select {
	case <-ch:
		return true
	default:
		return false
	}
}

// TestListenerWakes: the channel of EventsCommitted is nil while the
// listener does not listen, closed by a notification, and closed when
// the session is lost, so that its followers read the log and poll.
func TestListenerWakes(t *testing.T) {
	var l listener
	if ch := l.committed(); ch != nil {
		t.Fatalf("committed() before the listener listens = %v, want nil", ch)
	}
	l.setLive(true, 42)
	ch := l.committed()
	if ch == nil || isClosed(ch) {
		t.Fatalf("committed() while listening = %v (closed %v), want an open channel", ch, ch != nil && isClosed(ch))
	}
	if again := l.committed(); again != ch {
		t.Errorf("committed() twice without a notification returned two channels")
	}
	l.woken.Broadcast() // a notification
	if !isClosed(ch) {
		t.Errorf("a notification left the channel open")
	}
	ch = l.committed()
	l.setLive(false, 0)
	if !isClosed(ch) {
		t.Errorf("losing the session left the channel open: its followers would not poll")
	}
	if got := l.committed(); got != nil {
		t.Errorf("committed() after the session was lost = %v, want nil", got)
	}
	l.setLive(true, 43)
	if ch := l.committed(); ch == nil || isClosed(ch) {
		t.Errorf("committed() after listening again = %v, want an open channel", ch)
	}
}
