package embedded

import "errors"

// The errors the fault controls return, wrapped with the broker's ID.
var (
	// ErrUnknownBroker: the cluster has no broker with that broker.id.
	ErrUnknownBroker = errors.New("embedded: no such broker")
	// ErrNotRunning: the broker was killed or stopped (Restart it).
	ErrNotRunning = errors.New("embedded: broker is not running")
	// ErrRunning: Restart of a broker that runs.
	ErrRunning = errors.New("embedded: broker is running")
	// ErrPaused: the broker is paused (Resume or Kill it first).
	ErrPaused = errors.New("embedded: broker is paused")
	// ErrNotPaused: Resume of a broker that is not paused.
	ErrNotPaused = errors.New("embedded: broker is not paused")
	// ErrClosed: the cluster was closed.
	ErrClosed = errors.New("embedded: cluster closed")
)
