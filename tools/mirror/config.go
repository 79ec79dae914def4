package mirror

import (
	"errors"
	"fmt"
	"io"
	"regexp"
	"time"

	"github.com/samsa-io/samsa/tools/cli"
	"github.com/twmb/franz-go/pkg/kgo"
)

// Defaults, MirrorMaker 2's where it has the setting.
const (
	// DefaultGroup is the source consumer group a mirror commits in.
	DefaultGroup = "samsa-mirror"
	// DefaultTopicsExclude is MirrorMaker 2's topics.exclude.
	DefaultTopicsExclude = `.*[\-\.]internal|.*\.replica|__.*`
	// DefaultConfigsExclude is MirrorMaker 2's config.properties.exclude
	// (with KIP-937's timestamp bounds): configs that belong to the
	// target cluster's operators, not to the topic.
	DefaultConfigsExclude = `follower\.replication\.throttled\.replicas|leader\.replication\.throttled\.replicas|` +
		`message\.timestamp\.difference\.max\.ms|message\.timestamp\.(before|after)\.max\.ms|message\.timestamp\.type|` +
		`unclean\.leader\.election\.enable|min\.insync\.replicas`
	// DefaultGroupsExclude is MirrorMaker 2's groups.exclude.
	DefaultGroupsExclude = `console-consumer-.*|connect-.*|__.*`
	// DefaultRefreshTopicsInterval is refresh.topics.interval.seconds.
	DefaultRefreshTopicsInterval = 10 * time.Minute
	// DefaultSyncGroupOffsetsInterval is sync.group.offsets.interval.seconds.
	DefaultSyncGroupOffsetsInterval = time.Minute
	// DefaultReportInterval is how often the progress line is logged.
	DefaultReportInterval = 10 * time.Second
	// DefaultStopTimeout bounds how long a stopping mirror waits for the
	// target to acknowledge what it already sent.
	DefaultStopTimeout = 30 * time.Second
)

// Config is what Run mirrors, and how.
type Config struct {
	// Source and Target are the clusters' bootstrap brokers.
	Source, Target []string
	// Topics selects the source topics to mirror (whole-name match);
	// TopicsExclude removes some of them again (nil: none).
	Topics, TopicsExclude *regexp.Regexp
	// RenamePrefix is put before a source topic's name to name its
	// target topic ("" keeps the name).
	RenamePrefix string
	// Group is the source consumer group whose committed offsets are the
	// mirror's progress.
	Group string
	// RefreshTopicsInterval is how often the source's topics, partition
	// counts and configs are read again.
	RefreshTopicsInterval time.Duration
	// ReplicationFactor of the target topics the mirror creates (-1: the
	// target's default.replication.factor).
	ReplicationFactor int16
	// ConfigsExclude names the topic configs not copied (nil: none).
	ConfigsExclude *regexp.Regexp
	// Compression is the target producer's: none, gzip, snappy, lz4 or
	// zstd.
	Compression string

	// SyncGroupOffsets translates the committed offsets of the source
	// groups matching Groups and not GroupsExclude into the same groups
	// on the target, every SyncGroupOffsetsInterval.
	SyncGroupOffsets         bool
	SyncGroupOffsetsInterval time.Duration
	Groups, GroupsExclude    *regexp.Regexp

	// ReportInterval is how often a progress line goes to Log.
	ReportInterval time.Duration
	// StopTimeout bounds how long a stopping mirror waits for the target
	// to acknowledge and the source to take the last commit.
	StopTimeout time.Duration
	// ConnectTimeout bounds how long Run waits for each cluster to
	// answer at start (0: no limit).
	ConnectTimeout time.Duration
	// Log receives progress lines and the final summary (nil: none).
	Log io.Writer
	// SourceOpts and TargetOpts are added to every client of that side.
	SourceOpts, TargetOpts []kgo.Opt
}

// WholeName compiles a regular expression that must match a whole name,
// as Kafka's Java patterns do (Pattern.matches).
func WholeName(expr string) (*regexp.Regexp, error) {
	re, err := regexp.Compile(`^(?:` + expr + `)$`)
	if err != nil {
		return nil, fmt.Errorf("regular expression %q: %w", expr, err)
	}
	return re, nil
}

// withDefaults fills what c leaves unset and checks the rest.
func (c Config) withDefaults() (Config, error) {
	if len(c.Source) == 0 || len(c.Target) == 0 {
		return c, errors.New("both a source and a target cluster are needed")
	}
	if c.Topics == nil {
		return c, errors.New("no topics selected")
	}
	if c.Group == "" {
		c.Group = DefaultGroup
	}
	if c.RefreshTopicsInterval <= 0 {
		c.RefreshTopicsInterval = DefaultRefreshTopicsInterval
	}
	if c.ReplicationFactor == 0 {
		c.ReplicationFactor = -1
	}
	if c.SyncGroupOffsetsInterval <= 0 {
		c.SyncGroupOffsetsInterval = DefaultSyncGroupOffsetsInterval
	}
	if c.Groups == nil {
		c.Groups = regexp.MustCompile(`.*`)
	}
	if c.ReportInterval <= 0 {
		c.ReportInterval = DefaultReportInterval
	}
	if c.StopTimeout <= 0 {
		c.StopTimeout = DefaultStopTimeout
	}
	if c.Log == nil {
		c.Log = io.Discard
	}
	if _, err := compression(c.Compression); err != nil {
		return c, err
	}
	return c, nil
}

// compression is the producer codec for a compression.type name.
func compression(name string) (kgo.CompressionCodec, error) {
	if name == "" {
		name = "none"
	}
	if c, ok := cli.CompressionCodecs[name]; ok {
		return c, nil
	}
	return kgo.NoCompression(), fmt.Errorf("unknown compression %q: want none, gzip, snappy, lz4 or zstd", name)
}

// mirrored reports whether a source topic is selected.
func (c Config) mirrored(topic string) bool {
	if !c.Topics.MatchString(topic) {
		return false
	}
	return c.TopicsExclude == nil || !c.TopicsExclude.MatchString(topic)
}

// targetTopic names a source topic's copy.
func (c Config) targetTopic(topic string) string { return c.RenamePrefix + topic }

// groupSynced reports whether a source group's offsets are translated.
func (c Config) groupSynced(group string) bool {
	if group == c.Group || !c.Groups.MatchString(group) {
		return false
	}
	return c.GroupsExclude == nil || !c.GroupsExclude.MatchString(group)
}

// configCopied reports whether a topic config is copied.
func (c Config) configCopied(key string) bool {
	return c.ConfigsExclude == nil || !c.ConfigsExclude.MatchString(key)
}
