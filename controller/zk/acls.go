package zk

// ACLs, where Kafka's AclAuthorizer keeps them in ZooKeeper (KIP-290):
//
//	/kafka-acl/<ResourceType>/<name>                    LITERAL ACLs of one resource
//	/kafka-acl-extended/prefixed/<ResourceType>/<name>  PREFIXED ones
//	    {"version":1,"acls":[{"principal":"User:alice","permissionType":"Allow","operation":"Read","host":"*"}]}
//	/kafka-acl-changes/acl_changes_NNNNNNNNNN           "Topic:name", after a literal resource changed
//	/kafka-acl-extended-changes/acl_changes_NNNNNNNNNN  {"version":1,"resourceType":"Topic","name":"p-","patternType":"PREFIXED"}
//
// A write reads the resource's znode and sets it conditionally on the
// version read (creating it when missing, deleting it when emptied),
// retrying when another writer came first, so concurrent CreateAcls lose
// no entry; then it adds a change notification. Every store watches the
// two change directories and re-reads the ACLs when a notification
// arrives, as Kafka's brokers do, so a change made through one broker
// is in effect on all of them at once. Kafka's tools (kafka-acls.sh
// --authorizer-properties zookeeper.connect=...) read and write the same
// znodes.

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strings"

	gozk "github.com/go-zookeeper/zk"

	"github.com/samsa-io/samsa/broker/acl"
	"github.com/samsa-io/samsa/controller"
)

const (
	zkACLPath                = "/kafka-acl"
	zkExtendedACLPath        = "/kafka-acl-extended"
	zkPrefixedACLPath        = zkExtendedACLPath + "/prefixed"
	zkACLChangesPath         = "/kafka-acl-changes"
	zkExtendedACLChangesPath = "/kafka-acl-extended-changes"
	zkACLChangePrefix        = "acl_changes_"
)

var _ controller.ACLStore = (*Store)(nil)

// aclResource is one resource pattern: one znode.
type aclResource struct {
	typ     acl.ResourceType
	pattern acl.PatternType
	name    string
}

func (r aclResource) path() string {
	base := zkACLPath
	if r.pattern == acl.PatternPrefixed {
		base = zkPrefixedACLPath
	}
	return base + "/" + r.typ.String() + "/" + r.name
}

// zkACLEntry is one entry of a resource znode, as Kafka's AclEntry
// writes it.
type zkACLEntry struct {
	Principal      string `json:"principal"`
	PermissionType string `json:"permissionType"`
	Operation      string `json:"operation"`
	Host           string `json:"host"`
}

type zkACLs struct {
	Version int          `json:"version"`
	ACLs    []zkACLEntry `json:"acls"`
}

func encodeACLs(entries []zkACLEntry) []byte {
	data, _ := json.Marshal(zkACLs{Version: 1, ACLs: entries})
	return data
}

func decodeACLs(r aclResource, data []byte) ([]acl.Binding, error) {
	var doc zkACLs
	if err := json.Unmarshal(data, &doc); err != nil {
		return nil, fmt.Errorf("ACLs of %s %s: %w", r.typ, r.name, err)
	}
	out := make([]acl.Binding, 0, len(doc.ACLs))
	for _, e := range doc.ACLs {
		op, err := acl.ParseOperation(e.Operation)
		if err != nil {
			return nil, fmt.Errorf("ACLs of %s %s: %w", r.typ, r.name, err)
		}
		perm, err := acl.ParsePermission(e.PermissionType)
		if err != nil {
			return nil, fmt.Errorf("ACLs of %s %s: %w", r.typ, r.name, err)
		}
		out = append(out, acl.Binding{ResourceType: r.typ, ResourceName: r.name, PatternType: r.pattern,
			Principal: e.Principal, Host: e.Host, Operation: op, Permission: perm})
	}
	return out, nil
}

func entryOf(b acl.Binding) zkACLEntry {
	return zkACLEntry{Principal: b.Principal, PermissionType: b.Permission.String(), Operation: b.Operation.String(), Host: b.Host}
}

func resourceOf(b acl.Binding) aclResource {
	return aclResource{typ: b.ResourceType, pattern: b.PatternType, name: b.ResourceName}
}

// ACLs returns every ACL in the store's view.
func (s *Store) ACLs() []acl.Binding {
	s.mu.RLock()
	defer s.mu.RUnlock()
	return slices.Clone(s.view.acls)
}

// CreateACLs adds bindings to their resources' znodes.
func (s *Store) CreateACLs(ctx context.Context, bindings []acl.Binding) error {
	byResource := map[aclResource][]acl.Binding{}
	for _, b := range bindings {
		byResource[resourceOf(b)] = append(byResource[resourceOf(b)], b)
	}
	for r, add := range byResource {
		err := s.updateACLs(r, func(have []acl.Binding) []acl.Binding {
			merged, _ := controller.AddACLs(have, add)
			return merged
		})
		if err != nil {
			return fmt.Errorf("create ACLs: %w", err)
		}
	}
	want := slices.Clone(bindings)
	s.settle(ctx, func(v *zkView) bool {
		for _, b := range want {
			if !slices.Contains(v.acls, b) {
				return false
			}
		}
		return true
	})
	return nil
}

