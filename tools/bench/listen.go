package main

import "net"

type netListener = net.Listener

// listenLoopback listens on a free loopback port the kernel picks.
func listenLoopback(network string) (net.Listener, error) {
	return net.Listen(network, "127.0.0.1:0")
}
