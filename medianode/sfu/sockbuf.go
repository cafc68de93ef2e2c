package sfu

import (
	"fmt"
	"net"
	"syscall"
)

// DefaultSocketBufferBytes is the receive and send buffer the media
// socket asks the kernel for: at 50–70 k packets/s the kernel's default
// (208 KiB on Linux) overflows in bursts and drops about 1 % of the
// packets; 4 MiB drops none (docs/benchmarks.md, issue 12).
const DefaultSocketBufferBytes = 4 << 20

// SizeSocketBuffers asks the kernel for want bytes of receive and send
// buffer on conn (SO_RCVBUF, SO_SNDBUF) and returns what it granted, in
// the same units (Linux reports twice the usable size; it is halved
// here). The kernel silently caps a request at net.core.rmem_max and
// net.core.wmem_max: when got < want, tell the operator to raise them
// (medianode README, "Socket buffers"). Errors: conn is not a UDP socket,
// or a system call failed.
func SizeSocketBuffers(conn net.PacketConn, want int) (gotRead, gotWrite int, err error) {
	u, ok := conn.(*net.UDPConn)
	if !ok {
		return 0, 0, fmt.Errorf("socket buffers: %T is not a UDP socket", conn)
	}
	if err := u.SetReadBuffer(want); err != nil {
		return 0, 0, fmt.Errorf("socket buffers: SO_RCVBUF: %w", err)
	}
	if err := u.SetWriteBuffer(want); err != nil {
		return 0, 0, fmt.Errorf("socket buffers: SO_SNDBUF: %w", err)
	}
	raw, err := u.SyscallConn()
	if err != nil {
		return 0, 0, fmt.Errorf("socket buffers: %w", err)
	}
	var serr error
	if err := raw.Control(func(fd uintptr) {
		if gotRead, serr = syscall.GetsockoptInt(int(fd), syscall.SOL_SOCKET, syscall.SO_RCVBUF); serr != nil {
			return
		}
		gotWrite, serr = syscall.GetsockoptInt(int(fd), syscall.SOL_SOCKET, syscall.SO_SNDBUF)
	}); err != nil {
		return 0, 0, fmt.Errorf("socket buffers: %w", err)
	}
	if serr != nil {
		return 0, 0, fmt.Errorf("socket buffers: getsockopt: %w", serr)
	}
	return gotRead / 2, gotWrite / 2, nil
}
