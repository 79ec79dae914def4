package broker

// What the broker tells monitoring (package broker/metrics, wired by
// package broker/node): every request served, with its time and the error
// codes of its response, as it happens (RequestObserver); and, when
// asked, the state of its partitions, groups and controllership
// (Partitions, ISRChanges, Groups, Controller), read at scrape time so
// the request paths maintain nothing for it.

import (
	"reflect"
	"sync"
	"time"

	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kmsg"

	"github.com/samsa-io/samsa/broker/replica"
	"github.com/samsa-io/samsa/groupcoord"
)

// RequestObserver is told of every request the broker serves. Its methods
// are called on the request's goroutine and must not block: counters
// and histograms, nothing more.
type RequestObserver interface {
	// RequestServed reports one request of API key, served in d: from
	// the decoded request to its response built, waits included (a
	// fetch's max wait, an acks=all produce's replication), as Kafka's
	// TotalTimeMs counts them.
	RequestServed(key int16, d time.Duration)
	// ResponseError reports one error code other than NONE in a response
	// of API key: a response with errors on three partitions reports
	// three, as Kafka's ErrorsPerSec counts them. A request that closes
	// the connection instead (it could not be decoded, or names a version
	// not served) reports INVALID_REQUEST or UNSUPPORTED_VERSION.
	ResponseError(key int16, code int16)
}

// noObserver is the observer of a broker built without one.
type noObserver struct{}

func (noObserver) RequestServed(int16, time.Duration) {}
func (noObserver) ResponseError(int16, int16)         {}

// observeErrors reports the error codes of a response: every int16 field
// named ErrorCode, at any depth of its structs and slices of structs.
// The fields to visit are found once per response type, by reflection,
// so that every API's errors are counted without a counting function per
// API to keep in step with kmsg.
func (b *Broker) observeErrors(resp kmsg.Response) {
	if resp == nil {
		return
	}
	v := reflect.ValueOf(resp)
	if v.Kind() != reflect.Pointer || v.IsNil() {
		return
	}
	v = v.Elem()
	if plan := errorPlanFor(v.Type()); plan != nil {
		plan.walk(v, resp.Key(), b.observer)
	}
}

// errorPlan is where a struct type holds error codes: its own ErrorCode
// fields and the fields (structs, or slices of them) that hold some.
type errorPlan struct {
	codes  []int
	nested []nestedErrors
}

type nestedErrors struct {
	field int
	slice bool
	plan  *errorPlan
}

func (p *errorPlan) walk(v reflect.Value, key int16, obs RequestObserver) {
	for _, i := range p.codes {
		if code := v.Field(i).Int(); code != 0 {
			obs.ResponseError(key, int16(code))
		}
	}
	for _, n := range p.nested {
		f := v.Field(n.field)
		if !n.slice {
			n.plan.walk(f, key, obs)
			continue
		}
		for j := range f.Len() {
			n.plan.walk(f.Index(j), key, obs)
		}
	}
}

// errorPlans caches errorPlanFor by type; a nil plan (stored as such)
// means the type holds no error code.
var errorPlans sync.Map // reflect.Type → *errorPlan

func errorPlanFor(t reflect.Type) *errorPlan {
	if p, ok := errorPlans.Load(t); ok {
		return p.(*errorPlan)
	}
	p := buildErrorPlan(t, map[reflect.Type]bool{})
	errorPlans.Store(t, p)
	return p
}

func buildErrorPlan(t reflect.Type, visiting map[reflect.Type]bool) *errorPlan {
	if t.Kind() != reflect.Struct || visiting[t] {
		return nil
	}
	visiting[t] = true
	defer delete(visiting, t)
	var p errorPlan
	for i := range t.NumField() {
		f := t.Field(i)
		switch {
		case f.Name == "ErrorCode" && f.Type.Kind() == reflect.Int16:
			p.codes = append(p.codes, i)
		case f.Type.Kind() == reflect.Struct:
			if sub := buildErrorPlan(f.Type, visiting); sub != nil {
				p.nested = append(p.nested, nestedErrors{field: i, plan: sub})
			}
		case f.Type.Kind() == reflect.Slice && f.Type.Elem().Kind() == reflect.Struct:
			if sub := buildErrorPlan(f.Type.Elem(), visiting); sub != nil {
				p.nested = append(p.nested, nestedErrors{field: i, slice: true, plan: sub})
			}
		}
	}
	if len(p.codes) == 0 && len(p.nested) == 0 {
		return nil
	}
	return &p
}

// Codes a request that closes its connection is counted under.
var (
	closedInvalidRequest     = kerr.InvalidRequest.Code
	closedUnsupportedVersion = kerr.UnsupportedVersion.Code
)

// Partitions lists the partitions this broker hosts, with their state,
// log and traffic, for monitoring.
func (b *Broker) Partitions() []replica.PartitionStatus { return b.replicas.Status() }

// FetchSessions counts the incremental fetch sessions (KIP-227) this
// broker holds for consumers and followers, and the partitions in them.
func (b *Broker) FetchSessions() (sessions, partitions int) { return b.fetchSessions.size() }

// ISRChanges counts the ISR shrinks and expansions this broker made as a
// leader since it started.
func (b *Broker) ISRChanges() (shrinks, expands uint64) { return b.replicas.ISRChanges() }

// Groups lists the groups this broker coordinates, with their committed
// offsets.
func (b *Broker) Groups() []groupcoord.GroupStatus { return b.groups.Status() }

// Controller reports whether this broker is the cluster's active
// controller and, when it is, how many partitions of the cluster have no
// leader (Kafka's OfflinePartitionsCount, which only the controller
// reports); offline is -1 on other brokers.
func (b *Broker) Controller() (active bool, offline int) {
	if b.store.ControllerID() != b.cfg.BrokerID {
		return false, -1
	}
	for _, t := range b.store.Topics() {
		for _, p := range t.Partitions {
			if p.Leader < 0 {
				offline++
			}
		}
	}
	return true, offline
}
