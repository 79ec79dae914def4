package zk

import (
	"context"
	"errors"
	"maps"
	"slices"
	"strconv"
	"strings"
	"time"

	gozk "github.com/go-zookeeper/zk"
	"github.com/rs/zerolog"

	"github.com/samsa-io/samsa/controller"
	"github.com/samsa-io/samsa/log/workers"
)

// cacheLoop is the goroutine that owns the store's view. It takes the zk
// client's events in order, re-reads what they name (setting a new watch
// with each read), applies the result to the view under the store's lock,
// and then tells subscribers, waiters and the controller. A read that
// fails because ZooKeeper is unreachable stays pending and is retried, so
// the view stays as last seen until ZooKeeper is back.
type cacheLoop struct {
	s      *Store
	zk     *zkConn
	logger zerolog.Logger

	dirty dirtySet
	// armed records the watches set and not fired yet, by path, so a
	// re-read of a watched znode does not stack another watch on it.
	armed map[string]uint8
	batch *cacheBatch

	retry *time.Timer // pending reads after a failure
	// lost fires when the connection has been down for a session timeout:
	// the session is then surely expired on the server.
	lost *time.Timer
}

const (
	armData  uint8 = 1 // a data or exists watch
	armChild uint8 = 2
)

// dirtySet is what needs re-reading.
type dirtySet struct {
	register                                                                bool
	controller, brokers, topicList, brokerConfigList, deletions, isrChanges bool
	acls                                                                    bool // acls.go
	topics                                                                  map[string]bool
	// partitionLists are topics whose partition znodes to list: the
	// states of partitions that have one are then read (states), and
	// those that have none yet are not asked for one by one.
	partitionLists map[string]bool
	states         map[controller.TopicPartition]bool
	topicConfigs   map[string]bool
	brokerConfigs  map[string]bool // /config/brokers children
	// entityLists and entities are znodes of client entities to list
	// (isEntityList) and to read (entityOfZKPath).
	entityLists, entities map[string]bool
}

func newDirtySet() dirtySet {
	return dirtySet{topics: map[string]bool{}, partitionLists: map[string]bool{}, states: map[controller.TopicPartition]bool{}, topicConfigs: map[string]bool{}, brokerConfigs: map[string]bool{},
		entityLists: map[string]bool{}, entities: map[string]bool{}}
}

func (d *dirtySet) any() bool {
	return d.register || d.controller || d.brokers || d.topicList || d.brokerConfigList || d.deletions || d.isrChanges || d.acls ||
		len(d.topics) > 0 || len(d.partitionLists) > 0 || len(d.states) > 0 || len(d.topicConfigs) > 0 || len(d.brokerConfigs) > 0 ||
		len(d.entityLists) > 0 || len(d.entities) > 0
}

// markAll asks for everything to be read again (a new session: every
// watch is gone).
func (d *dirtySet) markAll(v *zkView) {
	d.controller, d.brokers, d.topicList, d.brokerConfigList, d.deletions, d.isrChanges = true, true, true, true, true, true
	d.acls = true
	for name := range v.topics {
		d.topics[name] = true
		d.topicConfigs[name] = true
		d.partitionLists[name] = true
	}
	for id := range v.brokerConfigs {
		d.brokerConfigs[zkBrokerEntity(id)] = true
	}
	for _, p := range []string{zkUserConfigsPath, zkClientConfigsPath, zkIPConfigsPath} {
		d.entityLists[p] = true
	}
	for path := range v.entityConfigs {
		znode, _ := zkEntityPath(mustParseEntity(path))
		d.entities[znode] = true
	}
}

// cacheBatch holds what the view looked like before the changes of one
// round, for what it touched, to tell subscribers what changed.
type cacheBatch struct {
	topics        map[string]*controller.Topic // nil: was not visible
	brokers       map[int32]liveBroker
	controller    *int32
	brokerConfigs map[int32]map[string]string
	entityConfigs map[string]map[string]string
	aclsChanged   bool
}

