package memcluster

import (
	"context"
	"fmt"
	"slices"

	"github.com/samsa-io/samsa/broker/acl"
	"github.com/samsa-io/samsa/controller"
)

// The ensemble keeps the ACLs as ZooKeeper keeps Kafka's: one set for the
// cluster, which every connected Store sees as soon as a write settles.

var _ controller.ACLStore = (*Store)(nil)

// ACLs returns every ACL in the Store's view.
func (s *Store) ACLs() []acl.Binding { return slices.Clone(s.snapshot().acls) }

// CreateACLs adds bindings to the ensemble's set.
func (s *Store) CreateACLs(_ context.Context, bindings []acl.Binding) error {
	if err := s.lock(); err != nil {
		return fmt.Errorf("create ACLs: %w", err)
	}
	defer s.e.mu.Unlock()
	if acls, changed := controller.AddACLs(s.e.cur().acls, bindings); changed {
		s.e.write().acls = acls
	}
	s.e.settle()
	return nil
}

// DeleteACLs removes what the filters match from the ensemble's set.
func (s *Store) DeleteACLs(_ context.Context, filters []acl.Filter) ([][]acl.Binding, error) {
	if err := s.lock(); err != nil {
		return nil, fmt.Errorf("delete ACLs: %w", err)
	}
	defer s.e.mu.Unlock()
	kept, matched := controller.RemoveACLs(s.e.cur().acls, filters)
	if len(kept) != len(s.e.cur().acls) {
		s.e.write().acls = kept
	}
	s.e.settle()
	return matched, nil
}
