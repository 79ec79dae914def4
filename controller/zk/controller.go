package zk

import (
	"context"
	"errors"
	"fmt"
	"iter"
	"maps"
	"slices"
	"sync"
	"sync/atomic"
	"time"

	gozk "github.com/go-zookeeper/zk"
	"github.com/rs/zerolog"

	"github.com/samsa-io/samsa/controller"
	"github.com/samsa-io/samsa/log/workers"
)

// zkController is a broker's part in Kafka's controller role: every
// broker runs one; the one whose ephemeral /controller znode exists acts.
// It runs on its own goroutine, like Kafka's controller event queue: it
// wakes when the view changes, when ElectLeaders or ControlledShutdown
// call, and on its timers, and then compares the view with what the
// cluster should look like (level-triggered, so a controller that takes
// over, or comes back after losing ZooKeeper, converges from whatever it
// finds).
//
// Fencing: winning the election increments /controller_epoch, and every
// write the controller makes is a multi that first checks the version of
// /controller_epoch it set; once another broker has been elected, the
// check fails and this controller resigns. Partition state writes are
// also conditional on the state znode's version, so a controller working
// from a stale view (or racing a leader's AlterPartition) re-reads and
// decides again instead of overwriting.
type zkController struct {
	s      *Store
	zk     *zkConn
	logger zerolog.Logger
	self   int32

	wakeCh   chan struct{}
	requests chan *ctrlCall
	// active mirrors the goroutine's state for callers that only need to
	// refuse early with ErrNotController.
	active atomic.Bool

	// Owned by the controller goroutine.
	session        int64 // the session /controller was created in
	epoch          int32
	epochZkVersion int32
	knownEpochs    map[int32]int64 // broker epochs as of the last complete reconcile
	shuttingDown   map[int32]int64 // broker → epoch when it asked for controlled shutdown
	written        map[controller.TopicPartition]writtenState
	writtenMu      sync.Mutex // written: controlled shutdown writes states side by side
	retry          *time.Timer
	rebalance      *time.Timer
	housekeeping   *time.Timer
	rebalanceDue   bool
	housekeepDue   bool
}

// writtenState is a state this controller wrote, used until its view
// catches up so that it does not decide twice from an old view.
type writtenState struct {
	topicID controller.TopicID
	state   partitionState
}

// housekeepingInterval is how often the controller purges expired
// /config/changes notifications.
const housekeepingInterval = 5 * time.Minute

var (
	// errFenced: a write failed the /controller_epoch check.
	errFenced = errors.New("another controller was elected (controller epoch moved on)")
	// errPartitionGone: the state znode was deleted (topic deletion).
	errPartitionGone = errors.New("partition state znode is gone")
)

type ctrlRequest struct {
	shutdown bool
	brokerID int32
	// brokerEpoch is the shutting down broker's registration (its
	// znode's czxid) when it asked: a request that outlived it (the
	// broker restarted while the controller was busy) is refused.
	brokerEpoch int64
	electType   controller.ElectionType
	partitions  []controller.TopicPartition
	all         bool
}

type ctrlResult struct {
	results   map[controller.TopicPartition]error
	remaining []controller.TopicPartition
	written   map[controller.TopicPartition]int32 // partition → state version written
}

type ctrlCall struct {
	ctx   context.Context // the caller's: one that gave up is not served
	req   ctrlRequest
	reply chan ctrlReply
}

type ctrlReply struct {
	res ctrlResult
	err error
}

func newZKController(s *Store) *zkController {
	return &zkController{
		s:        s,
		zk:       s.zk,
		logger:   s.logger.With().Str("component", "controller").Logger(),
		self:     s.cfg.Self.ID,
		wakeCh:   make(chan struct{}, 1),
		requests: make(chan *ctrlCall),
	}
}

func (c *zkController) wake() {
	select {
	case c.wakeCh <- struct{}{}:
	default:
	}
}

// call runs a request on the controller goroutine.
func (c *zkController) call(ctx context.Context, req ctrlRequest) (ctrlResult, error) {
	if !c.active.Load() {
		return ctrlResult{}, c.notController()
	}
	call := &ctrlCall{ctx: ctx, req: req, reply: make(chan ctrlReply, 1)}
	select {
	case c.requests <- call:
	case <-ctx.Done():
		return ctrlResult{}, ctx.Err()
	case <-c.s.stop:
		return ctrlResult{}, fmt.Errorf("%w: store closed", controller.ErrStoreUnavailable)
	}
	select {
	case r := <-call.reply:
		return r.res, r.err
	case <-ctx.Done():
		return ctrlResult{}, ctx.Err()
	case <-c.s.stop:
		return ctrlResult{}, fmt.Errorf("%w: store closed", controller.ErrStoreUnavailable)
	}
}

func (c *zkController) notController() error {
	return fmt.Errorf("%w (broker %d; the controller is broker %d)", controller.ErrNotController, c.self, c.s.ControllerID())
}

func newStoppedTimer() *time.Timer {
	t := time.NewTimer(time.Hour)
	t.Stop()
	return t
}