func newCacheBatch() *cacheBatch {
	return &cacheBatch{topics: map[string]*controller.Topic{}, brokerConfigs: map[int32]map[string]string{}, entityConfigs: map[string]map[string]string{}}
}

func newCacheLoop(s *Store) *cacheLoop {
	return &cacheLoop{
		s:      s,
		zk:     s.zk,
		logger: s.logger.With().Str("component", "zk-cache").Logger(),
		dirty:  newDirtySet(),
		armed:  map[string]uint8{},
		batch:  newCacheBatch(),
	}
}

func (c *cacheLoop) run() {
	c.retry = time.NewTimer(time.Hour)
	c.retry.Stop()
	c.lost = time.NewTimer(time.Hour)
	c.lost.Stop()
	lostPending := false
	for {
		select {
		case <-c.s.stop:
			return
		case <-c.s.events.signal:
		case <-c.retry.C:
		case <-c.lost.C:
			if lostPending && c.zk.conn.State() != gozk.StateHasSession {
				sid := c.s.session.Load()
				c.logger.Warn().Dur("session_timeout", c.s.sessionTimeout).Msg("ZooKeeper unreachable for a whole session timeout: the session is lost")
				c.s.lostSession.Store(sid)
				c.s.ctrl.wake()
			}
			lostPending = false
		}
		var barriers []chan struct{}
		for _, qe := range c.s.events.drain() {
			if qe.barrier != nil {
				barriers = append(barriers, qe.barrier)
				continue
			}
			ev := qe.ev
			switch {
			case ev.Type == gozk.EventSession && ev.State == gozk.StateDisconnected && !lostPending:
				lostPending = true
				c.lost.Reset(c.s.sessionTimeout)
			case ev.Type == gozk.EventSession && ev.State == gozk.StateHasSession:
				lostPending = false
				c.lost.Stop()
			}
			c.handle(ev)
		}
		if c.dirty.any() {
			if err := c.refresh(); err != nil {
				c.logger.Debug().Err(err).Msg("view refresh incomplete; retrying")
				backoff := 500 * time.Millisecond
				if c.dirty.register {
					backoff = 2 * time.Second
				}
				c.retry.Reset(backoff)
			}
		}
		c.publish()
		for _, b := range barriers {
			close(b)
		}
	}
}

// handle takes one event of the zk client.
func (c *cacheLoop) handle(ev gozk.Event) {
	switch ev.Type {
	case gozk.EventSession:
		switch ev.State {
		case gozk.StateHasSession:
			sid := c.zk.conn.SessionID()
			if c.s.lostSession.CompareAndSwap(sid, 0) {
				// Given up for lost while ZooKeeper was unreachable, the
				// session lived on (a restarted ZooKeeper restores
				// sessions): the controller may run again.
				c.logger.Info().Str("session", sessionString(sid)).Msg("ZooKeeper session recovered")
				c.s.ctrl.wake()
			}
			if sid != c.s.session.Load() {
				// The previous session expired and the client opened a
				// new one: no watch survived, nor the registration.
				c.logger.Warn().Str("session", sessionString(sid)).Msg("new ZooKeeper session; registering again and re-reading the cluster state")
				c.armed = map[string]uint8{}
				c.dirty.register = true
				c.dirty.markAll(&c.s.view)
			}
		case gozk.StateExpired:
			sid := c.s.session.Load()
			c.logger.Warn().Str("session", sessionString(sid)).Msg("ZooKeeper session expired")
			c.s.lostSession.Store(sid)
			c.s.ctrl.wake()
		}
	case gozk.EventNotWatching:
		// Watches dropped with an expired session; the new session
		// re-reads everything.
	default:
		c.nodeEvent(ev)
	}
}

func sessionString(sid int64) string { return "0x" + strconv.FormatInt(sid, 16) }

