package zk

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"net/url"
	"strings"

	gozk "github.com/go-zookeeper/zk"

	"github.com/samsa-io/samsa/controller"
)

// Client entities live as Kafka keeps them: /config/users/<user>,
// /config/users/<user>/clients/<client-id>, /config/clients/<client-id>
// and /config/ips/<ip>, each {"version":1,"config":{...}}, with names
// sanitized as Kafka's Sanitizer does, and a /config/changes notification
// naming the sanitized entity path after each write.
const (
	zkUserConfigsPath   = "/config/users"
	zkClientConfigsPath = "/config/clients"
	zkIPConfigsPath     = "/config/ips"
)

// sanitizeEntityName is Kafka's Sanitizer.sanitize: URL encoding in
// which only letters, digits, '.', '-' and '_' stay as they are (a space
// is %20, '*' is %2A). "<default>" is kept.
func sanitizeEntityName(name string) string {
	if name == controller.DefaultEntityName {
		return name
	}
	var b strings.Builder
	for _, c := range []byte(name) {
		switch {
		case c >= 'a' && c <= 'z', c >= 'A' && c <= 'Z', c >= '0' && c <= '9', c == '.', c == '-', c == '_':
			b.WriteByte(c)
		default:
			fmt.Fprintf(&b, "%%%02X", c)
		}
	}
	return b.String()
}

// desanitizeEntityName is Kafka's Sanitizer.desanitize.
func desanitizeEntityName(name string) string {
	if name == controller.DefaultEntityName {
		return name
	}
	if s, err := url.PathUnescape(name); err == nil {
		return s
	}
	return name
}

// zkEntityPath is the chroot-relative znode of an entity, and its path as
// /config/changes notifications name it.
func zkEntityPath(e controller.Entity) (znode, notification string) {
	notification = e.Type + "/" + sanitizeEntityName(e.Name)
	if e.HasClient {
		notification += "/" + controller.EntityClients + "/" + sanitizeEntityName(e.Client)
	}
	return zkConfigPath + "/" + notification, notification
}

// entityOfZKPath is the entity whose znode p is, if it is one.
func entityOfZKPath(p string) (controller.Entity, bool) {
	rest, ok := strings.CutPrefix(p, zkConfigPath+"/")
	if !ok {
		return controller.Entity{}, false
	}
	parts := strings.Split(rest, "/")
	switch {
	case len(parts) == 2 && (parts[0] == controller.EntityUsers || parts[0] == controller.EntityClients || parts[0] == controller.EntityIPs):
		return controller.Entity{Type: parts[0], Name: desanitizeEntityName(parts[1])}, true
	case len(parts) == 4 && parts[0] == controller.EntityUsers && parts[2] == controller.EntityClients:
		return controller.UserClientEntity(desanitizeEntityName(parts[1]), desanitizeEntityName(parts[3])), true
	}
	return controller.Entity{}, false
}

// isEntityList says whether p is a znode whose children the cache lists
// to find entities: the three entity type znodes, each user (its
// "clients" child) and each user's clients.
func isEntityList(p string) bool {
	switch p {
	case zkUserConfigsPath, zkClientConfigsPath, zkIPConfigsPath:
		return true
	}
	rest, ok := strings.CutPrefix(p, zkUserConfigsPath+"/")
	if !ok {
		return false
	}
	parts := strings.Split(rest, "/")
	return len(parts) == 1 || (len(parts) == 2 && parts[1] == controller.EntityClients)
}

func (s *Store) EntityConfigs(entity string) map[string]string {
	e, err := controller.ParseEntity(entity)
	if err != nil {
		return nil
	}
	s.mu.RLock()
	defer s.mu.RUnlock()
	return maps.Clone(s.view.entityConfigs[e.Path()])
}

func (s *Store) ListEntityConfigs(entityType string) map[string]map[string]string {
	s.mu.RLock()
	defer s.mu.RUnlock()
	return controller.EntitiesOfType(s.view.entityConfigs, entityType)
}

