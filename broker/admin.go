package broker

// The admin APIs: topic creation and deletion, partition growth, record
// deletion, configs and cluster description. Each has its own file named by
// API key, which declares the versions served; this file holds what they
// share: Kafka-style errors with messages, the mapping of the controller's
// errors, the resolution of config resource names, and the skeleton of the
// requests that act on a list of topics or resources (adminBatch).
//
// Versions go from v0 (kmsg parses every version from 0) to the newest
// kmsg v1.15.1 knows. Admin requests are answered once the change is in the
// store and, for topics and partitions, once the logs exist; in a cluster,
// CreateTopics and CreatePartitions also wait, up to timeout_ms, for the
// other brokers to serve the new partitions (propagation.go). (Kafka
// answers REQUEST_TIMED_OUT when it runs out first, at once for a timeout
// of 0; here even a timeout of 0 gets the real result.)

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strconv"

	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kmsg"

	"github.com/samsa-io/samsa/broker/config"
	"github.com/samsa-io/samsa/broker/replica"
	"github.com/samsa-io/samsa/broker/tlsconf"
	"github.com/samsa-io/samsa/controller"
)

// apiError is a Kafka error code with the message Kafka would send with
// it (in the versions that carry one). Admin tools show the message to
// users as is.
type apiError struct {
	code *kerr.Error
	msg  string
}

func newAPIError(code *kerr.Error, format string, args ...any) *apiError {
	return &apiError{code: code, msg: fmt.Sprintf(format, args...)}
}

func (e *apiError) Error() string { return e.msg }

// codeAndMessage spreads an apiError (nil: success) into a response's
// error code and nullable error message.
func (e *apiError) codeAndMessage() (int16, *string) {
	if e == nil {
		return 0, nil
	}
	msg := e.msg
	if msg == "" {
		msg = e.code.Description
	}
	return e.code.Code, &msg
}

// storeError maps an error of the controller store to Kafka's code
// (errors.go), keeping the store's message, which names what is wrong.
// Failures of the store itself (a disk, an unmapped error) are logged.
func (b *Broker) storeError(err error) *apiError {
	code := kafkaError(err, kerr.UnknownServerError)
	switch code {
	case kerr.KafkaStorageError:
		b.logger.Error().Err(err).Msg("metadata write failed")
	case kerr.UnknownServerError:
		b.logger.Error().Err(err).Msg("metadata store failed")
	}
	return &apiError{code: code, msg: err.Error()}
}

// clusterDefault is the broker ID under which the store keeps the
// cluster-wide dynamic broker configs (a BROKER resource named "").
const clusterDefault int32 = -1

// brokerResource resolves the name of a BROKER config resource for
// AlterConfigs and IncrementalAlterConfigs: "" is the cluster-wide
// default, any other name must be this broker's ID (Kafka's
// ConfigAdminManager: INVALID_REQUEST otherwise).
func (b *Broker) brokerResource(name string) (int32, *apiError) {
	if name == "" {
		return clusterDefault, nil
	}
	id, err := strconv.ParseInt(name, 10, 32)
	if err != nil {
		return 0, newAPIError(kerr.InvalidRequest, "Node id must be an integer, but it is: %s", name)
	}
	if int32(id) != b.cfg.BrokerID {
		return 0, newAPIError(kerr.InvalidRequest, "Unexpected broker id, expected %d, but received %s", b.cfg.BrokerID, name)
	}
	return int32(id), nil
}

// validTopicResource checks the name of a TOPIC config resource the way
// Kafka's controller does before it alters configs.
func validTopicResource(name string) *apiError {
	if name == "" {
		return newAPIError(kerr.InvalidRequest, "Default topic resources are not allowed.")
	}
	if err := controller.ValidateTopicName(name); err != nil {
		return newAPIError(kerr.InvalidTopicException, "%v", err)
	}
	return nil
}

// errBrokerLogger answers BROKER_LOGGER resources (KIP-412): Samsa has no
// loggers whose levels could be described or changed at run time.
var errBrokerLogger = newAPIError(kerr.InvalidRequest, "BROKER_LOGGER resources are not supported: Samsa has no runtime log levels")

