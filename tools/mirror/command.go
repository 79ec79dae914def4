package mirror

import (
	"regexp"
	"strconv"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/samsa-io/samsa/tools/cli"
)

// NewCommand is `samsa mirror`: Run from the command line, until SIGINT
// or SIGTERM, then a summary on stdout (a table, or -o json).
func NewCommand(env *cli.Env) *cobra.Command {
	var (
		cfg                                   Config
		topics, topicsExclude                 string
		groups, groupsExclude, configsExclude string
	)
	cmd := &cobra.Command{
		Use:   "mirror --source BROKERS --target BROKERS --topics REGEX",
		Short: "Copy topics from one cluster to another (MirrorMaker)",
		Long: `Copy the source topics whose names match --topics to the target cluster,
as Kafka's MirrorMaker 2 does: each target topic is created with the source's
partition count and non-default configs, and each record keeps its partition,
key, value, headers and timestamp. Topics created later on the source are
picked up every --refresh-topics-interval.

Progress is committed as the consumer group --group on the SOURCE cluster,
only after the target acknowledged the records: a mirror killed and started
again sends some records twice but loses none; one stopped by SIGINT or
SIGTERM commits what it sent and exits 0.

With --sync-group-offsets, the offsets committed by source groups matching
--groups are translated to the target (MirrorMaker 2's checkpoints) and
committed there for groups with no members on the target, so consumers can
move to the target and carry on where they were.

Progress and lag go to stderr every --report-interval; the summary of the
run goes to stdout when it stops.`,
		Args: cli.Args(cobra.NoArgs),
		RunE: func(cmd *cobra.Command, args []string) error {
			f := cmd.Flags()
			if len(cfg.Source) == 0 || len(cfg.Target) == 0 || topics == "" {
				return cli.Usagef("--source, --target and --topics are required")
			}
			if !cfg.SyncGroupOffsets && (f.Changed("groups") || f.Changed("groups-exclude") || f.Changed("sync-group-offsets-interval")) {
				return cli.Usagef("--groups, --groups-exclude and --sync-group-offsets-interval need --sync-group-offsets")
			}
			var err error
			if cfg.Topics, err = WholeName(topics); err != nil {
				return cli.Usagef("--topics: %v", err)
			}
			if cfg.TopicsExclude, err = optionalWholeName(topicsExclude); err != nil {
				return cli.Usagef("--topics-exclude: %v", err)
			}
			if cfg.Groups, err = WholeName(groups); err != nil {
				return cli.Usagef("--groups: %v", err)
			}
			if cfg.GroupsExclude, err = optionalWholeName(groupsExclude); err != nil {
				return cli.Usagef("--groups-exclude: %v", err)
			}
			if cfg.ConfigsExclude, err = optionalWholeName(configsExclude); err != nil {
				return cli.Usagef("--config-properties-exclude: %v", err)
			}
			if _, err := compression(cfg.Compression); err != nil {
				return cli.Usagef("--compression-type: %v", err)
			}
			cfg.Source, cfg.Target = splitBrokers(cfg.Source), splitBrokers(cfg.Target)
			cfg.ConnectTimeout = env.Timeout
			cfg.Log = env.Stderr
			cfg.SourceOpts = env.ClientOpts
			cfg.TargetOpts = env.ClientOpts

			summary, err := Run(cmd.Context(), cfg)
			if err != nil {
				return err
			}
			return printSummary(env, summary)
		},
	}
	f := cmd.Flags()
	f.StringSliceVar(&cfg.Source, "source", nil, "the source cluster's brokers, `host:port[,...]`")
	f.StringSliceVar(&cfg.Target, "target", nil, "the target cluster's brokers, `host:port[,...]`")
	f.StringVar(&topics, "topics", "", "the source topics to mirror: a `regex` matching whole names")
	f.StringVar(&topicsExclude, "topics-exclude", DefaultTopicsExclude, "source topics not mirrored even when --topics matches (`regex`; \"\" for none)")
	f.StringVar(&cfg.RenamePrefix, "rename-prefix", "", "put this `prefix` before each target topic's name")
	f.StringVar(&cfg.Group, "group", DefaultGroup, "the consumer `group` on the source cluster that holds the mirror's progress")
	f.DurationVar(&cfg.RefreshTopicsInterval, "refresh-topics-interval", DefaultRefreshTopicsInterval, "how often to look for new source topics, partitions and configs")
	f.Int16Var(&cfg.ReplicationFactor, "replication-factor", -1, "replication factor of the topics created on the target (-1: the target's default)")
	f.StringVar(&configsExclude, "config-properties-exclude", DefaultConfigsExclude, "topic configs not copied (`regex`; \"\" for none)")
	f.StringVar(&cfg.Compression, "compression-type", "none", "compression of the records sent to the target: none, gzip, snappy, lz4 or zstd")
	f.BoolVar(&cfg.SyncGroupOffsets, "sync-group-offsets", false, "translate source consumer groups' committed offsets to the target")
	f.StringVar(&groups, "groups", ".*", "with --sync-group-offsets, the source groups whose offsets are translated (`regex`)")
	f.StringVar(&groupsExclude, "groups-exclude", DefaultGroupsExclude, "source groups not translated even when --groups matches (`regex`; \"\" for none)")
	f.DurationVar(&cfg.SyncGroupOffsetsInterval, "sync-group-offsets-interval", DefaultSyncGroupOffsetsInterval, "how often group offsets are translated")
	f.DurationVar(&cfg.ReportInterval, "report-interval", DefaultReportInterval, "how often progress and lag are printed on stderr")
	f.DurationVar(&cfg.StopTimeout, "stop-timeout", DefaultStopTimeout, "how long a stopping mirror waits for the target to acknowledge what it sent")
	return cmd
}

func optionalWholeName(expr string) (*regexp.Regexp, error) {
	if expr == "" {
		return nil, nil
	}
	return WholeName(expr)
}

func splitBrokers(list []string) []string {
	var out []string
	for _, s := range list {
		for _, b := range strings.Split(s, ",") {
			if b = strings.TrimSpace(b); b != "" {
				out = append(out, b)
			}
		}
	}
	return out
}

// summaryJSON is the -o json form of a Summary.
type summaryJSON struct {
	ElapsedMs    int64 `json:"elapsed_ms"`
	Records      int64 `json:"records"`
	Bytes        int64 `json:"bytes"`
	Topics       int   `json:"topics"`
	GroupOffsets int   `json:"group_offsets_synced"`
	Lag          int64 `json:"lag"`
}

func printSummary(env *cli.Env, s Summary) error {
	if env.JSON() {
		return cli.PrintJSON(env.Stdout, summaryJSON{
			ElapsedMs: s.Elapsed.Milliseconds(), Records: s.Records, Bytes: s.Bytes,
			Topics: s.Topics, GroupOffsets: s.GroupOffsets, Lag: s.Lag,
		})
	}
	t := cli.NewTable(env.Stdout, "ELAPSED", "RECORDS", "BYTES", "TOPICS", "GROUP-OFFSETS-SYNCED", "LAG")
	lag := "unknown"
	if s.Lag >= 0 {
		lag = strconv.FormatInt(s.Lag, 10)
	}
	t.Row(s.Elapsed.Round(time.Millisecond), s.Records, s.Bytes, s.Topics, s.GroupOffsets, lag)
	return t.Flush()
}