func (c *zkController) run() {
	c.retry, c.rebalance, c.housekeeping = newStoppedTimer(), newStoppedTimer(), newStoppedTimer()
	defer func() {
		c.active.Store(false)
		c.retry.Stop()
		c.rebalance.Stop()
		c.housekeeping.Stop()
	}()
	for {
		select {
		case <-c.s.stop:
			return
		case <-c.wakeCh:
		case <-c.retry.C:
		case <-c.rebalance.C:
			c.rebalanceDue = true
		case <-c.housekeeping.C:
			c.housekeepDue = true
		case call := <-c.requests:
			if err := call.ctx.Err(); err != nil {
				call.reply <- ctrlReply{err: err} // its caller left
				break
			}
			res, err := c.serve(call.ctx, call.req)
			call.reply <- ctrlReply{res, err}
		}
		c.step()
	}
}

func (c *zkController) retryLater(err error) {
	c.logger.Debug().Err(err).Msg("controller work incomplete; retrying")
	c.retry.Reset(time.Second)
}

// step is one look at the cluster: keep or give up the controller role,
// run for it when nobody holds it, and when acting, reconcile.
func (c *zkController) step() {
	snap := c.s.controllerSnapshot()
	sid := c.s.session.Load()
	connSID := c.zk.conn.SessionID()
	if c.active.Load() {
		switch {
		case c.s.lostSession.Load() == c.session:
			c.resign("the ZooKeeper session is lost")
		case connSID != c.session || sid != c.session:
			c.resign("the ZooKeeper session changed")
		case snap.controllerOwner != c.session:
			// The view may not show this controller's own election yet.
			_, st, err := c.zk.get(zkControllerPath)
			switch {
			case isUnavailable(err):
				c.retryLater(err)
				return
			case errors.Is(err, gozk.ErrNoNode), err == nil && st.EphemeralOwner != c.session:
				c.resign("the /controller znode is gone")
			case err != nil:
				c.logger.Warn().Err(err).Msg("read /controller")
			}
		}
	}
	if !c.active.Load() {
		if sid == 0 || sid != connSID || c.s.lostSession.Load() == sid {
			return // not registered in the current session yet
		}
		switch {
		case snap.controllerID < 0:
			if c.elect() {
				snap = c.s.controllerSnapshot()
			}
		case snap.controllerID == c.self && snap.controllerOwner == connSID:
			// This session holds /controller but does not act (it
			// resigned): give it up so that an election runs.
			c.giveUpControllerNode()
		}
	}
	if !c.active.Load() {
		return
	}
	err := c.reconcile(snap)
	if err == nil && c.housekeepDue {
		c.housekeepDue = false
		c.purgeConfigChanges()
		c.housekeeping.Reset(housekeepingInterval)
	}
	if err == nil && c.rebalanceDue {
		c.rebalanceDue = false
		err = c.autoRebalance(c.s.controllerSnapshot())
		c.rebalance.Reset(c.s.cfg.LeaderImbalanceCheckInterval)
	}
	c.handleError(err)
}

// handleError reacts to a failed controller write.
func (c *zkController) handleError(err error) {
	switch {
	case err == nil:
	case errors.Is(err, errFenced):
		c.fenced()
	default:
		c.retryLater(err)
	}
}

// elect runs for controller: create the ephemeral /controller and bump
// /controller_epoch in one multi, as Kafka's
// registerControllerAndIncrementControllerEpoch does, so exactly one
// broker wins each epoch. It reports whether this broker won.
func (c *zkController) elect() bool {
	data, st, err := c.zk.get(zkControllerEpochPath)
	ops := []zkOp{opCreate(zkControllerPath, encodeController(c.self, c.s.now()), gozk.FlagEphemeral)}
	var epoch int32
	switch {
	case errors.Is(err, gozk.ErrNoNode):
		epoch = 1
		ops = append(ops, opCreate(zkControllerEpochPath, encodeControllerEpoch(epoch), 0))
	case err != nil:
		c.retryLater(err)
		return false
	default:
		prev, err := decodeControllerEpoch(data)
		if err != nil {
			c.logger.Error().Err(err).Msg("cannot run for controller")
			return false
		}
		epoch = prev + 1
		ops = append(ops, opSet(zkControllerEpochPath, encodeControllerEpoch(epoch), st.Version))
	}
	res, err := c.zk.multi(ops...)
	var me *multiError
	switch {
	case err == nil:
	case errors.As(err, &me) && me.index == 0 && errors.Is(err, gozk.ErrNodeExists):
		c.logger.Debug().Msg("another broker won the controller election")
		return false
	case errors.As(err, &me) && me.index == 1:
		// The epoch moved: a controller came and went meanwhile.
		c.wake()
		return false
	default:
		c.retryLater(err)
		return false
	}
	var epochZkVersion int32
	if res[1].Stat != nil {
		epochZkVersion = res[1].Stat.Version
	}
	owner := c.zk.conn.SessionID()
	if _, cst, err := c.zk.get(zkControllerPath); err == nil {
		owner = cst.EphemeralOwner
	}
	c.session, c.epoch, c.epochZkVersion = owner, epoch, epochZkVersion
	c.active.Store(true)
	// Decide from a view at least as new as the election: Kafka's new
	// controller reads everything from ZooKeeper; this one lets its view
	// apply what ZooKeeper told it up to the win (a broker whose death
	// ended the previous controller's session, say).
	c.s.catchUp(context.Background())
	snap := c.s.controllerSnapshot()
	c.knownEpochs = make(map[int32]int64, len(snap.brokers))
	for id, b := range snap.brokers {
		c.knownEpochs[id] = b.epoch
	}
	c.shuttingDown = map[int32]int64{}
	c.written = map[controller.TopicPartition]writtenState{}
	c.housekeepDue = true
	if c.s.cfg.AutoLeaderRebalance {
		c.rebalance.Reset(c.s.cfg.LeaderImbalanceCheckInterval)
	}
	c.logger.Info().Int32("controller_epoch", epoch).Str("session", sessionString(owner)).Msg("elected controller")
	return true
}