// syncAfterAdmin applies a change an admin request made to the store to
// the partition table before the request is answered, so the logs exist
// (or are gone) and configs apply when the client hears back. The store's
// own change notification would do it too, but later. It returns the logs
// it could not open (a replica.SyncFailures), already logged, or
// replica.ErrSyncCut when ctx ended first (the client left, the broker
// stops: the rest goes on in the background).
func (b *Broker) syncAfterAdmin(ctx context.Context, what string) error {
	err := b.replicas.SyncContext(ctx)
	switch {
	case errors.Is(err, replica.ErrSyncCut):
		b.logger.Info().Str("after", what).Msg("request cancelled while its logs were being opened; going on in the background")
	case err != nil:
		b.logger.Error().Err(err).Str("after", what).Msg("apply metadata change")
	}
	return err
}

// errCancelledBeforeChange answers the resources of an admin request that
// were not reached before it was cancelled (its client left, or the
// broker stops): nothing was changed for them.
var errCancelledBeforeChange = newAPIError(kerr.RequestTimedOut, "The request was cancelled (its client left or the broker is stopping) before this was done; nothing was changed.")

// errCancelledDuringSync answers the resources an admin request changed
// when it was cancelled while the broker applied the change: as Kafka's
// REQUEST_TIMED_OUT, the change is made and completes in the background.
var errCancelledDuringSync = newAPIError(kerr.RequestTimedOut, "The change was made, but the request was cancelled (its client left or the broker is stopping) while this broker applied it; it completes in the background.")

// A storage failure is never answered OK (KAFKA_STORAGE_ERROR), and
// nothing half-made survives it. The store's own writes fail as a whole
// (storeError). What remains are the logs: a topic created, or grown, in
// the store whose logs this broker cannot create is taken back, and a
// deleted topic whose directories cannot be removed is reported (the log
// manager keeps trying, and never opens them again).

// missingLogs lists the partitions of topic id, from index from on, whose
// logs the sync that returned syncErr failed to open and that are still
// without one (another sync may have opened them since), with the
// reasons. Only failures count: in a cluster the store may show a new
// topic's partitions one by one, and one the sync did not see yet is not
// missing. A topic deleted or replaced meanwhile has none missing.
func (b *Broker) missingLogs(name string, id controller.TopicID, from int32, syncErr error) (missing []int32, cause string) {
	var fs replica.SyncFailures
	if !errors.As(syncErr, &fs) {
		return nil, ""
	}
	fs = fs.OfTopic(name)
	if t, ok := b.store.Topic(name); !ok || t.ID != id || len(fs) == 0 {
		return nil, ""
	}
	// The first failure of each partition from from on, then those the
	// table still holds no log for.
	var failed []int32
	var first replica.SyncFailures
	for _, f := range fs {
		if f.Partition < from || slices.Contains(failed, f.Partition) {
			continue
		}
		failed = append(failed, f.Partition)
		first = append(first, f)
	}
	missing = b.replicas.Unhosted(name, id, failed)
	causes := slices.DeleteFunc(first, func(f replica.SyncFailure) bool { return !slices.Contains(missing, f.Partition) })
	slices.Sort(missing)
	return missing, causes.Error()
}

// undoTopicWithoutLogs deletes a topic just created when this broker could
// not create the logs of its replicas, and with it the logs it did create.
func (b *Broker) undoTopicWithoutLogs(ctx context.Context, name string, id controller.TopicID, syncErr error) *apiError {
	missing, cause := b.missingLogs(name, id, 0, syncErr)
	if len(missing) == 0 {
		return nil
	}
	aerr := newAPIError(kerr.KafkaStorageError, "Topic '%s' was not created: the logs of partitions %v could not be created: %s",
		name, missing, cause)
	if err := b.store.DeleteTopic(ctx, name); err != nil {
		aerr.msg += fmt.Sprintf("; deleting the topic again failed too (%v): it exists without those logs", err)
	}
	b.syncAfterAdmin(ctx, "undoing CreateTopics")
	return aerr
}

