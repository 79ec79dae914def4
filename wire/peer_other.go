//go:build !linux

package wire

import "net"

// peerClosedFunc: elsewhere than Linux a waiting connection learns that
// its client left only once it reads again.
func peerClosedFunc(net.Conn) func() bool { return nil }
