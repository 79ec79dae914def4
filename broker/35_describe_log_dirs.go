package broker

// DescribeLogDirs lists every log directory with the partitions it
// holds and their sizes on disk. A null topic list asks for every
// partition; otherwise only the partitions named are listed (those the
// broker does not hold are left out, as in Kafka), but every directory is.
// A directory that cannot be read answers KAFKA_STORAGE_ERROR without
// partitions. A single broker is its partitions' only replica, so the
// offset lag (high watermark minus log end offset) is 0 and no log is a
// future one (AlterReplicaLogDirs is not served). v4+ adds the total and
// usable bytes of the directory's file system; v5 the cordoned flag,
// always false.

import (
	"context"
	"path/filepath"
	"sort"

	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kmsg"

	"github.com/samsa-io/samsa/broker/acl"
	"github.com/samsa-io/samsa/wire"
)

func init() {
	registerAPI(api{key: kmsg.DescribeLogDirs, min: 0, max: 5, serve: typed((*Broker).handleDescribeLogDirs),
		note: "sizes per partition, total and usable bytes"})
}

func (b *Broker) handleDescribeLogDirs(_ context.Context, conn *wire.Conn, req *kmsg.DescribeLogDirsRequest) (kmsg.Response, error) {
	resp := req.ResponseKind().(*kmsg.DescribeLogDirsResponse)
	if !b.authorizedCluster(conn, acl.OpDescribe) {
		// Kafka: DESCRIBE on the cluster, else no directory (and, v3+,
		// CLUSTER_AUTHORIZATION_FAILED).
		if req.Version >= 3 {
			resp.ErrorCode = kerr.ClusterAuthorizationFailed.Code
		}
		return resp, nil
	}
	var wanted map[string]map[int32]bool // nil: every partition
	if req.Topics != nil {
		wanted = make(map[string]map[int32]bool, len(req.Topics))
		for _, rt := range req.Topics {
			if wanted[rt.Topic] == nil {
				wanted[rt.Topic] = make(map[int32]bool, len(rt.Partitions))
			}
			for _, p := range rt.Partitions {
				wanted[rt.Topic][p] = true
			}
		}
	}
	for _, usage := range b.logs.Usage() {
		d := kmsg.NewDescribeLogDirsResponseDir()
		d.Dir = usage.Dir
		if abs, err := filepath.Abs(usage.Dir); err == nil {
			d.Dir = abs // Kafka reports absolute paths
		}
		if usage.Err != nil {
			b.logger.Warn().Err(usage.Err).Str("dir", usage.Dir).Msg("log directory unreadable")
			d.ErrorCode = kerr.KafkaStorageError.Code
			resp.Dirs = append(resp.Dirs, d)
			continue
		}
		d.TotalBytes, d.UsableBytes = usage.TotalBytes, usage.UsableBytes
		byTopic := make(map[string][]kmsg.DescribeLogDirsResponseDirTopicPartition)
		for _, pu := range usage.Partitions {
			if wanted != nil && !wanted[pu.Topic][pu.Partition] {
				continue
			}
			dp := kmsg.NewDescribeLogDirsResponseDirTopicPartition()
			dp.Partition, dp.Size = pu.Partition, pu.Size
			byTopic[pu.Topic] = append(byTopic[pu.Topic], dp)
		}
		names := make([]string, 0, len(byTopic))
		for name := range byTopic {
			names = append(names, name)
		}
		sort.Strings(names)
		for _, name := range names {
			dt := kmsg.NewDescribeLogDirsResponseDirTopic()
			dt.Topic = name
			dt.Partitions = byTopic[name]
			sort.Slice(dt.Partitions, func(i, j int) bool { return dt.Partitions[i].Partition < dt.Partitions[j].Partition })
			d.Topics = append(d.Topics, dt)
		}
		resp.Dirs = append(resp.Dirs, d)
	}
	return resp, nil
}