// nodeEvent marks what a watch notification names as dirty.
func (c *cacheLoop) nodeEvent(ev gozk.Event) {
	p, ok := c.zk.rel(ev.Path)
	if !ok {
		return
	}
	switch ev.Type {
	case gozk.EventNodeChildrenChanged:
		c.armed[p] &^= armChild
	case gozk.EventNodeDeleted:
		c.armed[p] = 0
	default:
		c.armed[p] &^= armData
	}
	if c.armed[p] == 0 {
		delete(c.armed, p)
	}
	d := &c.dirty
	if ev.Type == gozk.EventNodeChildrenChanged && isEntityList(p) {
		d.entityLists[p] = true
		return
	}
	if _, ok := entityOfZKPath(p); ok {
		d.entities[p] = true
		return
	}
	switch {
	case p == zkControllerPath:
		d.controller = true
	case p == zkBrokerIDsPath || strings.HasPrefix(p, zkBrokerIDsPath+"/"):
		d.brokers = true
	case p == zkTopicsPath:
		d.topicList = true
	case p == zkBrokerConfigsPath:
		d.brokerConfigList = true
	case p == zkDeleteTopicsPath:
		d.deletions = true
	case p == zkIsrChangesPath:
		d.isrChanges = true
	case p == zkACLChangesPath || p == zkExtendedACLChangesPath:
		d.acls = true
	case strings.HasPrefix(p, zkTopicsPath+"/"):
		parts := strings.Split(p[len(zkTopicsPath)+1:], "/")
		switch {
		case len(parts) == 1:
			d.topics[parts[0]] = true
		case len(parts) == 2 && parts[1] == "partitions":
			d.partitionLists[parts[0]] = true // created, or partitions added
		case len(parts) == 4 && parts[1] == "partitions" && parts[3] == "state":
			if n, err := strconv.ParseInt(parts[2], 10, 32); err == nil {
				d.states[controller.TopicPartition{Topic: parts[0], Partition: int32(n)}] = true
			}
		}
	case strings.HasPrefix(p, zkTopicConfigsPath+"/"):
		d.topicConfigs[p[len(zkTopicConfigsPath)+1:]] = true
	case strings.HasPrefix(p, zkBrokerConfigsPath+"/"):
		d.brokerConfigs[p[len(zkBrokerConfigsPath)+1:]] = true
	}
}

// refresh reads whatever is dirty. It stops at the first read that
// failed for want of ZooKeeper, leaving the rest dirty.
func (c *cacheLoop) refresh() error {
	d := &c.dirty
	if d.register {
		if err := c.s.register(context.Background(), false); err != nil {
			c.logger.Error().Err(err).Msg("cannot register this broker again; retrying")
			return err
		}
		d.register = false
	}
	steps := []struct {
		flag *bool
		load func() error
	}{
		{&d.controller, c.loadController},
		{&d.brokers, c.loadBrokers},
		{&d.brokerConfigList, c.loadBrokerConfigList},
		{&d.deletions, c.loadDeletions},
		{&d.isrChanges, c.loadIsrChanges},
		{&d.topicList, c.loadTopicList},
		{&d.acls, c.loadACLs},
	}
	for _, step := range steps {
		if !*step.flag {
			continue
		}
		if err := step.load(); err != nil {
			return err
		}
		*step.flag = false
	}
	for _, entity := range slices.Sorted(maps.Keys(d.brokerConfigs)) {
		if err := c.loadBrokerConfig(entity); err != nil {
			return err
		}
		delete(d.brokerConfigs, entity)
	}
	for len(d.entityLists) > 0 { // a list of users marks each user's list
		for _, p := range slices.Sorted(maps.Keys(d.entityLists)) {
			if err := c.loadEntityList(p); err != nil {
				return err
			}
			delete(d.entityLists, p)
		}
	}
	for _, p := range slices.Sorted(maps.Keys(d.entities)) {
		if err := c.loadEntity(p); err != nil {
			return err
		}
		delete(d.entities, p)
	}
	for _, name := range slices.Sorted(maps.Keys(d.topics)) {
		if err := c.loadTopic(name); err != nil {
			return err
		}
		delete(d.topics, name)
	}
	for _, name := range slices.Sorted(maps.Keys(d.topicConfigs)) {
		if err := c.loadTopicConfig(name); err != nil {
			return err
		}
		delete(d.topicConfigs, name)
	}
	for _, name := range slices.Sorted(maps.Keys(d.partitionLists)) {
		if err := c.loadPartitionList(name); err != nil {
			return err
		}
		delete(d.partitionLists, name)
	}
	var tps []controller.TopicPartition
	for tp := range d.states {
		if t := c.s.view.topics[tp.Topic]; t == nil || int(tp.Partition) >= len(t.states) {
			delete(d.states, tp)
			continue
		}
		tps = append(tps, tp)
	}
	for i, r := range c.readStates(tps) {
		if r.err != nil {
			return r.err
		}
		c.applyState(tps[i], r)
		delete(d.states, tps[i])
	}
	return nil
}

