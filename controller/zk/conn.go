package zk

import (
	"errors"
	"fmt"
	"strings"

	gozk "github.com/go-zookeeper/zk"
	"github.com/rs/zerolog"

	"github.com/samsa-io/samsa/controller"
)

// zkConn is the store's ZooKeeper connection. Paths given to it are
// relative to the chroot of zookeeper.connect (the zk client has no
// chroot of its own), and errors name the operation and path; those that
// mean "ZooKeeper cannot be reached or the session is gone" also wrap
// ErrStoreUnavailable.
type zkConn struct {
	conn *gozk.Conn
	root string // "" or e.g. "/samsa"
}

// parseConnect splits zookeeper.connect, "host:port,host:port/chroot",
// into the servers and the chroot ("" for none).
func parseConnect(connect string) (servers []string, root string, err error) {
	hosts := connect
	if i := strings.IndexByte(connect, '/'); i >= 0 {
		hosts, root = connect[:i], strings.TrimRight(connect[i:], "/")
	}
	for _, h := range strings.Split(hosts, ",") {
		if h = strings.TrimSpace(h); h != "" {
			servers = append(servers, h)
		}
	}
	if len(servers) == 0 {
		return nil, "", fmt.Errorf("zookeeper.connect %q names no server", connect)
	}
	if root != "" {
		for _, part := range strings.Split(root[1:], "/") {
			if part == "" || part == "." || part == ".." {
				return nil, "", fmt.Errorf("zookeeper.connect %q: bad chroot path %q", connect, root)
			}
		}
	}
	return servers, root, nil
}

func (c *zkConn) abs(p string) string {
	if c.root == "" {
		return p
	}
	if p == "/" {
		return c.root
	}
	return c.root + p
}

// rel turns a path from a watch event back into a chroot-relative one.
func (c *zkConn) rel(p string) (string, bool) {
	if c.root == "" {
		return p, true
	}
	if p == c.root {
		return "/", true
	}
	if rest, ok := strings.CutPrefix(p, c.root); ok && strings.HasPrefix(rest, "/") {
		return rest, true
	}
	return "", false
}

// isUnavailable reports whether err means ZooKeeper could not be reached
// or the session ended, as opposed to an answer about the data.
func isUnavailable(err error) bool {
	return errors.Is(err, controller.ErrStoreUnavailable) ||
		errors.Is(err, gozk.ErrConnectionClosed) || errors.Is(err, gozk.ErrNoServer) ||
		errors.Is(err, gozk.ErrSessionExpired) || errors.Is(err, gozk.ErrClosing) ||
		errors.Is(err, gozk.ErrSessionMoved)
}

func wrapZK(op, path string, err error) error {
	if err == nil {
		return nil
	}
	if isUnavailable(err) {
		return fmt.Errorf("zookeeper %s %s: %w: %w", op, path, controller.ErrStoreUnavailable, err)
	}
	return fmt.Errorf("zookeeper %s %s: %w", op, path, err)
}

func (c *zkConn) get(p string) ([]byte, *gozk.Stat, error) {
	data, st, err := c.conn.Get(c.abs(p))
	return data, st, wrapZK("get", p, err)
}

func (c *zkConn) getW(p string) ([]byte, *gozk.Stat, error) {
	data, st, _, err := c.conn.GetW(c.abs(p))
	return data, st, wrapZK("get", p, err)
}

func (c *zkConn) exists(p string) (bool, *gozk.Stat, error) {
	ok, st, err := c.conn.Exists(c.abs(p))
	return ok, st, wrapZK("exists", p, err)
}

func (c *zkConn) existsW(p string) (bool, *gozk.Stat, error) {
	ok, st, _, err := c.conn.ExistsW(c.abs(p))
	return ok, st, wrapZK("exists", p, err)
}

func (c *zkConn) children(p string) ([]string, error) {
	names, _, err := c.conn.Children(c.abs(p))
	return names, wrapZK("children", p, err)
}

