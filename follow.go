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
// then polls. The memory store closes it at commit; the PostgreSQL store
// closes it on a LISTEN notification when it has a listener connection.
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
// or ctx ends. It returns nil when such an event exists, or ctx's error
// (wrapped). It wakes when the store notifies a commit (EventNotifier),
// and otherwise reads the log every poll interval (WithFollowPoll).
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
			evs, err = t.Tx.Events(after, 1)
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
// once and in order, until ctx ends or the loop stops. It ends by
// yielding ctx's error (wrapped), or the first error of a read.
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
