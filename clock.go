package claim

import "time"

// Clock tells the time. The Service reads it once per transaction and
// uses that instant for every rule in it. Windows such as the 14-day
// claim window are stored as deadlines and compared on every call, never
// run as timers, so a fake clock (claimtest.NewClock) needs no goroutine
// to drive it.
type Clock interface {
	Now() time.Time
}

// systemClock is the default Clock: the wall clock in UTC.
type systemClock struct{}

func (systemClock) Now() time.Time { return time.Now().UTC() }
