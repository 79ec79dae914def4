package log

// What the entries at the top of a log directory are, by name.
//
// A partition lives in "<topic>-<partition>". Topic names have at most 249
// characters and partitions at most five digits (the broker caps a topic
// at 100,000 partitions), so the longest partition directory name is
// exactly the 255 bytes file systems allow.
//
// A partition being deleted is first renamed, as Kafka's
// LocalLog.logDeleteDirName names it: "<topic>-<partition>.<uuid>-delete"
// with the UUID as 32 hex digits and the topic cut short so the whole name
// stays within 255 bytes. A topic of 230 or more characters would
// otherwise make the rename fail ("file name too long").

import (
	"crypto/rand"
	"encoding/hex"
	"regexp"
	"strconv"
	"strings"
)

// maxFileNameBytes is the longest file name Linux file systems take
// (NAME_MAX), which Kafka assumes too.
const maxFileNameBytes = 255

// maxTopicNameLength is Kafka's limit on topic names (the controller
// package enforces it; the log only recognises directories by it).
const maxTopicNameLength = 249

// deleteDirName names the directory a partition's directory is renamed to
// when the partition is deleted: a fresh random suffix each time, so
// deleting the same partition again never meets an older leftover.
func deleteDirName(tp TopicPartition) string {
	var id [16]byte
	rand.Read(id[:])
	suffix := "-" + strconv.Itoa(int(tp.Partition)) + "." + hex.EncodeToString(id[:]) + deleteDirSuffix
	prefix := tp.Topic
	if keep := maxFileNameBytes - len(suffix); len(prefix) > keep {
		prefix = prefix[:keep]
	}
	return prefix + suffix
}

// deleteDirPattern matches the names deleteDirName makes (32 hex digits)
// and those of earlier Samsa versions (16).
var deleteDirPattern = regexp.MustCompile(`^.+-[0-9]+\.([0-9a-f]{32}|[0-9a-f]{16})` + deleteDirSuffix + `$`)

// DevSecurityDir is the directory `samsa broker --dev-security` keeps its
// generated CA, certificate and users in, inside the first log directory.
// Log directories may hold it beside partitions.
const DevSecurityDir = "dev-security"

// isDeleteDir reports whether name is a partition directory renamed for
// deletion, whose removal a restart cut short.
func isDeleteDir(name string) bool { return deleteDirPattern.MatchString(name) }

// parsePartitionDir splits "<topic>-<partition>" (topics may contain '-').
// Only the names the broker itself makes are accepted: a legal topic name
// and a partition number written without sign or leading zeros. Anything
// else in a log directory ("lost+found", a backup someone left) is not a
// partition and is never opened or deleted.
func parsePartitionDir(name string) (TopicPartition, bool) {
	i := strings.LastIndexByte(name, '-')
	if i <= 0 {
		return TopicPartition{}, false
	}
	p, err := strconv.ParseInt(name[i+1:], 10, 32)
	if err != nil || p < 0 {
		return TopicPartition{}, false
	}
	tp := TopicPartition{Topic: name[:i], Partition: int32(p)}
	if !legalTopicName(tp.Topic) || tp.String() != name {
		return TopicPartition{}, false
	}
	return tp, true
}

// legalTopicName applies Kafka's rules for topic names: 1 to 249
// characters of [a-zA-Z0-9._-], and neither "." nor "..".
func legalTopicName(name string) bool {
	if name == "" || name == "." || name == ".." || len(name) > maxTopicNameLength {
		return false
	}
	for _, c := range []byte(name) {
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '.' || c == '_' || c == '-') {
			return false
		}
	}
	return true
}
