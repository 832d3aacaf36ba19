package bounded

import "sync/atomic"

// InFlight counts the work in progress and admits at most Max of it at
// once: both services bound their requests with it, refusing the excess at
// once rather than queueing it. A counter, not a semaphore
// (x/sync/semaphore): nothing ever waits, and an atomic add per request
// takes no lock that every request in progress would contend for.
type InFlight struct {
	Max int64
	n   atomic.Int64
}

// Enter admits one more unit of work, or says no when Max are in progress;
// each admitted one must Leave.
func (b *InFlight) Enter() bool {
	if b.n.Add(1) > b.Max {
		b.n.Add(-1)
		return false
	}
	return true
}

// Leave ends one unit of work that Enter admitted.
func (b *InFlight) Leave() { b.n.Add(-1) }
