package controller

import (
	"fmt"
	"strings"
)

// MaxTopicNameLength is Kafka's limit on topic names.
const MaxTopicNameLength = 249

// ValidateTopicName applies Kafka's rules: 1 to 249 characters from
// [a-zA-Z0-9._-], and neither "." nor "..".
func ValidateTopicName(name string) error {
	switch {
	case name == "":
		return fmt.Errorf("%w: the empty string is not a valid topic name", ErrInvalidTopicName)
	case name == "." || name == "..":
		return fmt.Errorf("%w: topic name cannot be %q", ErrInvalidTopicName, name)
	case len(name) > MaxTopicNameLength:
		return fmt.Errorf("%w: topic name is %d characters long, the limit is %d", ErrInvalidTopicName, len(name), MaxTopicNameLength)
	}
	for _, c := range []byte(name) {
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '.' || c == '_' || c == '-') {
			return fmt.Errorf("%w: topic name %q contains %q; valid characters are ASCII letters, digits, '.', '_' and '-'", ErrInvalidTopicName, name, c)
		}
	}
	return nil
}

// TopicNamesCollide reports whether two different names map to the same
// metric name, which Kafka forbids: '.' and '_' are interchangeable there.
func TopicNamesCollide(a, b string) bool {
	return a != b && strings.ReplaceAll(a, ".", "_") == strings.ReplaceAll(b, ".", "_")
}

// IsInternalTopic reports whether name is one of Kafka's internal topics
// (Topic.INTERNAL_TOPICS): Kafka derives "internal" from the name alone,
// whoever created the topic. Clients may not produce to them or delete
// their records; they may delete or grow them, as in Kafka.
func IsInternalTopic(name string) bool {
	return name == "__consumer_offsets" || name == "__transaction_state"
}