// resign stops acting as controller.
func (c *zkController) resign(reason string) {
	if !c.active.Load() {
		return
	}
	c.logger.Warn().Int32("controller_epoch", c.epoch).Str("reason", reason).Msg("no longer the controller")
	c.active.Store(false)
	c.rebalance.Stop()
	c.housekeeping.Stop()
	c.rebalanceDue, c.housekeepDue = false, false
	c.knownEpochs, c.shuttingDown, c.written = nil, nil, nil
}

// fenced resigns after a write failed the epoch check and, as Kafka's
// triggerControllerMove does, gives up /controller if this session still
// holds it, so the cluster elects again.
func (c *zkController) fenced() {
	c.resign(errFenced.Error())
	c.giveUpControllerNode()
}

func (c *zkController) giveUpControllerNode() {
	_, st, err := c.zk.get(zkControllerPath)
	if err != nil || st.EphemeralOwner != c.zk.conn.SessionID() {
		return
	}
	if err := c.zk.delete(zkControllerPath, st.Version); err != nil && !errors.Is(err, gozk.ErrNoNode) {
		c.logger.Warn().Err(err).Msg("give up /controller")
		c.retryLater(err)
	}
}

// ctrlSnapshot is the controller's copy of the view.
type ctrlSnapshot struct {
	controllerID    int32
	controllerOwner int64
	brokers         map[int32]liveBroker
	topics          map[string]*ctrlTopic
	pendingDeletion map[string]bool
	isrChanges      []string
	defaultConfigs  map[string]string
}

type ctrlTopic struct {
	id         controller.TopicID
	zkVersion  int32
	assignment [][]int32
	states     []*partitionState
	configs    map[string]string
}

// liveTopic returns a topic that exists and is not being deleted.
func (snap *ctrlSnapshot) liveTopic(name string) (*ctrlTopic, bool) {
	t := snap.topics[name]
	if t == nil || t.id.IsZero() || snap.pendingDeletion[name] {
		return nil, false
	}
	return t, true
}

// liveTopics yields the topics that exist and are not being deleted, in
// name order.
func (snap *ctrlSnapshot) liveTopics() iter.Seq2[string, *ctrlTopic] {
	return func(yield func(string, *ctrlTopic) bool) {
		for _, name := range slices.Sorted(maps.Keys(snap.topics)) {
			if t, ok := snap.liveTopic(name); ok && !yield(name, t) {
				return
			}
		}
	}
}

// brokerEpochs maps each live broker to its epoch, the creation zxid of
// its registration.
func (snap *ctrlSnapshot) brokerEpochs() map[int32]int64 {
	out := make(map[int32]int64, len(snap.brokers))
	for id, b := range snap.brokers {
		out[id] = b.epoch
	}
	return out
}

func (s *Store) controllerSnapshot() *ctrlSnapshot {
	s.mu.RLock()
	defer s.mu.RUnlock()
	v := &s.view
	snap := &ctrlSnapshot{
		controllerID:    v.controllerID,
		controllerOwner: v.controllerOwner,
		brokers:         maps.Clone(v.brokers),
		topics:          make(map[string]*ctrlTopic, len(v.topics)),
		pendingDeletion: maps.Clone(v.pendingDeletion),
		isrChanges:      slices.Clone(v.isrChanges),
		defaultConfigs:  maps.Clone(v.brokerConfigs[-1]),
	}
	for name, t := range v.topics {
		ct := &ctrlTopic{id: t.id, zkVersion: t.zkVersion, configs: maps.Clone(t.configs), assignment: make([][]int32, len(t.assignment)), states: make([]*partitionState, len(t.states))}
		for i, r := range t.assignment {
			ct.assignment[i] = slices.Clone(r)
		}
		for i, st := range t.states {
			if st != nil {
				cp := st.clone()
				ct.states[i] = &cp
			}
		}
		snap.topics[name] = ct
	}
	return snap
}

// liveness is the election's view of the brokers. A broker whose epoch
// changed since the last reconcile restarted; one that left or restarted
// is done with its controlled shutdown.
func (c *zkController) liveness(snap *ctrlSnapshot) controller.Liveness {
	l := controller.Liveness{Live: map[int32]bool{}, ShuttingDown: map[int32]bool{}, Restarted: map[int32]bool{}}
	for id, b := range snap.brokers {
		l.Live[id] = true
		if e, ok := c.knownEpochs[id]; ok && e != b.epoch {
			l.Restarted[id] = true
		}
	}
	for id, epoch := range c.shuttingDown {
		if b, ok := snap.brokers[id]; ok && b.epoch == epoch {
			l.ShuttingDown[id] = true
		} else {
			delete(c.shuttingDown, id)
		}
	}
	return l
}