// readData reads a znode and leaves a watch on it: a data watch when it
// exists, an exists watch (which fires on its creation) when it does not.
func (c *cacheLoop) readData(p string) ([]byte, *gozk.Stat, bool, error) {
	r := c.fetchData(p, c.armed[p]&armData != 0)
	if r.armed {
		c.armed[p] |= armData
	}
	return r.data, r.stat, r.exists, r.err
}

// dataRead is what fetchData read of a znode.
type dataRead struct {
	data   []byte
	stat   *gozk.Stat
	exists bool
	armed  bool // a watch on the znode is set now
	err    error
}

// fetchData is readData without c.armed, so that several run at once
// (readStates); armed says a watch is set already.
func (c *cacheLoop) fetchData(p string, armed bool) dataRead {
	var r dataRead
	for range 3 {
		if armed {
			data, st, err := c.zk.get(p)
			if errors.Is(err, gozk.ErrNoNode) {
				return r // the armed watch reports the deletion
			}
			r.data, r.stat, r.exists, r.err = data, st, err == nil, err
			return r
		}
		data, st, err := c.zk.getW(p)
		if err == nil {
			r.data, r.stat, r.exists, r.armed = data, st, true, true
			return r
		}
		if !errors.Is(err, gozk.ErrNoNode) {
			r.err = err
			return r
		}
		exists, _, err := c.zk.existsW(p)
		if err != nil {
			r.err = err
			return r
		}
		armed, r.armed = true, true
		if !exists {
			return r
		}
		// Created in between: the watch is set, read it plainly.
	}
	return r
}

// stateReaders is how many partition states a refresh reads at once: the
// reads share the session's connection, so they go out back to back
// instead of one round trip after another (a new topic of 10,000
// partitions is 10,000 states to read).
const stateReaders = 64

// readStates reads the partitions' states side by side, leaving watches.
func (c *cacheLoop) readStates(tps []controller.TopicPartition) []dataRead {
	reads := make([]dataRead, len(tps))
	paths := make([]string, len(tps))
	armed := make([]bool, len(tps))
	for i, tp := range tps {
		paths[i] = zkStatePath(tp.Topic, tp.Partition)
		armed[i] = c.armed[paths[i]]&armData != 0
	}
	order := make([]int, len(tps))
	for i := range order {
		order[i] = i
	}
	workers.Each(order, stateReaders, nil, func(i int) {
		reads[i] = c.fetchData(paths[i], armed[i])
	})
	for i, r := range reads {
		if r.armed {
			c.armed[paths[i]] |= armData
		}
	}
	return reads
}

// readChildren lists a znode's children and leaves a child watch on it.
func (c *cacheLoop) readChildren(p string) ([]string, error) {
	if c.armed[p]&armChild != 0 {
		names, err := c.zk.children(p)
		if errors.Is(err, gozk.ErrNoNode) {
			return nil, nil
		}
		return names, err
	}
	names, err := c.zk.childrenW(p)
	if errors.Is(err, gozk.ErrNoNode) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	c.armed[p] |= armChild
	return names, nil
}

// The touch functions record the before image of what a round changes.
// The view is read without the lock here: this goroutine is its only
// writer.

func (c *cacheLoop) touchTopic(name string) {
	if _, ok := c.batch.topics[name]; ok {
		return
	}
	if t, ok := c.s.view.visible(name); ok {
		c.batch.topics[name] = &t
	} else {
		c.batch.topics[name] = nil
	}
}