// DeleteACLs removes what the filters match, resource by resource, from
// what ZooKeeper holds now.
func (s *Store) DeleteACLs(ctx context.Context, filters []acl.Filter) ([][]acl.Binding, error) {
	current, err := s.readAllACLs()
	if err != nil {
		return nil, fmt.Errorf("delete ACLs: %w", err)
	}
	touched := map[aclResource]bool{}
	for _, b := range current {
		for _, f := range filters {
			if f.Matches(b) {
				touched[resourceOf(b)] = true
			}
		}
	}
	matched := make([][]acl.Binding, len(filters))
	var removed []acl.Binding
	for r := range touched {
		var hits [][]acl.Binding // of the run that was written
		err := s.updateACLs(r, func(have []acl.Binding) []acl.Binding {
			var kept []acl.Binding
			kept, hits = controller.RemoveACLs(have, filters)
			return kept
		})
		if err != nil {
			return nil, fmt.Errorf("delete ACLs: %w", err)
		}
		for i, h := range hits {
			matched[i] = append(matched[i], h...)
		}
	}
	for i := range matched {
		controller.SortACLs(matched[i])
		removed = append(removed, matched[i]...)
	}
	s.settle(ctx, func(v *zkView) bool {
		for _, b := range removed {
			if slices.Contains(v.acls, b) {
				return false
			}
		}
		return true
	})
	return matched, nil
}

// updateACLs rewrites one resource's znode with change applied to what it
// holds, conditionally on the version read, retrying when another writer
// changed it in between; then it writes the change notification. change
// may run more than once; the last run is what was written.
func (s *Store) updateACLs(r aclResource, change func([]acl.Binding) []acl.Binding) error {
	p := r.path()
	for {
		data, st, err := s.zk.get(p)
		var have []acl.Binding
		switch {
		case errors.Is(err, gozk.ErrNoNode):
			st = nil // the client hands back an empty Stat with the error
		case err != nil:
			return err
		default:
			if have, err = decodeACLs(r, data); err != nil {
				return err
			}
		}
		next := change(have)
		if slices.Equal(next, have) {
			return nil
		}
		entries := make([]zkACLEntry, len(next))
		for i, b := range next {
			entries[i] = entryOf(b)
		}
		switch {
		case st == nil && len(next) == 0:
			return nil
		case st == nil:
			if err := s.zk.ensure(p[:strings.LastIndex(p, "/")]); err != nil {
				return err
			}
			_, err = s.zk.create(p, encodeACLs(entries), 0)
		case len(next) == 0:
			err = s.zk.delete(p, st.Version)
		default:
			_, err = s.zk.set(p, encodeACLs(entries), st.Version)
		}
		if errors.Is(err, gozk.ErrNodeExists) || errors.Is(err, gozk.ErrBadVersion) || errors.Is(err, gozk.ErrNoNode) {
			continue // another writer came first: read again
		}
		if err != nil {
			return err
		}
		return s.notifyACLChange(r)
	}
}

// notifyACLChange writes Kafka's change notification for a resource.
func (s *Store) notifyACLChange(r aclResource) error {
	path, data := zkACLChangesPath, []byte(r.typ.String()+":"+r.name)
	if r.pattern != acl.PatternLiteral {
		path = zkExtendedACLChangesPath
		data, _ = json.Marshal(map[string]any{"version": 1, "resourceType": r.typ.String(), "name": r.name, "patternType": r.pattern.String()})
	}
	if _, err := s.zk.create(path+"/"+zkACLChangePrefix, data, gozk.FlagSequence); err != nil {
		return fmt.Errorf("ACL change notification: %w", err)
	}
	return nil
}

// readAllACLs reads every resource znode of both trees.
func (s *Store) readAllACLs() ([]acl.Binding, error) {
	var out []acl.Binding
	for _, tree := range []struct {
		base    string
		pattern acl.PatternType
	}{{zkACLPath, acl.PatternLiteral}, {zkPrefixedACLPath, acl.PatternPrefixed}} {
		types, err := s.zk.children(tree.base)
		if errors.Is(err, gozk.ErrNoNode) {
			continue
		}
		if err != nil {
			return nil, err
		}
		for _, typName := range types {
			typ, err := acl.ParseResourceType(typName)
			if err != nil {
				continue // a type Samsa does not know
			}
			names, err := s.zk.children(tree.base + "/" + typName)
			if err != nil && !errors.Is(err, gozk.ErrNoNode) {
				return nil, err
			}
			for _, name := range names {
				r := aclResource{typ: typ, pattern: tree.pattern, name: name}
				data, _, err := s.zk.get(r.path())
				if errors.Is(err, gozk.ErrNoNode) {
					continue
				}
				if err != nil {
					return nil, err
				}
				bindings, err := decodeACLs(r, data)
				if err != nil {
					s.logger.Warn().Err(err).Msg("unreadable ACL znode skipped")
					continue
				}
				out = append(out, bindings...)
			}
		}
	}
	controller.SortACLs(out)
	return out, nil
}

// loadACLs is the cache loop's read of the ACLs: it watches both change
// directories (a new notification fires the watch) and reads every ACL
// again.
func (c *cacheLoop) loadACLs() error {
	for _, p := range []string{zkACLChangesPath, zkExtendedACLChangesPath} {
		if _, err := c.readChildren(p); err != nil {
			return err
		}
	}
	acls, err := c.s.readAllACLs()
	if err != nil {
		return err
	}
	if slices.Equal(acls, c.s.view.acls) {
		return nil
	}
	c.batch.aclsChanged = true
	c.s.mu.Lock()
	c.s.view.acls = acls
	c.s.mu.Unlock()
	return nil
}