// recordWritten remembers a state this controller wrote.
func (c *zkController) recordWritten(tp controller.TopicPartition, w writtenState) {
	c.writtenMu.Lock()
	c.written[tp] = w
	c.writtenMu.Unlock()
}

// current is a partition's state: the view's, or the one this controller
// wrote if the view has not caught up with it yet; nil when it has none.
func (c *zkController) current(tp controller.TopicPartition, t *ctrlTopic) *partitionState {
	var fromView *partitionState
	if int(tp.Partition) < len(t.states) {
		fromView = t.states[tp.Partition]
	}
	c.writtenMu.Lock()
	w, ok := c.written[tp]
	if ok && (w.topicID != t.id || (fromView != nil && fromView.zkVersion >= w.state.zkVersion)) {
		delete(c.written, tp)
		ok = false
	}
	c.writtenMu.Unlock()
	if ok {
		st := w.state.clone()
		return &st
	}
	if fromView != nil {
		st := fromView.clone()
		return &st
	}
	return nil
}

// uncleanEnabled resolves unclean.leader.election.enable for a topic
// (controller.UncleanLeaderElectionEnabled) over this broker's static
// setting.
func (c *zkController) uncleanEnabled(topicConfigs, defaults map[string]string) bool {
	return controller.UncleanLeaderElectionEnabled(topicConfigs, defaults, c.s.cfg.UncleanLeaderElection)
}

// reconcile brings ZooKeeper in line with what the cluster should look
// like: notifications cleared, queued deletions done, topic IDs given,
// partition states created for new partitions, leaders elected where the
// leader is gone, dead followers out of the ISRs.
func (c *zkController) reconcile(snap *ctrlSnapshot) error {
	l := c.liveness(snap)
	epochs := snap.brokerEpochs()
	var retry error
	if err := c.clearIsrChanges(snap.isrChanges); err != nil {
		if errors.Is(err, errFenced) {
			return err
		}
		retry = err
	}
	for _, name := range slices.Sorted(maps.Keys(snap.pendingDeletion)) {
		// The snapshot may be older than the deletion it asks for: once
		// its queue entry is gone the deletion is done, and the topic
		// there now is a new one of the same name, not to be deleted.
		queued, _, err := c.zk.exists(zkDeleteTopicPath(name))
		if err == nil && !queued {
			continue
		}
		if err == nil {
			err = c.deleteTopic(name)
		}
		if err != nil {
			if errors.Is(err, errFenced) {
				return err
			}
			retry = err
		}
	}
	for _, name := range slices.Sorted(maps.Keys(snap.topics)) {
		t := snap.topics[name]
		if snap.pendingDeletion[name] {
			continue
		}
		if t.id.IsZero() {
			if err := c.assignTopicID(name, t); err != nil {
				if errors.Is(err, errFenced) {
					return err
				}
				retry = err
			}
			continue
		}
		unclean := c.uncleanEnabled(t.configs, snap.defaultConfigs)
		var fresh []newPartitionState
		for p, replicas := range t.assignment {
			tp := controller.TopicPartition{Topic: name, Partition: int32(p)}
			cur := c.current(tp, t)
			var err error
			if cur == nil {
				if first, ok := controller.ElectInitialLeader(replicas, l); ok {
					fresh = append(fresh, newPartitionState{tp.Partition, partitionState{LeaderAndISR: first}})
				}
			} else {
				_, _, err = c.update(tp, t.id, *cur, func(cur partitionState) (partitionState, bool, error) {
					next, changed := controller.ReconcileLeaderAndISR(cur.LeaderAndISR, replicas, l.WithRestarts(cur.LeaderAndISR, cur.mzxid, epochs), unclean)
					return cur.with(next), changed, nil
				})
			}
			switch {
			case err == nil, errors.Is(err, errPartitionGone):
			case errors.Is(err, errFenced):
				return err
			default:
				retry = err
			}
		}
		switch err := c.createStates(name, t.id, fresh); {
		case err == nil, errors.Is(err, errPartitionGone):
		case errors.Is(err, errFenced):
			return err
		default:
			retry = err
		}
	}
	if retry != nil {
		return retry
	}
	c.knownEpochs = make(map[int32]int64, len(snap.brokers))
	for id, b := range snap.brokers {
		c.knownEpochs[id] = b.epoch
	}
	return nil
}

// checkEpoch is the first operation of every controller write.
func (c *zkController) checkEpoch() zkOp { return opCheck(zkControllerEpochPath, c.epochZkVersion) }

// classify turns a failed controller multi into errFenced when the epoch
// check failed.
func classify(err error) error {
	var me *multiError
	if errors.As(err, &me) && me.index == 0 {
		return fmt.Errorf("%w: %v", errFenced, err)
	}
	return err
}

// newPartitionState is the first state of a new partition of a topic.
type newPartitionState struct {
	partition int32
	state     partitionState
}

// statesPerMulti is how many new partitions' states one ZooKeeper multi
// creates: a topic of 10,000 partitions is 100 round trips (and 100 of
// ZooKeeper's log writes) instead of 30,000. Each takes two operations
// of some 250 bytes, well under jute.maxbuffer (1 MiB).
const statesPerMulti = 100

