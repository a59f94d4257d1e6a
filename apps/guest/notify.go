package main

import (
	"log"
	"net"
	"os"
)

// notifyReady tells systemd that the boot-time setup is done, for images that run the agent as a
// Type=notify service ordered before cloud-init: cloud-init must find the hostname, the network
// and the NoCloud seed in place when it starts. A no-op under any other init. The variable is
// dropped afterwards so that processes the agent starts (exec, the app) do not inherit it.
func notifyReady() {
	sock := os.Getenv("NOTIFY_SOCKET")
	if sock == "" {
		return
	}
	os.Unsetenv("NOTIFY_SOCKET")
	if sock[0] == '@' {
		sock = "\x00" + sock[1:] // an abstract socket
	}
	conn, err := net.DialUnix("unixgram", nil, &net.UnixAddr{Name: sock, Net: "unixgram"})
	if err != nil {
		log.Printf("telling systemd the agent is ready: %v", err)
		return
	}
	defer conn.Close()
	if _, err := conn.Write([]byte("READY=1")); err != nil {
		log.Printf("telling systemd the agent is ready: %v", err)
	}
}
