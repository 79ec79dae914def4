package admin

import (
	"context"
	"encoding/base64"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/samsa-io/samsa/tools/cli"
)

// session is one command's connection to the cluster: the kgo client for
// the requests kadm has no helper for, and kadm over it.
type session struct {
	cl  *kgo.Client
	adm *kadm.Client
}

// connect opens a session on --bootstrap-server; an unreachable cluster
// is the one-line error env.NewClient gives.
func connect(ctx context.Context, env *cli.Env) (*session, error) {
	cl, err := env.NewClient(ctx)
	if err != nil {
		return nil, err
	}
	adm := kadm.NewClient(cl)
	if env.Timeout > 0 {
		adm.SetTimeoutMillis(int32(env.Timeout / time.Millisecond))
	}
	return &session{cl: cl, adm: adm}, nil
}

func (s *session) Close() { s.cl.Close() }

// errTopicMissing is the error for a topic the cluster does not have,
// worded as users of kafka-topics.sh know it.
func errTopicMissing(topic string) error {
	return fmt.Errorf("topic %q does not exist", topic)
}

// refused turns an error the cluster answered with into Kafka's error
// name and the broker's message (its description when the broker sent
// none); UNKNOWN_TOPIC_OR_PARTITION on a topic becomes errTopicMissing.
// Any other error is returned as it is.
func refused(topic string, err error, message string) error {
	if err == nil {
		return nil
	}
	if topic != "" && errors.Is(err, kerr.UnknownTopicOrPartition) {
		return errTopicMissing(topic)
	}
	var ke *kerr.Error
	if !errors.As(err, &ke) {
		return err
	}
	if message == "" {
		message = ke.Description
	}
	return fmt.Errorf("%s: %s", ke.Message, message)
}

// topicID is a topic ID as Kafka prints it (Uuid.toString: URL-safe
// base64 without padding); the zero ID of a cluster without topic IDs is
// "".
func topicID(id kadm.TopicID) string {
	if id == (kadm.TopicID{}) {
		return ""
	}
	return base64.RawURLEncoding.EncodeToString(id[:])
}

// brokerList prints broker IDs as kafka-topics.sh does: "1,2,3".
func brokerList(ids []int32) string {
	s := make([]string, len(ids))
	for i, id := range ids {
		s[i] = strconv.Itoa(int(id))
	}
	return strings.Join(s, ",")
}

// nonNil makes a nil list an empty one, so that JSON shows [] and never
// null.
func nonNil[T any](s []T) []T {
	if s == nil {
		return []T{}
	}
	return slices.Clone(s)
}

// dash stands in a table cell for an empty value.
func dash(s string) string {
	if s == "" {
		return "-"
	}
	return s
}

// parseKeyValue parses one k=v (split at the first '=', as Kafka's
// tools do); the flag names the flag for the error.
func parseKeyValue(flag, kv string) (string, string, error) {
	k, v, ok := strings.Cut(kv, "=")
	if !ok || strings.TrimSpace(k) == "" {
		return "", "", cli.Usagef("--%s %q: want key=value", flag, kv)
	}
	return strings.TrimSpace(k), v, nil
}

// topicArg is the one topic a command names, as --topic or as its
// positional argument.
func topicArg(flagTopic string, args []string) (string, error) {
	switch {
	case flagTopic != "" && len(args) > 0 && args[0] != flagTopic:
		return "", cli.Usagef("the topic is given twice: --topic %s and %s", flagTopic, args[0])
	case flagTopic != "":
		return flagTopic, nil
	case len(args) == 1:
		return args[0], nil
	}
	return "", cli.Usagef("name a topic: --topic NAME, or NAME as the argument")
}

// topicArgs are the topics a command names, with --topic and as its
// positional arguments, each once, in the order given.
func topicArgs(flagTopics []string, args []string) []string {
	var out []string
	for _, t := range append(slices.Clone(flagTopics), args...) {
		if !slices.Contains(out, t) {
			out = append(out, t)
		}
	}
	return out
}
