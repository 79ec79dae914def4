package zk

import (
	"encoding/base64"
	"encoding/json"
	"fmt"
	"maps"
	"net"
	"slices"
	"strconv"
	"strings"
	"time"

	gozk "github.com/go-zookeeper/zk"

	"github.com/samsa-io/samsa/controller"
)

// The znodes of Kafka's ZooKeeper layout that Samsa reads and writes, with
// their JSON as Kafka's ZkData encodes it, so that Kafka's own tools (and
// a reader of the tree) see what they expect. Paths are relative to the
// chroot of zookeeper.connect.
const (
	zkControllerPath      = "/controller"       // ephemeral {"version":1,"brokerid":N,"timestamp":"ms"}
	zkControllerEpochPath = "/controller_epoch" // "N"
	zkBrokersPath         = "/brokers"
	zkBrokerIDsPath       = "/brokers/ids"    // ephemeral children, one per live broker
	zkTopicsPath          = "/brokers/topics" // one child per topic: its assignment
	zkSeqIDPath           = "/brokers/seqid"
	zkConfigPath          = "/config"
	zkTopicConfigsPath    = "/config/topics"
	zkBrokerConfigsPath   = "/config/brokers"
	zkConfigChangesPath   = "/config/changes"
	zkAdminPath           = "/admin"
	zkDeleteTopicsPath    = "/admin/delete_topics"
	zkIsrChangesPath      = "/isr_change_notification"
	zkClusterPath         = "/cluster"
	zkClusterIDPath       = "/cluster/id"
	zkProducerIDBlockPath = "/latest_producer_id_block"

	// zkDefaultEntity names the cluster-wide default broker configs.
	zkDefaultEntity = "<default>"
	// Sequential-node prefixes.
	zkConfigChangePrefix = "config_change_"
	zkIsrChangePrefix    = "isr_change_"
)

// zkPersistentPaths are created at startup when missing, as Kafka's
// KafkaZkClient.createTopLevelPaths does.
var zkPersistentPaths = []string{
	zkBrokersPath, zkBrokerIDsPath, zkTopicsPath, zkSeqIDPath,
	zkConfigPath, zkTopicConfigsPath, zkBrokerConfigsPath, zkConfigChangesPath,
	"/config/clients", "/config/users", "/config/ips", zkAdminPath, zkDeleteTopicsPath,
	zkIsrChangesPath, zkClusterPath,
	zkACLPath, zkPrefixedACLPath, zkACLChangesPath, zkExtendedACLChangesPath, // acls.go
}

func zkBrokerPath(id int32) string    { return zkBrokerIDsPath + "/" + strconv.Itoa(int(id)) }
func zkTopicPath(topic string) string { return zkTopicsPath + "/" + topic }
func zkPartitionsPath(topic string) string {
	return zkTopicPath(topic) + "/partitions"
}
func zkPartitionPath(topic string, p int32) string {
	return zkPartitionsPath(topic) + "/" + strconv.Itoa(int(p))
}
func zkStatePath(topic string, p int32) string { return zkPartitionPath(topic, p) + "/state" }
func zkTopicConfigPath(topic string) string    { return zkTopicConfigsPath + "/" + topic }
func zkDeleteTopicPath(topic string) string    { return zkDeleteTopicsPath + "/" + topic }

// zkBrokerEntity is the /config/brokers child of a broker ID (-1: the
// cluster-wide default).
func zkBrokerEntity(id int32) string {
	if id < 0 {
		return zkDefaultEntity
	}
	return strconv.Itoa(int(id))
}

func zkBrokerConfigPath(id int32) string { return zkBrokerConfigsPath + "/" + zkBrokerEntity(id) }

// parseBrokerEntity is zkBrokerEntity's inverse.
func parseBrokerEntity(name string) (int32, bool) {
	if name == zkDefaultEntity {
		return -1, true
	}
	id, err := strconv.ParseInt(name, 10, 32)
	if err != nil || id < 0 {
		return 0, false
	}
	return int32(id), true
}

// Endpoint is one advertised listener as registered in /brokers/ids.
type Endpoint struct {
	Name             string // listener name, e.g. PLAINTEXT
	Host             string
	Port             int32
	SecurityProtocol string // e.g. PLAINTEXT; empty means the same as Name
}