// partitionRemover is a store that can take back partitions just added:
// the LocalStore, whose broker is their only replica. A cluster's
// partitions stay, as in Kafka, and the broker creates its replicas' logs
// when it can (every sync tries again).
type partitionRemover interface {
	RemoveNewPartitions(ctx context.Context, name string, id controller.TopicID, from, count int32) error
}

// undoPartitionsWithoutLogs takes back the partitions a CreatePartitions
// just added (from..count-1) when this broker could not create the logs
// of its replicas, and with them the logs it did create.
func (b *Broker) undoPartitionsWithoutLogs(ctx context.Context, name string, id controller.TopicID, from, count int32, syncErr error) *apiError {
	missing, cause := b.missingLogs(name, id, from, syncErr)
	if len(missing) == 0 {
		return nil
	}
	remover, ok := b.store.(partitionRemover)
	if !ok {
		return newAPIError(kerr.KafkaStorageError, "The partitions were added, but this broker could not create the logs of partitions %v: %s", missing, cause)
	}
	aerr := newAPIError(kerr.KafkaStorageError, "No partitions were added: the logs of partitions %v could not be created: %s", missing, cause)
	if err := remover.RemoveNewPartitions(ctx, name, id, from, count); err != nil {
		aerr.msg = fmt.Sprintf("The partitions were added, but the logs of partitions %v could not be created (%s), and taking them back failed: %v", missing, cause, err)
	}
	b.syncAfterAdmin(ctx, "undoing CreatePartitions")
	return aerr
}

// undeletedData reports a deleted topic whose directories are still on
// disk.
func (b *Broker) undeletedData(name string) *apiError {
	err := b.logs.PendingDeletion(name)
	if err == nil {
		return nil
	}
	return newAPIError(kerr.KafkaStorageError, "Topic '%s' was deleted, but its data could not be removed from disk: %v. "+
		"The broker keeps trying; until it succeeds no topic of this name can be created.", name, err)
}

// Both AlterConfigs and IncrementalAlterConfigs end in replacing a
// resource's whole set of dynamic configs.

// replaceTopicConfigs validates a topic's new set of config overrides and,
// unless validateOnly, stores it. Kafka's controller checks the name, then
// the configs (INVALID_CONFIG), then that the topic exists.
func (b *Broker) replaceTopicConfigs(ctx context.Context, name string, configs map[string]string, validateOnly bool) *apiError {
	if aerr := validTopicResource(name); aerr != nil {
		return aerr
	}
	if err := config.ValidateTopicConfigs(configs); err != nil {
		return newAPIError(kerr.InvalidConfig, "%v", err)
	}
	if _, ok := b.store.Topic(name); !ok {
		return newAPIError(kerr.UnknownTopicOrPartition, "The topic '%s' does not exist.", name)
	}
	if validateOnly {
		return nil
	}
	if err := b.store.SetTopicConfigs(ctx, name, configs); err != nil {
		return b.storeError(err)
	}
	return nil
}

// replaceBrokerConfigs validates the new set of dynamic configs of a
// broker (clusterDefault: the cluster-wide defaults) and, unless
// validateOnly, stores it. Kafka answers a refused broker config with
// INVALID_REQUEST (KAFKA-13609 calls that a mistake kept for
// compatibility); Samsa answers INVALID_CONFIG, as for topics, with the
// same message.
func (b *Broker) replaceBrokerConfigs(ctx context.Context, id int32, configs map[string]string, validateOnly bool) *apiError {
	if err := config.ValidateBrokerDynamic(configs); err != nil {
		return newAPIError(kerr.InvalidConfig, "%v", err)
	}
	if err := b.checkTLSReconfiguration(id, configs); err != nil {
		return newAPIError(kerr.InvalidConfig, "%v", err)
	}
	if validateOnly {
		return nil
	}
	if err := b.store.SetBrokerConfigs(ctx, id, configs); err != nil {
		return b.storeError(err)
	}
	return nil
}

