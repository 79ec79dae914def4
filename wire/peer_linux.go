package wire

import (
	"net"

	"golang.org/x/sys/unix"
)

// peerClosedFunc returns a check of whether the client of a TCP connection
// has closed its side, told by the socket's state (CLOSE_WAIT once its FIN
// arrived) without reading the bytes queued before the FIN.
func peerClosedFunc(nc net.Conn) func() bool {
	tc, ok := nc.(*net.TCPConn)
	if !ok {
		return nil
	}
	rc, err := tc.SyscallConn()
	if err != nil {
		return nil
	}
	return func() bool {
		gone := false
		err := rc.Control(func(fd uintptr) {
			info, err := unix.GetsockoptTCPInfo(int(fd), unix.IPPROTO_TCP, unix.TCP_INFO)
			if err != nil {
				gone = true
				return
			}
			switch info.State {
			case unix.BPF_TCP_CLOSE_WAIT, unix.BPF_TCP_CLOSE, unix.BPF_TCP_LAST_ACK:
				gone = true
			}
		})
		return gone || err != nil
	}
}