// createStates writes the first states of a topic's new partitions,
// statesPerMulti in each multi. A multi that fails other than by fencing
// or the topic's deletion leaves its partitions to createState one by
// one, which knows every way a partition's znodes can already be there.
func (c *zkController) createStates(topic string, id controller.TopicID, states []newPartitionState) error {
	if len(states) == 0 {
		return nil
	}
	parentOK, _, err := c.zk.exists(zkPartitionsPath(topic))
	if err != nil {
		return err
	}
	chunks := slices.Collect(slices.Chunk(states, statesPerMulti))
	multi := func(chunk []newPartitionState, withParent bool) error {
		ops := []zkOp{c.checkEpoch(), opCheck(zkTopicPath(topic), -1)}
		if withParent {
			ops = append(ops, opCreate(zkPartitionsPath(topic), nil, 0))
		}
		for _, ns := range chunk {
			ns.state.ControllerEpoch = c.epoch
			ops = append(ops,
				opCreate(zkPartitionPath(topic, ns.partition), nil, 0),
				opCreate(zkStatePath(topic, ns.partition), ns.state.encode(), 0))
		}
		_, err := c.zk.multi(ops...)
		return err
	}
	// The first multi makes the partitions' parent znode when missing;
	// the others go out together, so ZooKeeper commits several in one
	// write to its log.
	errs := make([]error, len(chunks))
	errs[0] = multi(chunks[0], !parentOK)
	rest := make([]int, 0, len(chunks)-1)
	for i := 1; i < len(chunks); i++ {
		rest = append(rest, i)
	}
	workers.Each(rest, multisInFlight, nil, func(i int) { errs[i] = multi(chunks[i], false) })

	var retry error
	for i, chunk := range chunks {
		var me *multiError
		switch err := errs[i]; {
		case err == nil:
			for _, ns := range chunk {
				st := ns.state
				st.ControllerEpoch, st.zkVersion = c.epoch, 0
				c.recordWritten(controller.TopicPartition{Topic: topic, Partition: ns.partition}, writtenState{topicID: id, state: st.clone()})
				c.logger.Debug().Str("topic", topic).Int32("partition", ns.partition).Int32("leader", st.Leader).Ints32("isr", st.ISR).Msg("partition online")
			}
			c.logger.Info().Str("topic", topic).Int32("from", chunk[0].partition).Int32("to", chunk[len(chunk)-1].partition).
				Int("partitions", len(chunk)).Msg("partitions online")
			continue
		case errors.As(err, &me) && me.index == 0:
			return classify(err)
		case errors.As(err, &me) && me.index == 1:
			return errPartitionGone
		}
		for _, ns := range chunk {
			tp := controller.TopicPartition{Topic: topic, Partition: ns.partition}
			switch err := c.createState(tp, id, ns.state); {
			case err == nil:
			case errors.Is(err, errFenced), errors.Is(err, errPartitionGone):
				return err
			default:
				retry = err
			}
		}
	}
	return retry
}

// multisInFlight is how many of createStates' multis are sent at once.
const multisInFlight = 8

// createState writes a new partition's first state, with the partition's
// parent znodes, as Kafka's controller does for NewPartition →
// OnlinePartition; the topic znode must still exist.
func (c *zkController) createState(tp controller.TopicPartition, id controller.TopicID, st partitionState) error {
	st.ControllerEpoch = c.epoch
	for range 3 {
		ops := []zkOp{c.checkEpoch(), opCheck(zkTopicPath(tp.Topic), -1)}
		for _, p := range []string{zkPartitionsPath(tp.Topic), zkPartitionPath(tp.Topic, tp.Partition)} {
			ok, _, err := c.zk.exists(p)
			if err != nil {
				return err
			}
			if !ok {
				ops = append(ops, opCreate(p, nil, 0))
			}
		}
		ops = append(ops, opCreate(zkStatePath(tp.Topic, tp.Partition), st.encode(), 0))
		_, err := c.zk.multi(ops...)
		var me *multiError
		switch {
		case err == nil:
			st.zkVersion = 0
			c.recordWritten(tp, writtenState{topicID: id, state: st.clone()})
			c.logger.Info().Str("topic", tp.Topic).Int32("partition", tp.Partition).Int32("leader", st.Leader).Ints32("isr", st.ISR).Msg("partition online")
			return nil
		case errors.As(err, &me) && me.index == 0:
			return classify(err)
		case errors.As(err, &me) && me.index == 1:
			return errPartitionGone
		case errors.As(err, &me) && me.index == len(ops)-1 && errors.Is(err, gozk.ErrNodeExists):
			return nil // created by an earlier attempt whose answer was lost
		case errors.As(err, &me) && errors.Is(err, gozk.ErrNodeExists):
			continue // a parent appeared meanwhile
		default:
			return err
		}
	}
	return fmt.Errorf("create state of %s-%d: parents keep changing", tp.Topic, tp.Partition)
}

