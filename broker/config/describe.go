package config

import "sort"

// Entry is one config as DescribeConfigs reports it.
type Entry struct {
	Name string
	// Value is nil when the key has no value (log.retention.ms when only
	// log.retention.hours is set) or is sensitive.
	Value *string
	// Source is where the value comes from: SourceDynamicTopic,
	// SourceDynamicBroker, SourceDynamicDefaultBroker, SourceStaticBroker
	// or SourceDefault.
	Source    int8
	ReadOnly  bool
	Sensitive bool
	Type      int8 // TypeBoolean, TypeString, ... (DescribeConfigs v3+)
	Doc       string
	// Synonyms are every place a value for this config is set, most
	// precedent first, the entry's own value first of all (DescribeConfigs
	// v1+ with IncludeSynonyms).
	Synonyms []Synonym
}

// Synonym is one place a config's value may come from.
type Synonym struct {
	Name   string
	Value  *string
	Source int8
}

// layer is one level of broker configs, highest precedence first.
type layer struct {
	values map[string]string
	source int8
}

// brokerLayers are the levels a broker key's value may come from, in
// Kafka's order: dynamic per-broker, dynamic cluster default, static,
// built-in default.
func (b *Broker) brokerLayers(dynamicBroker, dynamicDefault map[string]string) []layer {
	return []layer{
		{dynamicOnly(dynamicBroker), SourceDynamicBroker},
		{dynamicOnly(dynamicDefault), SourceDynamicDefaultBroker},
		{b.Set, SourceStaticBroker},
		{defaults, SourceDefault},
	}
}

// defaults maps each key with a built-in default to it.
var defaults = func() map[string]string {
	m := make(map[string]string)
	for _, k := range brokerKeys {
		if k.def != nil {
			m[k.name] = *k.def
		}
	}
	return m
}()

// synonymsOf lists, as Kafka's ConfigHelper does, every layer's value of
// every name in names: first all per-broker dynamic values (in names'
// order), then all cluster-default ones, then static, then defaults.
func synonymsOf(names []string, layers []layer, sensitive bool) []Synonym {
	var out []Synonym
	for _, l := range layers {
		for _, name := range names {
			v, ok := l.values[name]
			if !ok {
				continue
			}
			s := Synonym{Name: name, Source: l.source}
			if !sensitive {
				s.Value = &v
			}
			out = append(out, s)
		}
	}
	return out
}

// DescribeTopic describes every topic config of a topic with the given
// overrides (its dynamic topic configs), sorted by name. An override's
// source is SourceDynamicTopic; any other value's source is that of the
// broker synonym it comes from. Call it on the result of WithDynamic so
// dynamic broker configs are reported as such.
func (b *Broker) DescribeTopic(overrides map[string]string) []Entry {
	layers := b.brokerLayers(b.dynamicBroker, b.dynamicDefault)
	entries := make([]Entry, 0, len(topicKeys))
	for _, k := range topicKeys {
		var syns []Synonym
		value := k.fromBroker(b)
		if v, ok := overrides[k.name]; ok {
			if err := ValidateTopicConfigs(map[string]string{k.name: v}); err == nil {
				value = normalize(k.typ, v)
				syns = append(syns, Synonym{Name: k.name, Value: ptr(value), Source: SourceDynamicTopic})
			}
		}
		syns = append(syns, synonymsOf(k.synonyms, layers, false)...)
		source := SourceDefault
		if len(syns) > 0 {
			source = syns[0].Source
		}
		entries = append(entries, Entry{
			Name:     k.name,
			Value:    ptr(value),
			Source:   source,
			Type:     k.typ,
			Doc:      k.doc,
			Synonyms: syns,
		})
	}
	return entries
}

// DescribeBroker describes every broker key of this broker (resource name
// = its ID), sorted by name. dynamicBroker and dynamicDefault are the
// dynamic configs of this broker and of the cluster; their values win
// over static ones. Keys that cannot be altered dynamically are read-only.
func (b *Broker) DescribeBroker(dynamicBroker, dynamicDefault map[string]string) []Entry {
	layers := b.brokerLayers(dynamicBroker, dynamicDefault)
	entries := make([]Entry, 0, len(brokerKeys))
	for _, k := range sortedBrokerKeys {
		sensitive := k.typ == TypePassword
		syns := synonymsOf(brokerSynonyms(k.name), layers, sensitive)
		// A key's synonyms start at the key itself: describing
		// log.retention.hours does not list log.retention.ms (Kafka
		// drops the more precise synonyms the same way).
		for len(syns) > 0 && syns[0].Name != k.name {
			syns = syns[1:]
		}
		e := Entry{
			Name:      k.name,
			Source:    SourceDefault,
			ReadOnly:  !k.dynamic,
			Sensitive: sensitive,
			Type:      k.typ,
			Doc:       k.doc,
			Synonyms:  syns,
		}
		if len(syns) > 0 {
			e.Value, e.Source = syns[0].Value, syns[0].Source
		}
		entries = append(entries, e)
	}
	return entries
}

// DescribeClusterDefaults describes the cluster-wide dynamic defaults
// (a broker resource with an empty name): one entry per key set in
// dynamicDefault, as Kafka answers it.
func (b *Broker) DescribeClusterDefaults(dynamicDefault map[string]string) []Entry {
	dyn := dynamicOnly(dynamicDefault)
	layers := []layer{{dyn, SourceDynamicDefaultBroker}}
	var entries []Entry
	for _, name := range sortedKeys(dyn) {
		k, _ := lookupKey(name)
		sensitive := k.typ == TypePassword
		syns := synonymsOf(brokerSynonyms(name), layers, sensitive)
		for len(syns) > 0 && syns[0].Name != name {
			syns = syns[1:]
		}
		e := Entry{
			Name:      name,
			Source:    SourceDynamicDefaultBroker,
			ReadOnly:  false,
			Sensitive: sensitive,
			Type:      k.typ,
			Doc:       k.doc,
			Synonyms:  syns,
		}
		if !sensitive {
			e.Value = ptr(dyn[name])
		}
		entries = append(entries, e)
	}
	return entries
}

var sortedBrokerKeys = func() []*brokerKey {
	keys := make([]*brokerKey, len(brokerKeys))
	for i := range brokerKeys {
		keys[i] = &brokerKeys[i]
	}
	sort.Slice(keys, func(i, j int) bool { return keys[i].name < keys[j].name })
	return keys
}()

func ptr(s string) *string { return &s }