func (c *zkConn) childrenW(p string) ([]string, error) {
	names, _, _, err := c.conn.ChildrenW(c.abs(p))
	return names, wrapZK("children", p, err)
}

// create makes a znode and returns its chroot-relative path (sequential
// nodes get a suffix).
func (c *zkConn) create(p string, data []byte, flags int32) (string, error) {
	got, err := c.conn.Create(c.abs(p), data, flags, gozk.WorldACL(gozk.PermAll))
	if err != nil {
		return "", wrapZK("create", p, err)
	}
	rel, _ := c.rel(got)
	return rel, nil
}

func (c *zkConn) set(p string, data []byte, version int32) (*gozk.Stat, error) {
	st, err := c.conn.Set(c.abs(p), data, version)
	return st, wrapZK("set", p, err)
}

func (c *zkConn) delete(p string, version int32) error {
	return wrapZK("delete", p, c.conn.Delete(c.abs(p), version))
}

// ensure creates p and its missing ancestors as persistent empty znodes.
func (c *zkConn) ensure(p string) error {
	parts := strings.Split(strings.TrimPrefix(p, "/"), "/")
	for i := range parts {
		sub := "/" + strings.Join(parts[:i+1], "/")
		if _, err := c.create(sub, nil, 0); err != nil && !errors.Is(err, gozk.ErrNodeExists) {
			return err
		}
	}
	return nil
}

// zkOp is one operation of a multi, with a chroot-relative path.
type zkOp struct {
	kind    byte // 'c' create, 's' set, 'd' delete, 'v' check version
	path    string
	data    []byte
	flags   int32
	version int32
}

func opCreate(p string, data []byte, flags int32) zkOp {
	return zkOp{kind: 'c', path: p, data: data, flags: flags}
}
func opSet(p string, data []byte, version int32) zkOp {
	return zkOp{kind: 's', path: p, data: data, version: version}
}
func opDelete(p string, version int32) zkOp { return zkOp{kind: 'd', path: p, version: version} }
func opCheck(p string, version int32) zkOp  { return zkOp{kind: 'v', path: p, version: version} }

// multiError says which operation of a failed multi failed.
type multiError struct {
	index int
	op    zkOp
	err   error
}

func (e *multiError) Error() string {
	return fmt.Sprintf("zookeeper multi: operation %d (%c %s): %v", e.index, e.op.kind, e.op.path, e.err)
}

func (e *multiError) Unwrap() error { return e.err }

// multi runs ops atomically. It returns the responses (the stat of each
// set) or, when an operation failed, a *multiError naming the first.
func (c *zkConn) multi(ops ...zkOp) ([]gozk.MultiResponse, error) {
	reqs := make([]any, len(ops))
	for i, op := range ops {
		p := c.abs(op.path)
		switch op.kind {
		case 'c':
			reqs[i] = &gozk.CreateRequest{Path: p, Data: op.data, Acl: gozk.WorldACL(gozk.PermAll), Flags: op.flags}
		case 's':
			reqs[i] = &gozk.SetDataRequest{Path: p, Data: op.data, Version: op.version}
		case 'd':
			reqs[i] = &gozk.DeleteRequest{Path: p, Version: op.version}
		case 'v':
			reqs[i] = &gozk.CheckVersionRequest{Path: p, Version: op.version}
		}
	}
	res, err := c.conn.Multi(reqs...)
	if err == nil {
		return res, nil
	}
	// ZooKeeper answers a failed multi with a result per operation: none
	// for those before the failure, the failure, then "runtime
	// inconsistency" for those after it.
	for i, r := range res {
		if r.Error != nil {
			return res, &multiError{index: i, op: ops[i], err: wrapZK("multi", ops[i].path, r.Error)}
		}
	}
	return res, wrapZK("multi", "", err)
}

// zkLogger routes the zk client's log lines to zerolog at debug level.
type zkLogger struct{ logger zerolog.Logger }

func (l zkLogger) Printf(format string, args ...any) { l.logger.Debug().Msgf(format, args...) }
