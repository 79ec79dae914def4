package controller

import (
	"slices"
	"testing"
)

func TestTopicChangesSayWhatChanged(t *testing.T) {
	topic := func(id byte, partitions int, leader int32, configs map[string]string) *Topic {
		tp := &Topic{Name: "t", ID: TopicID{id}, Configs: configs}
		for i := range partitions {
			tp.Partitions = append(tp.Partitions, Partition{Partition: int32(i), Replicas: []int32{1, 2}, ISR: []int32{1, 2}, Leader: leader})
		}
		return tp
	}
	for _, tc := range []struct {
		name          string
		before, after *Topic
		want          []ChangeKind
	}{
		{"unchanged", topic(1, 1, 1, nil), topic(1, 1, 1, nil), nil},
		{"created", nil, topic(1, 1, 1, nil), []ChangeKind{TopicCreated}},
		{"deleted", topic(1, 1, 1, nil), nil, []ChangeKind{TopicDeleted}},
		{"recreated", topic(1, 1, 1, nil), topic(2, 1, 1, nil), []ChangeKind{TopicDeleted, TopicCreated}},
		{"grown, configured and led anew", topic(1, 1, 1, nil), topic(1, 2, 2, map[string]string{"a": "1"}), []ChangeKind{PartitionsCreated, TopicConfigChanged, LeadershipChanged}},
	} {
		var got []ChangeKind
		for _, c := range TopicChanges("t", tc.before, tc.after) {
			if c.Topic != "t" {
				t.Errorf("%s: change %+v names another topic", tc.name, c)
			}
			got = append(got, c.Kind)
		}
		if !slices.Equal(got, tc.want) {
			t.Errorf("%s: %v, want %v", tc.name, got, tc.want)
		}
	}
}
