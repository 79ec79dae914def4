package controller

import (
	"crypto/rand"
	"encoding/base64"
	"fmt"
)

// NewClusterID returns a random UUID in Kafka's base64url form.
func NewClusterID() string {
	id := newUUID()
	return base64.RawURLEncoding.EncodeToString(id[:])
}

// newUUID returns a random (version 4) UUID, never the all-zero one.
func newUUID() [16]byte {
	var id [16]byte
	for id == ([16]byte{}) {
		if _, err := rand.Read(id[:]); err != nil {
			panic(fmt.Sprintf("crypto/rand: %v", err))
		}
		id[6] = id[6]&0x0f | 0x40
		id[8] = id[8]&0x3f | 0x80
	}
	return id
}

// NewTopicID returns a new topic ID (KIP-516): a random UUID, never the
// zero ID that means "no topic ID".
func NewTopicID() TopicID { return TopicID(newUUID()) }