// brokerRegistration is /brokers/ids/N, version 5.
type brokerRegistration struct {
	Version                     int               `json:"version"`
	Host                        *string           `json:"host"`
	Port                        int32             `json:"port"`
	Endpoints                   []string          `json:"endpoints"`
	ListenerSecurityProtocolMap map[string]string `json:"listener_security_protocol_map"`
	Rack                        *string           `json:"rack,omitempty"`
	JmxPort                     int32             `json:"jmx_port"`
	Timestamp                   string            `json:"timestamp"`
	Features                    map[string]any    `json:"features"`
}

func encodeBrokerRegistration(self controller.Broker, listeners []Endpoint, now time.Time) []byte {
	reg := brokerRegistration{
		Version:                     5,
		Port:                        -1,
		ListenerSecurityProtocolMap: map[string]string{},
		JmxPort:                     -1,
		Timestamp:                   strconv.FormatInt(now.UnixMilli(), 10),
		Endpoints:                   []string{},
		Features:                    map[string]any{},
	}
	if len(listeners) == 0 {
		listeners = []Endpoint{{Name: "PLAINTEXT", Host: self.Host, Port: self.Port}}
	}
	for _, l := range listeners {
		proto := l.SecurityProtocol
		if proto == "" {
			proto = l.Name
		}
		reg.Endpoints = append(reg.Endpoints, fmt.Sprintf("%s://%s", l.Name, net.JoinHostPort(l.Host, strconv.Itoa(int(l.Port)))))
		reg.ListenerSecurityProtocolMap[l.Name] = proto
		// Kafka fills the top-level host and port (read by very old
		// clients) from the PLAINTEXT listener only.
		if l.Name == "PLAINTEXT" && reg.Host == nil {
			h := l.Host
			reg.Host, reg.Port = &h, l.Port
		}
	}
	if self.Rack != "" {
		r := self.Rack
		reg.Rack = &r
	}
	data, _ := json.Marshal(reg)
	return data
}

// decodeBrokerRegistration reads a broker's registration: every
// endpoint, and as its address that of the first one (Samsa registers
// its first advertised listener first), else the legacy host and port.
func decodeBrokerRegistration(id int32, data []byte) (controller.Broker, error) {
	var reg brokerRegistration
	if err := json.Unmarshal(data, &reg); err != nil {
		return controller.Broker{}, fmt.Errorf("broker %d registration: %w", id, err)
	}
	b := controller.Broker{ID: id}
	if reg.Rack != nil {
		b.Rack = *reg.Rack
	}
	var names, hosts []string
	var ports []int32
	for _, ep := range reg.Endpoints {
		name, hostPort, ok := strings.Cut(ep, "://")
		if !ok {
			continue
		}
		host, port, err := net.SplitHostPort(hostPort)
		if err != nil {
			continue
		}
		p, err := strconv.ParseInt(port, 10, 32)
		if err != nil {
			continue
		}
		if len(names) == 0 {
			b.Host, b.Port = host, int32(p)
		}
		names, hosts, ports = append(names, name), append(hosts, host), append(ports, int32(p))
	}
	if len(names) > 0 {
		b.Endpoints = controller.JoinEndpoints(names, hosts, ports)
		return b, nil
	}
	if reg.Host != nil {
		b.Host, b.Port = *reg.Host, reg.Port
		return b, nil
	}
	return controller.Broker{}, fmt.Errorf("broker %d registration has no endpoint: %s", id, data)
}

// controllerNode is /controller.
type controllerNode struct {
	Version   int    `json:"version"`
	BrokerID  int32  `json:"brokerid"`
	Timestamp string `json:"timestamp"`
}

func encodeController(id int32, now time.Time) []byte {
	data, _ := json.Marshal(controllerNode{Version: 1, BrokerID: id, Timestamp: strconv.FormatInt(now.UnixMilli(), 10)})
	return data
}

func decodeController(data []byte) (int32, error) {
	var c controllerNode
	if err := json.Unmarshal(data, &c); err != nil {
		// Kafka before 0.9 wrote the bare broker ID.
		if id, err2 := strconv.ParseInt(strings.TrimSpace(string(data)), 10, 32); err2 == nil {
			return int32(id), nil
		}
		return -1, fmt.Errorf("controller znode: %w", err)
	}
	return c.BrokerID, nil
}