func (c *cacheLoop) touchBrokers() {
	if c.batch.brokers == nil {
		c.batch.brokers = maps.Clone(c.s.view.brokers)
	}
}

func (c *cacheLoop) touchBrokerConfig(id int32) {
	if _, ok := c.batch.brokerConfigs[id]; !ok {
		c.batch.brokerConfigs[id] = maps.Clone(c.s.view.brokerConfigs[id])
	}
}

func (c *cacheLoop) loadController() error {
	data, st, exists, err := c.readData(zkControllerPath)
	if err != nil {
		return err
	}
	id, owner := int32(-1), int64(0)
	if exists {
		if id, err = decodeController(data); err != nil {
			c.logger.Warn().Err(err).Msg("unreadable /controller")
			id = -1
		}
		owner = st.EphemeralOwner
	}
	v := &c.s.view
	if id == v.controllerID && owner == v.controllerOwner {
		return nil
	}
	if c.batch.controller == nil {
		before := v.controllerID
		c.batch.controller = &before
	}
	c.s.mu.Lock()
	v.controllerID, v.controllerOwner = id, owner
	c.s.mu.Unlock()
	return nil
}

func (c *cacheLoop) loadBrokers() error {
	names, err := c.readChildren(zkBrokerIDsPath)
	if err != nil {
		return err
	}
	next := make(map[int32]liveBroker, len(names))
	for _, name := range names {
		id, err := strconv.ParseInt(name, 10, 32)
		if err != nil {
			continue
		}
		data, st, err := c.zk.get(zkBrokerIDsPath + "/" + name)
		if errors.Is(err, gozk.ErrNoNode) {
			continue
		}
		if err != nil {
			return err
		}
		b, err := decodeBrokerRegistration(int32(id), data)
		if err != nil {
			c.logger.Warn().Err(err).Msg("ignoring unreadable broker registration")
			continue
		}
		next[int32(id)] = liveBroker{Broker: b, epoch: st.Czxid}
	}
	if maps.Equal(next, c.s.view.brokers) {
		return nil
	}
	c.touchBrokers()
	c.s.mu.Lock()
	c.s.view.brokers = next
	c.s.mu.Unlock()
	return nil
}

func (c *cacheLoop) loadBrokerConfigList() error {
	names, err := c.readChildren(zkBrokerConfigsPath)
	if err != nil {
		return err
	}
	present := map[int32]bool{}
	for _, name := range names {
		id, ok := parseBrokerEntity(name)
		if !ok {
			continue
		}
		present[id] = true
		if _, known := c.s.view.brokerConfigs[id]; !known {
			c.dirty.brokerConfigs[name] = true
		}
	}
	for id := range c.s.view.brokerConfigs {
		if !present[id] {
			c.touchBrokerConfig(id)
			c.s.mu.Lock()
			delete(c.s.view.brokerConfigs, id)
			c.s.mu.Unlock()
		}
	}
	return nil
}

func (c *cacheLoop) loadBrokerConfig(entity string) error {
	id, ok := parseBrokerEntity(entity)
	if !ok {
		return nil
	}
	data, _, exists, err := c.readData(zkBrokerConfigsPath + "/" + entity)
	if err != nil {
		return err
	}
	old, known := c.s.view.brokerConfigs[id]
	if !exists {
		if known {
			c.touchBrokerConfig(id)
			c.s.mu.Lock()
			delete(c.s.view.brokerConfigs, id)
			c.s.mu.Unlock()
		}
		return nil
	}
	configs, err := decodeConfig(data)
	if err != nil {
		c.logger.Warn().Err(err).Str("entity", entity).Msg("unreadable broker config")
		configs = map[string]string{}
	}
	if known && maps.Equal(old, configs) {
		return nil
	}
	c.touchBrokerConfig(id)
	c.s.mu.Lock()
	c.s.view.brokerConfigs[id] = configs
	c.s.mu.Unlock()
	return nil
}

