package quota

import (
	"testing"
	"time"
)

// every level of Kafka's lookup holds a distinct producer_byte_rate, so
// the limit found names the level that answered.
func allLevels() map[string]map[string]string {
	return map[string]map[string]string{
		"users/alice/clients/app":             {ProducerByteRate: "1"},
		"users/alice/clients/<default>":       {ProducerByteRate: "2"},
		"users/alice":                         {ProducerByteRate: "3"},
		"users/<default>/clients/app":         {ProducerByteRate: "4"},
		"users/<default>/clients/<default>":   {ProducerByteRate: "5"},
		"users/<default>":                     {ProducerByteRate: "6"},
		"clients/app":                         {ProducerByteRate: "7"},
		"clients/<default>":                   {ProducerByteRate: "8"},
		"users/alice/clients/other-app-quota": {ConsumerByteRate: "100"},
	}
}

func TestQuotaResolutionFollowsKafkasEightLevelsMostSpecificFirst(t *testing.T) {
	entities := allLevels()
	order := []string{
		"users/alice/clients/app", "users/alice/clients/<default>", "users/alice",
		"users/<default>/clients/app", "users/<default>/clients/<default>", "users/<default>",
		"clients/app", "clients/<default>",
	}
	for i, want := range order {
		b, ok := NewTable(entities).Resolve(ProducerByteRate, "alice", "app")
		if !ok || b.Entity != want || b.Limit != float64(i+1) {
			t.Fatalf("with levels %v present: resolved %+v (ok %v), want %s", order[i:], b, ok, want)
		}
		delete(entities, want)
	}
	if b, ok := NewTable(entities).Resolve(ProducerByteRate, "alice", "app"); ok {
		t.Fatalf("with no producer quota left, resolved %+v", b)
	}
}

func TestQuotaResolutionLooksUpEachKeyOnItsOwn(t *testing.T) {
	table := NewTable(map[string]map[string]string{
		"users/alice":       {ConsumerByteRate: "10"},
		"clients/<default>": {ProducerByteRate: "20", ConsumerByteRate: "30"},
	})
	if b, _ := table.Resolve(ConsumerByteRate, "alice", "app"); b.Limit != 10 {
		t.Errorf("alice's consumer_byte_rate = %v, want her own 10", b.Limit)
	}
	if b, _ := table.Resolve(ProducerByteRate, "alice", "app"); b.Limit != 20 || b.Entity != "clients/<default>" {
		t.Errorf("alice's producer_byte_rate = %+v, want 20 from clients/<default>", b)
	}
	if b, _ := table.Resolve(ConsumerByteRate, "bob", "app"); b.Limit != 30 {
		t.Errorf("bob's consumer_byte_rate = %v, want the default client's 30", b.Limit)
	}
}

func TestQuotaLevelDecidesWhoSharesTheMeasuredRate(t *testing.T) {
	for _, tc := range []struct {
		entity         string
		user, clientID string
	}{
		{"users/alice", "alice", ""},
		{"users/<default>", "alice", ""},
		{"clients/app", "", "app"},
		{"clients/<default>", "", "app"},
		{"users/<default>/clients/<default>", "alice", "app"},
	} {
		b, ok := NewTable(map[string]map[string]string{tc.entity: {RequestPercentage: "50"}}).Resolve(RequestPercentage, "alice", "app")
		if !ok || b.User != tc.user || b.ClientID != tc.clientID {
			t.Errorf("quota on %s: measured as user %q client %q, want %q %q", tc.entity, b.User, b.ClientID, tc.user, tc.clientID)
		}
	}
}

func TestTableIgnoresScramCredentialsAndBadValues(t *testing.T) {
	table := NewTable(map[string]map[string]string{
		"users/alice": {"SCRAM-SHA-256": "salt=x,stored_key=y,server_key=z,iterations=4096", ProducerByteRate: "fast"},
	})
	if len(table) != 0 {
		t.Fatalf("table = %v, want empty", table)
	}
}

