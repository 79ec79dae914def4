package controller

import (
	"context"
	"slices"

	"github.com/samsa-io/samsa/broker/acl"
)

// The single broker keeps its ACLs in its metadata file (localState.ACLs),
// written before CreateACLs or DeleteACLs returns, so they survive a
// restart.

var _ ACLStore = (*LocalStore)(nil)

// ACLs returns every ACL.
func (s *LocalStore) ACLs() []acl.Binding {
	s.mu.Lock()
	defer s.mu.Unlock()
	return slices.Clone(s.state.ACLs)
}

// CreateACLs adds bindings and persists them.
func (s *LocalStore) CreateACLs(_ context.Context, bindings []acl.Binding) error {
	return s.update(func(st *localState) (*Change, error) {
		acls, changed := AddACLs(st.ACLs, bindings)
		if !changed {
			return nil, nil
		}
		st.ACLs = acls
		return &Change{Kind: ACLsChanged}, nil
	})
}

// DeleteACLs removes what the filters match and persists the rest.
func (s *LocalStore) DeleteACLs(_ context.Context, filters []acl.Filter) ([][]acl.Binding, error) {
	var matched [][]acl.Binding
	err := s.update(func(st *localState) (*Change, error) {
		var kept []acl.Binding
		kept, matched = RemoveACLs(st.ACLs, filters)
		if len(kept) == len(st.ACLs) {
			return nil, nil
		}
		st.ACLs = kept
		return &Change{Kind: ACLsChanged}, nil
	})
	if err != nil {
		return nil, err
	}
	return matched, nil
}
