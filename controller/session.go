package controller

// Session states of a cluster store's metadata session, as monitoring
// reports them (Kafka's SessionState gauge, which names ZooKeeper's
// client states).
const (
	SessionConnected    = "CONNECTED"    // a live session: the broker is registered
	SessionConnecting   = "CONNECTING"   // (re)connecting, the session not confirmed yet
	SessionDisconnected = "DISCONNECTED" // connection lost; the session may still live
	SessionExpired      = "EXPIRED"      // the session ended; registration is gone
	SessionAuthFailed   = "AUTH_FAILED"
	SessionClosed       = "CLOSED" // the store was closed
)

// SessionStates lists every session state, in the order above.
func SessionStates() []string {
	return []string{SessionConnected, SessionConnecting, SessionDisconnected, SessionExpired, SessionAuthFailed, SessionClosed}
}

// SessionStater is a store with a session to a metadata service
// (ZooKeeper, or its in-process twin). The single-broker LocalStore has
// none: it is connected while it is open.
type SessionStater interface {
	// SessionService names the service the session is with
	// ("zookeeper", "embedded"), as monitoring labels it.
	SessionService() string
	// SessionState is one of the Session* states above.
	SessionState() string
}