func encodeControllerEpoch(epoch int32) []byte { return []byte(strconv.Itoa(int(epoch))) }

func decodeControllerEpoch(data []byte) (int32, error) {
	e, err := strconv.ParseInt(strings.TrimSpace(string(data)), 10, 32)
	if err != nil {
		return 0, fmt.Errorf("controller epoch %q: %w", data, err)
	}
	return int32(e), nil
}

// topicNode is /brokers/topics/T.
type topicNode struct {
	Version          int                `json:"version"`
	Partitions       map[string][]int32 `json:"partitions"`
	AddingReplicas   map[string][]int32 `json:"adding_replicas"`
	RemovingReplicas map[string][]int32 `json:"removing_replicas"`
	TopicID          string             `json:"topic_id,omitempty"`
}

func encodeTopic(id controller.TopicID, assignment [][]int32) []byte {
	n := topicNode{
		Version:          2,
		Partitions:       make(map[string][]int32, len(assignment)),
		AddingReplicas:   map[string][]int32{},
		RemovingReplicas: map[string][]int32{},
	}
	for p, replicas := range assignment {
		n.Partitions[strconv.Itoa(p)] = replicas
	}
	if !id.IsZero() {
		n.TopicID = base64.RawURLEncoding.EncodeToString(id[:])
	}
	data, _ := json.Marshal(n)
	return data
}

// decodeTopic reads a topic's ID (zero when the znode has none, as
// written by Kafka before 2.8) and its assignment, which must number its
// partitions 0, 1, ...
func decodeTopic(name string, data []byte) (controller.TopicID, [][]int32, error) {
	var n topicNode
	if err := json.Unmarshal(data, &n); err != nil {
		return controller.TopicID{}, nil, fmt.Errorf("topic %s: %w", name, err)
	}
	var id controller.TopicID
	if n.TopicID != "" {
		raw, err := base64.RawURLEncoding.DecodeString(n.TopicID)
		if err != nil || len(raw) != 16 {
			return controller.TopicID{}, nil, fmt.Errorf("topic %s: bad topic_id %q", name, n.TopicID)
		}
		copy(id[:], raw)
	}
	assignment := make([][]int32, len(n.Partitions))
	for key, replicas := range n.Partitions {
		p, err := strconv.Atoi(key)
		if err != nil || p < 0 || p >= len(assignment) {
			return controller.TopicID{}, nil, fmt.Errorf("topic %s: partitions are not numbered 0 to %d: %q", name, len(assignment)-1, key)
		}
		assignment[p] = slices.Clone(replicas)
	}
	for p, replicas := range assignment {
		if len(replicas) == 0 {
			return controller.TopicID{}, nil, fmt.Errorf("topic %s: partition %d has no replicas", name, p)
		}
	}
	return id, assignment, nil
}

// partitionState is /brokers/topics/T/partitions/P/state: the leader and
// ISR elections decide, the epoch of the controller that wrote it, the
// znode's version, which is the partition epoch, and the zxid of its last
// write (0 when unknown).
type partitionState struct {
	controller.LeaderAndISR
	ControllerEpoch int32
	zkVersion       int32
	mzxid           int64
}

// partitionStateNode is the state znode's JSON, in Kafka's field order.
type partitionStateNode struct {
	Version         int     `json:"version"`
	Leader          int32   `json:"leader"`
	LeaderEpoch     int32   `json:"leader_epoch"`
	ControllerEpoch int32   `json:"controller_epoch"`
	ISR             []int32 `json:"isr"`
}

func (s partitionState) encode() []byte {
	n := partitionStateNode{Version: 1, Leader: s.Leader, LeaderEpoch: s.LeaderEpoch, ControllerEpoch: s.ControllerEpoch, ISR: s.ISR}
	if n.ISR == nil {
		n.ISR = []int32{}
	}
	data, _ := json.Marshal(n)
	return data
}

func decodePartitionState(data []byte, st *gozk.Stat) (partitionState, error) {
	var n partitionStateNode
	if err := json.Unmarshal(data, &n); err != nil {
		return partitionState{}, fmt.Errorf("partition state: %w", err)
	}
	return partitionState{
		LeaderAndISR:    controller.LeaderAndISR{Leader: n.Leader, LeaderEpoch: n.LeaderEpoch, ISR: n.ISR},
		ControllerEpoch: n.ControllerEpoch,
		zkVersion:       st.Version,
		mzxid:           st.Mzxid,
	}, nil
}

