//go:build !race

package claim_test

// raceEnabled reports whether the race detector is on: tests that only
// measure scale run smaller under it.
const raceEnabled = false
