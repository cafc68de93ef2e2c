package sfu

import (
	"net"
	"testing"

	"github.com/stretchr/testify/require"
)

// TestSizeSocketBuffers: a request the kernel allows is granted; a
// request above its cap comes back smaller (the caller warns); a TCP
// listener is refused with an error that says why.
func TestSizeSocketBuffers(t *testing.T) {
	conn, err := net.ListenPacket("udp4", "127.0.0.1:0")
	require.NoError(t, err)
	defer conn.Close()
	r, w, err := SizeSocketBuffers(conn, 64<<10)
	require.NoError(t, err)
	require.Equal(t, 64<<10, r)
	require.Equal(t, 64<<10, w)
	r, _, err = SizeSocketBuffers(conn, 1<<30)
	require.NoError(t, err)
	require.Less(t, r, 1<<30, "the kernel caps a 1 GiB request")

	_, _, err = SizeSocketBuffers(nil, 1)
	require.ErrorContains(t, err, "not a UDP socket")
}