func (c *cacheLoop) loadDeletions() error {
	names, err := c.readChildren(zkDeleteTopicsPath)
	if err != nil {
		return err
	}
	next := make(map[string]bool, len(names))
	for _, n := range names {
		next[n] = true
	}
	v := &c.s.view
	if maps.Equal(next, v.pendingDeletion) {
		return nil
	}
	for n := range next {
		if !v.pendingDeletion[n] {
			c.touchTopic(n)
		}
	}
	for n := range v.pendingDeletion {
		if !next[n] {
			c.touchTopic(n)
		}
	}
	c.s.mu.Lock()
	v.pendingDeletion = next
	c.s.mu.Unlock()
	return nil
}

func (c *cacheLoop) loadIsrChanges() error {
	names, err := c.readChildren(zkIsrChangesPath)
	if err != nil {
		return err
	}
	c.s.mu.Lock()
	c.s.view.isrChanges = names
	c.s.mu.Unlock()
	return nil
}

func (c *cacheLoop) loadTopicList() error {
	names, err := c.readChildren(zkTopicsPath)
	if err != nil {
		return err
	}
	present := make(map[string]bool, len(names))
	for _, name := range names {
		present[name] = true
		if _, known := c.s.view.topics[name]; !known {
			c.dirty.topics[name] = true
		}
	}
	for name := range c.s.view.topics {
		if !present[name] {
			c.removeTopic(name)
		}
	}
	return nil
}

func (c *cacheLoop) removeTopic(name string) {
	if _, ok := c.s.view.topics[name]; !ok {
		return
	}
	c.touchTopic(name)
	c.s.mu.Lock()
	delete(c.s.view.topics, name)
	c.s.mu.Unlock()
}

func (c *cacheLoop) loadTopic(name string) error {
	data, st, exists, err := c.readData(zkTopicPath(name))
	if err != nil {
		return err
	}
	if !exists {
		c.removeTopic(name)
		return nil
	}
	id, assignment, err := decodeTopic(name, data)
	if err != nil {
		c.logger.Warn().Err(err).Msg("ignoring unreadable topic")
		return nil
	}
	c.touchTopic(name)
	c.s.mu.Lock()
	t := c.s.view.topics[name]
	fresh := t == nil || (!t.id.IsZero() && t.id != id)
	if fresh {
		// New, or deleted and created again between two reads.
		t = &zkTopic{configVersion: -1}
		c.s.view.topics[name] = t
	}
	known := len(t.assignment)
	if fresh {
		known = 0
	}
	t.id, t.zkVersion, t.assignment = id, st.Version, assignment
	switch {
	case len(assignment) > len(t.states):
		t.states = append(t.states, make([]*partitionState, len(assignment)-len(t.states))...)
	case len(assignment) < len(t.states):
		t.states = t.states[:len(assignment)]
	}
	c.s.mu.Unlock()
	if known < len(assignment) {
		c.dirty.partitionLists[name] = true
	}
	if fresh {
		c.dirty.topicConfigs[name] = true
	}
	return nil
}

// loadPartitionList lists a topic's partition znodes, leaving a child
// watch (or an exists watch while there is none), and marks the states
// of the listed partitions that no watch covers yet to be read. A new
// topic's partitions get their znodes with their states, a hundred per
// controller write: listing them spares the cache a read and an exists
// watch per partition before its state is there.
func (c *cacheLoop) loadPartitionList(topic string) error {
	t := c.s.view.topics[topic]
	if t == nil {
		return nil
	}
	path := zkPartitionsPath(topic)
	var names []string
	for range 3 {
		var err error
		names, err = c.zk.childrenW(path)
		if err == nil {
			c.armed[path] |= armChild
			break
		}
		if !errors.Is(err, gozk.ErrNoNode) {
			return err
		}
		names = nil
		exists, _, err := c.zk.existsW(path)
		if err != nil {
			return err
		}
		c.armed[path] |= armData
		if !exists {
			return nil // the exists watch reports its creation
		}
	}
	for _, name := range names {
		n, err := strconv.ParseInt(name, 10, 32)
		if err != nil || n < 0 || int(n) >= len(t.states) {
			continue
		}
		if c.armed[zkStatePath(topic, int32(n))]&armData == 0 {
			c.dirty.states[controller.TopicPartition{Topic: topic, Partition: int32(n)}] = true
		}
	}
	return nil
}