// AlterEntityConfigs reads the entity's znode and writes it back changed,
// conditional on the version it read (retrying when another writer came
// first), then notifies through /config/changes as Kafka's
// AdminZkClient.changeConfigs does, and waits until this store's view
// shows the result.
func (s *Store) AlterEntityConfigs(ctx context.Context, entity string, set map[string]string, remove []string) error {
	e, err := controller.ParseEntity(entity)
	if err != nil {
		return err
	}
	path, notification := zkEntityPath(e)
	var want map[string]string
	for {
		if err := ctx.Err(); err != nil {
			return fmt.Errorf("alter configs of %s: %w", e.Path(), err)
		}
		data, st, err := s.zk.get(path)
		if errors.Is(err, gozk.ErrNoNode) {
			want = controller.AlterEntity(nil, set, remove)
			if want == nil {
				return nil
			}
			parent := path[:strings.LastIndexByte(path, '/')]
			if err := s.zk.ensure(parent); err != nil {
				return fmt.Errorf("alter configs of %s: %w", e.Path(), err)
			}
			if _, err := s.zk.create(path, encodeConfig(want), 0); errors.Is(err, gozk.ErrNodeExists) {
				continue
			} else if err != nil {
				return fmt.Errorf("alter configs of %s: %w", e.Path(), err)
			}
			break
		}
		if err != nil {
			return fmt.Errorf("alter configs of %s: %w", e.Path(), err)
		}
		cur, err := decodeConfig(data)
		if err != nil {
			return fmt.Errorf("alter configs of %s: %w", e.Path(), err)
		}
		want = controller.AlterEntity(cur, set, remove)
		if maps.Equal(want, cur) {
			return nil
		}
		// An entity with no configs left keeps its znode, empty, as
		// Kafka's does (a user's znode may hold its clients).
		if _, err := s.zk.set(path, encodeConfig(want), st.Version); errors.Is(err, gozk.ErrBadVersion) || errors.Is(err, gozk.ErrNoNode) {
			continue
		} else if err != nil {
			return fmt.Errorf("alter configs of %s: %w", e.Path(), err)
		}
		break
	}
	if _, err := s.zk.create(zkConfigChangesPath+"/"+zkConfigChangePrefix, encodeConfigChange(notification), gozk.FlagSequence); err != nil {
		s.logger.Warn().Err(err).Str("entity", notification).Msg("config change notification not written")
	}
	key := e.Path()
	s.settle(ctx, func(v *zkView) bool { return maps.Equal(v.entityConfigs[key], want) })
	return nil
}

// loadEntityList lists the children of an entity list znode (with a
// watch) and marks what to read: entities not known yet, and each user's
// children (its per-client entities). Entities gone from the list leave
// the view.
func (c *cacheLoop) loadEntityList(p string) error {
	names, err := c.readChildren(p)
	if err != nil {
		return err
	}
	present := map[string]bool{}
	for _, name := range names {
		child := p + "/" + name
		switch {
		case p == zkUserConfigsPath:
			c.dirty.entityLists[child] = true // its clients
		case strings.Count(p, "/") == 3: // /config/users/<u>
			if name == controller.EntityClients {
				c.dirty.entityLists[child] = true
			}
			continue
		}
		e, ok := entityOfZKPath(child)
		if !ok {
			continue
		}
		present[e.Path()] = true
		if _, known := c.s.view.entityConfigs[e.Path()]; !known {
			c.dirty.entities[child] = true
		}
	}
	if strings.Count(p, "/") == 3 {
		return nil
	}
	// Entities listed under p that are gone (a user's per-client
	// entities go with their user's list only when the user's znode is
	// gone, which removes them from its own clients list first).
	for path := range c.s.view.entityConfigs {
		znode, _ := zkEntityPath(mustParseEntity(path))
		if znode[:strings.LastIndexByte(znode, '/')] == p && !present[path] {
			c.setEntity(path, nil)
		}
	}
	return nil
}

// loadEntity reads one entity znode (with a watch).
func (c *cacheLoop) loadEntity(p string) error {
	e, ok := entityOfZKPath(p)
	if !ok {
		return nil
	}
	data, _, exists, err := c.readData(p)
	if err != nil {
		return err
	}
	var configs map[string]string
	if exists {
		if configs, err = decodeConfig(data); err != nil {
			c.logger.Warn().Err(err).Str("entity", e.Path()).Msg("unreadable entity config")
		}
	}
	c.setEntity(e.Path(), configs)
	return nil
}

// setEntity puts an entity's configs in the view (none: out of it),
// recording the before image for the change it makes.
func (c *cacheLoop) setEntity(path string, configs map[string]string) {
	if len(configs) == 0 {
		configs = nil
	}
	old := c.s.view.entityConfigs[path]
	if maps.Equal(old, configs) {
		if configs == nil {
			// Known as empty: keep the entry so the list does not read
			// it again.
			c.s.mu.Lock()
			c.s.view.entityConfigs[path] = nil
			c.s.mu.Unlock()
		}
		return
	}
	if _, touched := c.batch.entityConfigs[path]; !touched {
		c.batch.entityConfigs[path] = old
	}
	c.s.mu.Lock()
	c.s.view.entityConfigs[path] = configs
	c.s.mu.Unlock()
}

func mustParseEntity(path string) controller.Entity {
	e, _ := controller.ParseEntity(path)
	return e
}