// update writes the state decide makes of a partition's current state,
// fenced by the controller epoch and conditional on the state's version;
// when the state changed meanwhile it is read again and decide runs again.
// It returns the state after the call and whether it wrote; decide's
// error is returned as is.
func (c *zkController) update(tp controller.TopicPartition, id controller.TopicID, cur partitionState, decide func(partitionState) (partitionState, bool, error)) (partitionState, bool, error) {
	for range 5 {
		next, changed, err := decide(cur)
		if err != nil || !changed {
			return cur, false, err
		}
		next.ControllerEpoch = c.epoch
		res, err := c.zk.multi(c.checkEpoch(), opSet(zkStatePath(tp.Topic, tp.Partition), next.encode(), cur.zkVersion))
		var me *multiError
		switch {
		case err == nil:
			next.zkVersion, next.mzxid = res[1].Stat.Version, res[1].Stat.Mzxid
			c.recordWritten(tp, writtenState{topicID: id, state: next.clone()})
			c.logger.Info().Str("topic", tp.Topic).Int32("partition", tp.Partition).
				Int32("leader", next.Leader).Int32("leader_epoch", next.LeaderEpoch).Ints32("isr", next.ISR).
				Int32("old_leader", cur.Leader).Ints32("old_isr", cur.ISR).Msg("partition state changed")
			return next, true, nil
		case errors.As(err, &me) && me.index == 0:
			return cur, false, classify(err)
		case errors.Is(err, gozk.ErrNoNode):
			return cur, false, errPartitionGone
		case errors.Is(err, gozk.ErrBadVersion):
			data, st, err := c.zk.get(zkStatePath(tp.Topic, tp.Partition))
			if errors.Is(err, gozk.ErrNoNode) {
				return cur, false, errPartitionGone
			}
			if err != nil {
				return cur, false, err
			}
			if cur, err = decodePartitionState(data, st); err != nil {
				return cur, false, err
			}
		default:
			return cur, false, err
		}
	}
	return cur, false, fmt.Errorf("state of %s-%d keeps changing", tp.Topic, tp.Partition)
}

// assignTopicID gives a topic written without an ID (by Kafka before 2.8)
// one, as Kafka's controller does on failover.
func (c *zkController) assignTopicID(name string, t *ctrlTopic) error {
	id := controller.NewTopicID()
	_, err := c.zk.multi(c.checkEpoch(), opSet(zkTopicPath(name), encodeTopic(id, t.assignment), t.zkVersion))
	if err != nil && (errors.Is(err, gozk.ErrBadVersion) || errors.Is(err, gozk.ErrNoNode)) {
		return nil // changed or gone meanwhile; the next look sees it
	}
	if err == nil {
		c.logger.Info().Str("topic", name).Msg("assigned a topic id")
	}
	return classify(err)
}

// deleteTopic completes a queued deletion: the topic's znodes, its
// config, then the queue entry, each write fenced (Kafka's
// TopicDeletionManager ends the same way). Brokers watching the topic
// drop its partitions and logs when its znodes go.
func (c *zkController) deleteTopic(name string) error {
	if err := c.deleteRecursive(zkTopicPath(name)); err != nil {
		return err
	}
	for _, p := range []string{zkTopicConfigPath(name), zkDeleteTopicPath(name)} {
		if _, err := c.zk.multi(c.checkEpoch(), opDelete(p, -1)); err != nil && !errors.Is(err, gozk.ErrNoNode) {
			return classify(err)
		}
	}
	for tp := range c.written {
		if tp.Topic == name {
			delete(c.written, tp)
		}
	}
	c.logger.Info().Str("topic", name).Msg("deleted topic")
	return nil
}

// deleteRecursive deletes a znode and everything under it, children
// first, in fenced multis of bounded size.
func (c *zkController) deleteRecursive(root string) error {
	const chunk = 500
	for range 5 {
		var paths []string
		if err := c.collect(root, &paths); err != nil {
			return err
		}
		if len(paths) == 0 {
			return nil
		}
		raced := false
		for len(paths) > 0 && !raced {
			n := min(chunk, len(paths))
			ops := []zkOp{c.checkEpoch()}
			for _, p := range paths[:n] {
				ops = append(ops, opDelete(p, -1))
			}
			paths = paths[n:]
			_, err := c.zk.multi(ops...)
			switch {
			case err == nil:
			case errors.Is(err, gozk.ErrNoNode), errors.Is(err, gozk.ErrNotEmpty):
				raced = true
			default:
				return classify(err)
			}
		}
		if !raced {
			return nil
		}
	}
	return fmt.Errorf("delete %s: its children keep changing", root)
}

// collect lists p's subtree, children before their parent.
func (c *zkController) collect(p string, out *[]string) error {
	children, err := c.zk.children(p)
	if errors.Is(err, gozk.ErrNoNode) {
		return nil
	}
	if err != nil {
		return err
	}
	for _, child := range children {
		if err := c.collect(p+"/"+child, out); err != nil {
			return err
		}
	}
	*out = append(*out, p)
	return nil
}

// clearIsrChanges deletes the ISR change notifications leaders write:
// brokers already saw the changes through their watches.
func (c *zkController) clearIsrChanges(names []string) error {
	for len(names) > 0 {
		n := min(500, len(names))
		ops := []zkOp{c.checkEpoch()}
		for _, name := range names[:n] {
			ops = append(ops, opDelete(zkIsrChangesPath+"/"+name, -1))
		}
		_, err := c.zk.multi(ops...)
		if errors.Is(err, gozk.ErrNoNode) {
			for _, name := range names[:n] {
				if _, err := c.zk.multi(c.checkEpoch(), opDelete(zkIsrChangesPath+"/"+name, -1)); err != nil && !errors.Is(err, gozk.ErrNoNode) {
					return classify(err)
				}
			}
		} else if err != nil {
			return classify(err)
		}
		names = names[n:]
	}
	return nil
}