// with returns s with the leader and ISR an election decided.
func (s partitionState) with(l controller.LeaderAndISR) partitionState {
	s.LeaderAndISR = l
	return s
}

func (s partitionState) clone() partitionState {
	s.ISR = slices.Clone(s.ISR)
	return s
}

// configNode is /config/topics/T and /config/brokers/B.
type configNode struct {
	Version int               `json:"version"`
	Config  map[string]string `json:"config"`
}

func encodeConfig(configs map[string]string) []byte {
	c := configNode{Version: 1, Config: maps.Clone(configs)}
	if c.Config == nil {
		c.Config = map[string]string{}
	}
	data, _ := json.Marshal(c)
	return data
}

func decodeConfig(data []byte) (map[string]string, error) {
	if len(data) == 0 {
		return map[string]string{}, nil
	}
	var raw struct {
		Config map[string]any `json:"config"`
	}
	if err := json.Unmarshal(data, &raw); err != nil {
		return nil, fmt.Errorf("config: %w", err)
	}
	out := make(map[string]string, len(raw.Config))
	for k, v := range raw.Config {
		switch v := v.(type) {
		case string:
			out[k] = v
		case nil:
		default:
			out[k] = fmt.Sprint(v)
		}
	}
	return out, nil
}

// encodeConfigChange is a /config/changes/config_change_ notification
// (version 2: the entity path, "topics/T" or "brokers/B").
func encodeConfigChange(entityPath string) []byte {
	data, _ := json.Marshal(map[string]any{"version": 2, "entity_path": entityPath})
	return data
}

// encodeIsrChange is an /isr_change_notification/isr_change_ node.
func encodeIsrChange(tps ...controller.TopicPartition) []byte {
	type tp struct {
		Topic     string `json:"topic"`
		Partition int32  `json:"partition"`
	}
	n := struct {
		Version    int  `json:"version"`
		Partitions []tp `json:"partitions"`
	}{Version: 1}
	for _, t := range tps {
		n.Partitions = append(n.Partitions, tp{t.Topic, t.Partition})
	}
	data, _ := json.Marshal(n)
	return data
}

// clusterIDNode is /cluster/id; Kafka writes its version as a string.
type clusterIDNode struct {
	Version string `json:"version"`
	ID      string `json:"id"`
}

func encodeClusterID(id string) []byte {
	data, _ := json.Marshal(clusterIDNode{Version: "1", ID: id})
	return data
}

func decodeClusterID(data []byte) (string, error) {
	var n clusterIDNode
	if err := json.Unmarshal(data, &n); err != nil || n.ID == "" {
		return "", fmt.Errorf("cluster id znode %q: not {\"version\":\"1\",\"id\":...}", data)
	}
	return n.ID, nil
}

// producerIDBlock is /latest_producer_id_block: the last block handed out
// (both ends inclusive). Kafka writes the ends as strings.
type producerIDBlock struct {
	Version    int    `json:"version"`
	Broker     int32  `json:"broker"`
	BlockStart string `json:"block_start"`
	BlockEnd   string `json:"block_end"`
}

func encodeProducerIDBlock(broker int32, start, end int64) []byte {
	data, _ := json.Marshal(producerIDBlock{Version: 1, Broker: broker, BlockStart: strconv.FormatInt(start, 10), BlockEnd: strconv.FormatInt(end, 10)})
	return data
}

// decodeProducerIDBlockEnd returns the last ID of the block in data, -1
// when no block was handed out yet (an empty znode).
func decodeProducerIDBlockEnd(data []byte) (int64, error) {
	if len(strings.TrimSpace(string(data))) == 0 {
		return -1, nil
	}
	var b producerIDBlock
	if err := json.Unmarshal(data, &b); err != nil {
		return 0, fmt.Errorf("producer id block: %w", err)
	}
	end, err := strconv.ParseInt(b.BlockEnd, 10, 64)
	if err != nil {
		return 0, fmt.Errorf("producer id block end %q: %w", b.BlockEnd, err)
	}
	return end, nil
}
