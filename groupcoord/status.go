package groupcoord

// GroupStatus is one group this coordinator owns, as monitoring sees it
// (Kafka's per-state group counts and the lag exporters compute from
// committed offsets).
type GroupStatus struct {
	ID string
	// State is the name DescribeGroups reports (Empty, Stable, ...).
	State   string
	Members int
	// Offsets are the group's committed offsets; offsets of transactions
	// still open are not among them, as OffsetFetch does not return them.
	Offsets []CommittedOffset
}

// CommittedOffset is a group's committed offset for one partition.
type CommittedOffset struct {
	Topic     string
	Partition int32
	Offset    int64
}

// Status lists the live groups of the partitions this coordinator has
// loaded, in no order. It holds each group's lock briefly, one at a time,
// and never Coordinator.mu with it.
func (c *Coordinator) Status() []GroupStatus {
	c.mu.Lock()
	groups := make([]*group, 0, len(c.groups))
	for _, g := range c.groups {
		groups = append(groups, g)
	}
	c.mu.Unlock()
	out := make([]GroupStatus, 0, len(groups))
	for _, g := range groups {
		g.mu.Lock()
		if g.is(stateDead) {
			g.unlock()
			continue
		}
		st := GroupStatus{ID: g.id, State: g.state.String(), Members: len(g.members)}
		if len(g.offsets) > 0 {
			st.Offsets = make([]CommittedOffset, 0, len(g.offsets))
			for tp, e := range g.offsets {
				st.Offsets = append(st.Offsets, CommittedOffset{Topic: tp.topic, Partition: tp.partition, Offset: e.offset})
			}
		}
		g.unlock()
		out = append(out, st)
	}
	return out
}

// GroupStates are the states a live group can be in, as Status names
// them, so a monitor can report zero for the states no group is in.
func GroupStates() []string {
	return []string{stateEmpty.String(), statePreparingRebalance.String(), stateCompletingRebalance.String(), stateStable.String()}
}