// purgeConfigChanges deletes change notifications older than Kafka's 15
// minutes (/config/changes, and the ACL changes under /kafka-acl-changes
// and /kafka-acl-extended-changes), as Kafka's
// ZkNodeChangeNotificationListener does; brokers read configs and ACLs
// through watches, and a notification only wakes them.
func (c *zkController) purgeConfigChanges() {
	cutoff := c.s.now().Add(-configChangeExpiration).UnixMilli()
	for _, dir := range []string{zkConfigChangesPath, zkACLChangesPath, zkExtendedACLChangesPath} {
		names, err := c.zk.children(dir)
		if err != nil {
			c.logger.Debug().Err(err).Str("path", dir).Msg("list change notifications")
			continue
		}
		for _, name := range names {
			p := dir + "/" + name
			ok, st, err := c.zk.exists(p)
			if err != nil {
				return
			}
			if ok && st.Ctime < cutoff {
				if err := c.zk.delete(p, -1); err != nil && !errors.Is(err, gozk.ErrNoNode) {
					return
				}
			}
		}
	}
}

// serve runs an ElectLeaders or ControlledShutdown call.
func (c *zkController) serve(ctx context.Context, req ctrlRequest) (ctrlResult, error) {
	if !c.active.Load() {
		return ctrlResult{}, c.notController()
	}
	snap := c.s.controllerSnapshot()
	var res ctrlResult
	var err error
	if req.shutdown {
		res, err = c.controlledShutdown(ctx, snap, req.brokerID, req.brokerEpoch)
	} else {
		res, err = c.electLeaders(snap, req.electType, req.partitions, req.all)
	}
	if errors.Is(err, errFenced) {
		c.fenced()
		return ctrlResult{}, c.notController()
	}
	return res, err
}

// controlledShutdown moves leadership away from a broker about to stop
// and takes it out of the ISRs (Kafka's KafkaController.
// doControlledShutdown). The broker stays out of elections until its
// registration goes or changes. It returns the partitions the broker
// still leads.
func (c *zkController) controlledShutdown(ctx context.Context, snap *ctrlSnapshot, brokerID int32, brokerEpoch int64) (ctrlResult, error) {
	b, ok := snap.brokers[brokerID]
	if !ok {
		return ctrlResult{}, fmt.Errorf("%w: controlled shutdown of broker %d, which is not registered", controller.ErrBrokerNotAvailable, brokerID)
	}
	if brokerEpoch >= 0 && b.epoch != brokerEpoch {
		return ctrlResult{}, fmt.Errorf("%w: controlled shutdown of broker %d's registration %d; it registered again as %d", controller.ErrStaleBrokerEpoch, brokerID, brokerEpoch, b.epoch)
	}
	c.shuttingDown[brokerID] = b.epoch
	l := c.liveness(snap)
	res := ctrlResult{written: map[controller.TopicPartition]int32{}}
	c.logger.Info().Int32("broker", brokerID).Msg("controlled shutdown")
	type move struct {
		tp       controller.TopicPartition
		id       controller.TopicID
		cur      partitionState
		replicas []int32
	}
	var moves []move
	for name, t := range snap.liveTopics() {
		for p, replicas := range t.assignment {
			tp := controller.TopicPartition{Topic: name, Partition: int32(p)}
			cur := c.current(tp, t)
			if cur == nil || !slices.Contains(replicas, brokerID) {
				continue
			}
			moves = append(moves, move{tp, t.id, *cur, replicas})
		}
	}
	// The partitions' writes are independent: they go out a hundred per
	// multi, several multis at once (a broker holding 10,000 partitions
	// is 10,000 writes). A multi that fails (a state changed meanwhile)
	// leaves its partitions to update, one by one. The caller leaving
	// stops the work: it is no longer the shutdown of a running broker.
	var mu sync.Mutex
	var firstErr error
	fail := func(err error) {
		mu.Lock()
		if firstErr == nil {
			firstErr = err
		}
		mu.Unlock()
	}
	done := func(m move, next partitionState, wrote bool) {
		mu.Lock()
		if wrote {
			res.written[m.tp] = next.zkVersion
		}
		if next.Leader == brokerID {
			res.remaining = append(res.remaining, m.tp)
		}
		mu.Unlock()
	}
	one := func(m move) {
		next, wrote, err := c.update(m.tp, m.id, m.cur, func(cur partitionState) (partitionState, bool, error) {
			next, changed := controller.ElectForControlledShutdown(cur.LeaderAndISR, m.replicas, brokerID, l)
			return cur.with(next), changed, nil
		})
		switch {
		case errors.Is(err, errPartitionGone):
		case err != nil:
			fail(err)
		default:
			done(m, next, wrote)
		}
	}
	batch := func(chunk []move) {
		ops := []zkOp{c.checkEpoch()}
		var changed []move
		var nexts []partitionState
		for _, m := range chunk {
			ls, ok := controller.ElectForControlledShutdown(m.cur.LeaderAndISR, m.replicas, brokerID, l)
			if !ok {
				done(m, m.cur, false)
				continue
			}
			next := m.cur.with(ls)
			next.ControllerEpoch = c.epoch
			ops = append(ops, opSet(zkStatePath(m.tp.Topic, m.tp.Partition), next.encode(), m.cur.zkVersion))
			changed, nexts = append(changed, m), append(nexts, next)
		}
		if len(changed) == 0 {
			return
		}
		results, err := c.zk.multi(ops...)
		var me *multiError
		switch {
		case err == nil:
			for i, m := range changed {
				next := nexts[i]
				next.zkVersion, next.mzxid = results[i+1].Stat.Version, results[i+1].Stat.Mzxid
				c.recordWritten(m.tp, writtenState{topicID: m.id, state: next.clone()})
				c.logger.Info().Str("topic", m.tp.Topic).Int32("partition", m.tp.Partition).
					Int32("leader", next.Leader).Int32("leader_epoch", next.LeaderEpoch).Ints32("isr", next.ISR).
					Int32("old_leader", m.cur.Leader).Ints32("old_isr", m.cur.ISR).Msg("partition state changed")
				done(m, next, true)
			}
		case errors.As(err, &me) && me.index == 0:
			fail(classify(err))
		default:
			for _, m := range changed {
				if ctx.Err() != nil {
					return
				}
				one(m)
			}
		}
	}
	stop := func() bool {
		mu.Lock()
		defer mu.Unlock()
		return firstErr != nil || ctx.Err() != nil
	}
	workers.Each(slices.Collect(slices.Chunk(moves, statesPerMulti)), shutdownWriters, stop, batch)
	if firstErr != nil {
		return ctrlResult{}, firstErr
	}
	if err := ctx.Err(); err != nil {
		return ctrlResult{}, err
	}
	return res, nil
}