// adminBatch is the skeleton of the admin requests that act on a list of
// items, topics or config resources (CreateTopics, AlterConfigs,
// CreatePartitions, IncrementalAlterConfigs), as Kafka's controller runs
// them:
//
//   - an item named more than once (key) is refused every time it appears
//     with duplicate (INVALID_REQUEST, with the API's own message) and not
//     acted on, while the others go ahead;
//   - every other item is applied, or only checked under validate_only,
//     and answered in request order; answer builds an item's answer,
//     carrying aerr when it failed (nil: none);
//   - when an item changed the store, the partition table is synced before
//     the response goes out (syncAfterAdmin, named by api), so the change
//     is in effect when the client hears back. An apply may return a settle
//     that looks at the sync's outcome (logs that could not be created)
//     and turns the item's answer into that error;
//   - when ctx ends (the client left, the broker stops), the items not
//     reached are answered REQUEST_TIMED_OUT unchanged, and those changed
//     while the sync was cut short REQUEST_TIMED_OUT as Kafka means it:
//     made, completing in the background. One request of thousands of
//     topics thus never holds up a shutdown or outlives its client.
func adminBatch[Item, Answer any, K comparable](ctx context.Context, b *Broker, api string, items []Item, validateOnly bool,
	key func(*Item) K, duplicate *apiError,
	answer func(item *Item, aerr *apiError) Answer,
	apply func(*Item, *Answer) (settle func(syncErr error) *apiError, aerr *apiError),
) []Answer {
	occurrences := make(map[K]int, len(items))
	for i := range items {
		occurrences[key(&items[i])]++
	}
	answers := make([]Answer, 0, len(items))
	type change struct {
		index  int // in items and answers
		settle func(syncErr error) *apiError
	}
	var changes []change
	for i := range items {
		item := &items[i]
		if occurrences[key(item)] > 1 {
			answers = append(answers, answer(item, duplicate))
			continue
		}
		if ctx.Err() != nil {
			answers = append(answers, answer(item, errCancelledBeforeChange))
			continue
		}
		ans := answer(item, nil)
		settle, aerr := apply(item, &ans)
		if aerr != nil {
			ans = answer(item, aerr)
		} else if !validateOnly {
			changes = append(changes, change{index: i, settle: settle})
		}
		answers = append(answers, ans)
	}
	if len(changes) == 0 {
		return answers
	}
	syncErr := b.syncAfterAdmin(ctx, api)
	for _, c := range changes {
		if errors.Is(syncErr, replica.ErrSyncCut) {
			answers[c.index] = answer(&items[c.index], errCancelledDuringSync)
			continue
		}
		if c.settle == nil {
			continue
		}
		if aerr := c.settle(syncErr); aerr != nil {
			answers[c.index] = answer(&items[c.index], aerr)
		}
	}
	return answers
}

// errDuplicateTopic answers a topic named more than once in CreateTopics
// or CreatePartitions (Kafka's controller).
var errDuplicateTopic = newAPIError(kerr.InvalidRequest, "Duplicate topic name.")

// resourceKey identifies a config resource within one request.
type resourceKey struct {
	typ  kmsg.ConfigResourceType
	name string
}

// errDuplicateResource answers a config resource named more than once in
// AlterConfigs or IncrementalAlterConfigs (Kafka's ConfigAdminManager).
var errDuplicateResource = newAPIError(kerr.InvalidRequest, "Each resource must appear at most once.")

// checkTLSReconfiguration builds the TLS setup every TLS listener of this
// broker would have were configs the dynamic configs of broker id (-1:
// the cluster-wide defaults), and refuses the change when one does not
// build (a key store that does not load, a key that does not match its
// certificate), as Kafka validates an SSL reconfiguration before it takes
// it. Another broker's configs are that broker's to check.
func (b *Broker) checkTLSReconfiguration(id int32, configs map[string]string) error {
	if id != -1 && id != b.cfg.BrokerID {
		return nil
	}
	defaults, own := b.store.BrokerConfigs(-1), b.store.BrokerConfigs(b.cfg.BrokerID)
	if id == -1 {
		defaults = configs
	} else {
		own = configs
	}
	next := b.cfg.WithDynamic(defaults, own)
	for _, l := range next.Listeners {
		if !l.UsesTLS() {
			continue
		}
		if err := tlsconf.Check(next.ListenerSSL(l.Name)); err != nil {
			return fmt.Errorf("validation of the TLS settings of listener %s failed: %w", l.Name, err)
		}
	}
	return nil
}
