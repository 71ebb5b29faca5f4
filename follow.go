package claim

import (
	"context"
	"fmt"
	"iter"
	"time"
)

// EventNotifier is an optional capability of a Store: it tells a
// follower (Service.WaitEvents, Service.Follow) that events may have
// committed, so that the follower does not poll.
//
// EventsCommitted returns a channel that is closed at the latest when a
// transaction that appended events commits after the call. It may be
// closed earlier or spuriously (the follower reads the log and waits
// again); it returns nil when the store cannot tell now, and the follower
// then polls (WithFollowPoll). A follower takes the channel before it
// reads the log, so that a commit between the read and the wait still
// wakes it: an implementation closes the channel only once the events are
// visible to a read that begins after the close.
//
// The memory store closes it at commit. The PostgreSQL store closes it on
// a LISTEN notification when it has a listener connection
// (postgres.WithListener), and returns nil without one or while the
// listener reconnects.
type EventNotifier interface {
	EventsCommitted() <-chan struct{}
}

// DefaultFollowPoll is how often a follower reads the log when its store
// cannot notify it (no EventNotifier, or one that returns nil); see
// WithFollowPoll.
const DefaultFollowPoll = time.Second

// followSafety is how often a follower reads the log even when its store
// notifies it, in case a notification was lost.
const followSafety = 30 * time.Second

// WithFollowPoll sets how often WaitEvents and Follow read the log when
// the store cannot notify them (default DefaultFollowPoll). A shorter
// interval wakes followers sooner at the cost of a read per interval and
// follower.
func WithFollowPoll(d time.Duration) Option { return func(s *Service) { s.followPoll = d } }

// WaitEvents blocks until the event log holds an event with Seq > after
// or ctx ends. It returns nil when such an event exists (at once if one
// does already), ctx's error (wrapped) when ctx ends first, or the error
// of a read of the log.
//
// On a store that notifies commits (EventNotifier: the memory store, the
// PostgreSQL store with a listener) it reads the log once, then sleeps
// until a commit wakes it, so it returns within a moment of the commit
// (a round trip on PostgreSQL); it reads again every 30 seconds in case a
// notification was lost. On a store that cannot notify (the PostgreSQL
// store without postgres.WithListener, or while its listener reconnects)
// it falls back to reading the log every poll interval (WithFollowPoll,
// default one second): a bounded delay, and a read per interval.
//
// Like Events, it is a global read for the host's trusted code.
func (s *Service) WaitEvents(ctx context.Context, after uint64) error {
	for {
		var woken <-chan struct{}
		if n, ok := s.store.(EventNotifier); ok {
			woken = n.EventsCommitted()
		}
		var evs []Event
		err := s.view(ctx, func(t *txn) error {
			var err error
			evs, err = t.tx.Events(after, 1)
			return err
		})
		if err != nil {
			return err
		}
		if len(evs) > 0 {
			return nil
		}
		wait := s.followPoll
		if woken != nil {
			wait = followSafety
		}
		timer := time.NewTimer(wait)
		select {
		case <-ctx.Done():
			timer.Stop()
			return fmt.Errorf("claim: waiting for events after %d: %w", after, ctx.Err())
		case <-woken:
		case <-timer.C:
		}
		timer.Stop()
	}
}

// Follow iterates over the event log from after on, as Events does, and
// then waits (WaitEvents) for the events that commit later, yielding each
// once and in Seq order, none skipped, until ctx ends or the loop stops.
// It ends by yielding ctx's error (wrapped), or the first error of a read.
// A host that remembers the Seq of the last event it handled resumes
// with Follow(ctx, thatSeq) after a restart.
//
// Its events wake it as WaitEvents describes: at once on a store that
// notifies commits, otherwise at the next poll (WithFollowPoll).
func (s *Service) Follow(ctx context.Context, after uint64) iter.Seq2[Event, error] {
	return func(yield func(Event, error) bool) {
		for {
			for e, err := range s.Events(ctx, after) {
				if err != nil {
					yield(Event{}, err)
					return
				}
				after = e.Seq
				if !yield(e, nil) {
					return
				}
			}
			if err := s.WaitEvents(ctx, after); err != nil {
				yield(Event{}, err)
				return
			}
		}
	}
}