func (c *cacheLoop) loadTopicConfig(name string) error {
	t := c.s.view.topics[name]
	if t == nil {
		return nil
	}
	data, st, exists, err := c.readData(zkTopicConfigPath(name))
	if err != nil {
		return err
	}
	configs, version := map[string]string{}, int32(-1)
	if exists {
		version = st.Version
		if configs, err = decodeConfig(data); err != nil {
			c.logger.Warn().Err(err).Str("topic", name).Msg("unreadable topic config")
			configs = map[string]string{}
		}
	}
	if t.configVersion == version && maps.Equal(t.configs, configs) {
		return nil
	}
	c.touchTopic(name)
	c.s.mu.Lock()
	t.configs, t.configVersion = configs, version
	c.s.mu.Unlock()
	return nil
}

// applyState puts a partition state read by readStates into the view.
func (c *cacheLoop) applyState(tp controller.TopicPartition, r dataRead) {
	t := c.s.view.topics[tp.Topic]
	if t == nil || int(tp.Partition) >= len(t.states) || !r.exists {
		// Not created yet, or being deleted with its topic: keep the
		// last state seen until the topic itself goes.
		return
	}
	ps, err := decodePartitionState(r.data, r.stat)
	if err != nil {
		c.logger.Warn().Err(err).Str("topic", tp.Topic).Int32("partition", tp.Partition).Msg("unreadable partition state")
		return
	}
	if old := t.states[tp.Partition]; old != nil && old.zkVersion == ps.zkVersion {
		return
	}
	c.touchTopic(tp.Topic)
	c.s.mu.Lock()
	t.states[tp.Partition] = &ps
	c.s.mu.Unlock()
}

// publish ends a round: waiters re-check the view, subscribers learn what
// changed, and the controller looks again.
func (c *cacheLoop) publish() {
	b := c.batch
	c.batch = newCacheBatch()
	v := &c.s.view
	var changes []controller.Change
	if b.brokers != nil && !maps.Equal(b.brokers, v.brokers) {
		changes = append(changes, controller.Change{Kind: controller.BrokersChanged})
	}
	if b.controller != nil && *b.controller != v.controllerID {
		changes = append(changes, controller.Change{Kind: controller.ControllerChanged})
	}
	for _, id := range slices.Sorted(maps.Keys(b.brokerConfigs)) {
		if !maps.Equal(b.brokerConfigs[id], v.brokerConfigs[id]) {
			changes = append(changes, controller.Change{Kind: controller.BrokerConfigChanged, BrokerID: id})
		}
	}
	for _, path := range slices.Sorted(maps.Keys(b.entityConfigs)) {
		if !maps.Equal(b.entityConfigs[path], v.entityConfigs[path]) {
			changes = append(changes, controller.Change{Kind: controller.EntityConfigChanged, Entity: path})
		}
	}
	for _, name := range slices.Sorted(maps.Keys(b.topics)) {
		changes = append(changes, topicChanges(name, b.topics[name], v)...)
	}
	if b.aclsChanged {
		changes = append(changes, controller.Change{Kind: controller.ACLsChanged})
	}
	c.s.mu.Lock()
	close(c.s.viewChanged)
	c.s.viewChanged = make(chan struct{})
	c.s.mu.Unlock()
	if len(changes) > 0 {
		c.logger.Debug().Interface("changes", changes).Msg("view changed")
	}
	c.s.subs.Publish(changes...)
	c.s.ctrl.wake()
}

// topicChanges compares a topic's before image with its view now.
func topicChanges(name string, before *controller.Topic, v *zkView) []controller.Change {
	if after, ok := v.visible(name); ok {
		return controller.TopicChanges(name, before, &after)
	}
	return controller.TopicChanges(name, before, nil)
}