func TestParseValueRefusesWhatKafkaRefuses(t *testing.T) {
	for _, tc := range []struct {
		key, value string
		ok         bool
	}{
		{ProducerByteRate, "1024", true},
		{ProducerByteRate, "1024.5", false},
		{ConsumerByteRate, "-1", false},
		{RequestPercentage, "12.5", true},
		{ControllerMutationRate, "0.5", true},
		{ControllerMutationRate, "x", false},
		{ConnectionCreationRate, "10", true},
		{"producer_rate", "1", false},
	} {
		if _, err := ParseValue(tc.key, tc.value); (err == nil) != tc.ok {
			t.Errorf("ParseValue(%s, %q) error = %v, want ok %v", tc.key, tc.value, err, tc.ok)
		}
	}
}

func TestRateCountsAtLeastSamplesMinusOneWindows(t *testing.T) {
	t0 := time.Unix(1000, 0)
	r := NewRate(DefaultWindow)
	r.Record(t0, 1000)
	// One value at once is spread over 10 windows of 1 s, not read as a
	// burst: 100/s.
	if got := r.Measure(t0); got != 100 {
		t.Fatalf("rate right after the first value = %v, want 100", got)
	}
	// 20 s later everything has expired.
	if got := r.Measure(t0.Add(20 * time.Second)); got != 0 {
		t.Fatalf("rate after every sample expired = %v, want 0", got)
	}
}

func TestThrottleTimeIsKafkasOverageTimesWindow(t *testing.T) {
	t0 := time.Unix(1000, 0)
	r := NewRate(DefaultWindow)
	r.Record(t0, 3000) // 300/s over the 10 s minimum window
	// (300 - 100) / 100 × 10 s = 20 s.
	if got := r.ThrottleTime(t0, 100); got != 20*time.Second {
		t.Fatalf("throttle = %v, want 20s", got)
	}
	if got := r.ThrottleTime(t0, 300); got != 0 {
		t.Fatalf("throttle at exactly the bound = %v, want 0", got)
	}
}

func TestManagerThrottlesOnlyClientsWithAQuota(t *testing.T) {
	t0 := time.Unix(1000, 0)
	m := NewManager(DefaultWindow)
	m.Reload(NewTable(map[string]map[string]string{"users/alice": {ProducerByteRate: "100"}}))
	alice, bob := ClientFor("User:alice", "app"), ClientFor("User:bob", "app")
	if d := m.Record(ProducerByteRate, bob, 1e9, t0); d != 0 {
		t.Errorf("bob has no quota but was throttled %v", d)
	}
	if d := m.Record(ProducerByteRate, alice, 1000, t0); d != 0 {
		t.Errorf("alice at 100/s of her 100/s was throttled %v", d)
	}
	// Another client ID of alice shares her rate: users/alice is per user.
	if d := m.Record(ProducerByteRate, ClientFor("User:alice", "other"), 1000, t0); d != 10*time.Second {
		t.Errorf("alice's second client took her to 200/s of 100/s: throttled %v, want 10s", d)
	}
	m.Unrecord(ProducerByteRate, alice, 1000, t0)
	if d, over := m.Exceeded(ProducerByteRate, alice, t0); over {
		t.Errorf("after unrecording, alice is still over by %v", d)
	}
}

func TestRatesOfClientsIdleForAnHourAreDropped(t *testing.T) {
	t0 := time.Unix(1000, 0)
	m := NewManager(DefaultWindow)
	m.Reload(NewTable(map[string]map[string]string{"clients/<default>": {ProducerByteRate: "100"}}))
	m.Record(ProducerByteRate, ClientFor("User:a", "gone"), 1, t0)
	later := t0.Add(2 * time.Hour)
	for range sweepEvery {
		m.Record(ProducerByteRate, ClientFor("User:a", "active"), 0, later)
	}
	if len(m.rates) != 1 {
		t.Fatalf("after an hour idle, %d rates kept, want only the active client's", len(m.rates))
	}
}