// shutdownWriters is how many multis of partition state writes a
// controlled shutdown has in flight.
const shutdownWriters = 8

// electLeaders runs the ElectLeaders API's elections.
func (c *zkController) electLeaders(snap *ctrlSnapshot, typ controller.ElectionType, partitions []controller.TopicPartition, all bool) (ctrlResult, error) {
	if typ != controller.PreferredElection && typ != controller.UncleanElection {
		return ctrlResult{}, fmt.Errorf("unknown election type %d", typ)
	}
	if all {
		partitions = nil
		for name, t := range snap.liveTopics() {
			for p := range t.assignment {
				if t.states[p] != nil {
					partitions = append(partitions, controller.TopicPartition{Topic: name, Partition: int32(p)})
				}
			}
		}
	}
	l := c.liveness(snap)
	res := ctrlResult{results: make(map[controller.TopicPartition]error, len(partitions)), written: map[controller.TopicPartition]int32{}}
	for _, tp := range partitions {
		t, ok := snap.liveTopic(tp.Topic)
		if !ok || tp.Partition < 0 || int(tp.Partition) >= len(t.assignment) {
			res.results[tp] = controller.ErrUnknownTopic
			continue
		}
		cur := c.current(tp, t)
		if cur == nil {
			res.results[tp] = controller.ErrUnknownTopic
			continue
		}
		replicas := t.assignment[tp.Partition]
		next, wrote, err := c.update(tp, t.id, *cur, func(cur partitionState) (partitionState, bool, error) {
			var next controller.LeaderAndISR
			var err error
			if typ == controller.PreferredElection {
				next, err = controller.ElectPreferredLeader(cur.LeaderAndISR, replicas, l)
			} else {
				next, err = controller.ElectUncleanLeader(cur.LeaderAndISR, replicas, l)
			}
			return cur.with(next), err == nil, err
		})
		switch {
		case errors.Is(err, errPartitionGone):
			res.results[tp] = controller.ErrUnknownTopic
		case errors.Is(err, errFenced), isUnavailable(err):
			return ctrlResult{}, err
		default:
			res.results[tp] = err
		}
		if wrote {
			res.written[tp] = next.zkVersion
		}
	}
	return res, nil
}

// autoRebalance is Kafka's checkAndTriggerAutoLeaderRebalance: a
// preferred election for each partition controller.ImbalancedLeaders finds
// due.
func (c *zkController) autoRebalance(snap *ctrlSnapshot) error {
	l := c.liveness(snap)
	type entry struct {
		id       controller.TopicID
		replicas []int32
		state    partitionState
	}
	entries := map[controller.TopicPartition]entry{}
	var leadership []controller.PartitionLeadership
	for name, t := range snap.liveTopics() {
		for p, replicas := range t.assignment {
			tp := controller.TopicPartition{Topic: name, Partition: int32(p)}
			if cur := c.current(tp, t); cur != nil {
				entries[tp] = entry{t.id, replicas, *cur}
				leadership = append(leadership, controller.PartitionLeadership{TopicPartition: tp, Preferred: replicas[0], Leader: cur.Leader})
			}
		}
	}
	due := controller.ImbalancedLeaders(leadership, c.s.cfg.LeaderImbalancePerBrokerPercentage)
	if len(due) > 0 {
		c.logger.Info().Int("partitions", len(due)).Msg("leader imbalance: running preferred elections")
	}
	for _, tp := range due {
		e := entries[tp]
		_, _, err := c.update(tp, e.id, e.state, func(cur partitionState) (partitionState, bool, error) {
			next, err := controller.ElectPreferredLeader(cur.LeaderAndISR, e.replicas, l)
			return cur.with(next), err == nil, nil
		})
		switch {
		case err == nil, errors.Is(err, errPartitionGone):
		default:
			return err
		}
	}
	return nil
}
