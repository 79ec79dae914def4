package controller

import (
	"maps"
	"slices"
	"sync"
)

// Subscribers fans changes out to Subscribe callbacks, for the stores:
// each callback has its own goroutine and queue, so a slow callback never
// holds a store's lock nor delays the others, and sees the changes in the
// order they were published. The zero value is ready to use.
type Subscribers struct {
	mu     sync.Mutex
	subs   map[int]*subscriber
	next   int
	closed bool
}

type subscriber struct {
	mu      sync.Mutex
	queue   []Change
	wake    chan struct{}
	stopped chan struct{}
}

// Add starts delivering to fn; the returned function stops it (a store's
// Subscribe).
func (l *Subscribers) Add(fn func(Change)) (cancel func()) {
	sub := &subscriber{wake: make(chan struct{}, 1), stopped: make(chan struct{})}
	l.mu.Lock()
	id := l.next
	l.next++
	if l.closed {
		close(sub.stopped)
	} else {
		if l.subs == nil {
			l.subs = make(map[int]*subscriber)
		}
		l.subs[id] = sub
	}
	l.mu.Unlock()
	go sub.run(fn)
	var once sync.Once
	return func() {
		once.Do(func() {
			l.mu.Lock()
			defer l.mu.Unlock()
			if _, ok := l.subs[id]; ok {
				delete(l.subs, id)
				close(sub.stopped)
			}
		})
	}
}

func (sub *subscriber) run(fn func(Change)) {
	for {
		select {
		case <-sub.stopped:
			return
		case <-sub.wake:
		}
		sub.mu.Lock()
		q := sub.queue
		sub.queue = nil
		sub.mu.Unlock()
		for _, ch := range q {
			select {
			case <-sub.stopped:
				return
			default:
			}
			fn(ch)
		}
	}
}

// Publish queues changes for every subscriber. Callers publish in the
// order the changes were applied (under their own lock, or from the one
// goroutine that applies changes).
func (l *Subscribers) Publish(changes ...Change) {
	if len(changes) == 0 {
		return
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	for _, sub := range l.subs {
		sub.mu.Lock()
		sub.queue = append(sub.queue, changes...)
		sub.mu.Unlock()
		select {
		case sub.wake <- struct{}{}:
		default:
		}
	}
}

// Close stops every delivery; later subscriptions get nothing.
func (l *Subscribers) Close() {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.closed = true
	for id, sub := range l.subs {
		close(sub.stopped)
		delete(l.subs, id)
	}
}

// TopicChanges is what subscribers are told when a topic as a store shows
// it goes from before to after (nil: not shown): TopicCreated,
// TopicDeleted (both when the topic was deleted and created again under
// its name), else PartitionsCreated, TopicConfigChanged and one
// LeadershipChanged for any change of the leader, leader epoch,
// partition epoch or ISR of its partitions, in that order.
func TopicChanges(name string, before, after *Topic) []Change {
	switch {
	case before == nil && after == nil:
		return nil
	case before == nil:
		return []Change{{Kind: TopicCreated, Topic: name}}
	case after == nil:
		return []Change{{Kind: TopicDeleted, Topic: name}}
	case before.ID != after.ID:
		return []Change{{Kind: TopicDeleted, Topic: name}, {Kind: TopicCreated, Topic: name}}
	}
	var out []Change
	if len(after.Partitions) > len(before.Partitions) {
		out = append(out, Change{Kind: PartitionsCreated, Topic: name})
	}
	if !maps.Equal(before.Configs, after.Configs) {
		out = append(out, Change{Kind: TopicConfigChanged, Topic: name})
	}
	for i := range min(len(before.Partitions), len(after.Partitions)) {
		a, b := before.Partitions[i], after.Partitions[i]
		if a.Leader != b.Leader || a.LeaderEpoch != b.LeaderEpoch || a.PartitionEpoch != b.PartitionEpoch || !slices.Equal(a.ISR, b.ISR) {
			out = append(out, Change{Kind: LeadershipChanged, Topic: name})
			break
		}
	}
	return out
}
