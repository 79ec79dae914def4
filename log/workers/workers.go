// Package workers runs a function over many items a few at a time: the
// file system calls of opening 10,000 partitions, their fsyncs, the
// ZooKeeper reads and writes of a topic's states. It sits under log, the
// bottom layer, as a package of its own (like log/atomicfile), so that
// broker/replica and controller/zk use the same one.
package workers

import "sync"

// Each runs fn on each item, n at a time, in no particular order, and
// returns when every call has. It stops handing out items once stop
// (nil: never) reports true; the items not handed out are not run. fn
// does its own locking of what it shares.
func Each[T any](items []T, n int, stop func() bool, fn func(T)) {
	if n <= 1 || len(items) <= 1 {
		for _, it := range items {
			if stop != nil && stop() {
				return
			}
			fn(it)
		}
		return
	}
	work := make(chan T)
	var wg sync.WaitGroup
	for range min(n, len(items)) {
		wg.Go(func() {
			for it := range work {
				fn(it)
			}
		})
	}
	for _, it := range items {
		if stop != nil && stop() {
			break
		}
		work <- it
	}
	close(work)
	wg.Wait()
}
