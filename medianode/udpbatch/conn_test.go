package udpbatch

import (
	"encoding/binary"
	"errors"
	"net"
	"net/netip"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

func listen(t testing.TB, network, addr string) *net.UDPConn {
	t.Helper()
	pc, err := net.ListenPacket(network, addr)
	require.NoError(t, err)
	t.Cleanup(func() { pc.Close() })
	require.NoError(t, pc.(*net.UDPConn).SetReadBuffer(8<<20))
	return pc.(*net.UDPConn)
}

// receive reads n datagrams (or fails after a quiet second) and returns
// the sequence numbers in their first 4 bytes, in arrival order.
func receive(t *testing.T, rx *net.UDPConn, n int) []uint32 {
	t.Helper()
	var got []uint32
	buf := make([]byte, 2048)
	for len(got) < n {
		require.NoError(t, rx.SetReadDeadline(time.Now().Add(time.Second)))
		m, _, err := rx.ReadFrom(buf)
		if err != nil {
			break
		}
		got = append(got, binary.BigEndian.Uint32(buf[:m]))
	}
	return got
}

// Every datagram arrives, in order, and most leave in batches.
func TestWritesArriveInOrderInBatches(t *testing.T) {
	rx := listen(t, "udp4", "127.0.0.1:0")
	c := New(listen(t, "udp4", "127.0.0.1:0"), Options{})
	defer c.Close()
	const n = 20000
	var received atomic.Int64
	got := make(chan []uint32, 1)
	go func() {
		var seq []uint32
		buf := make([]byte, 2048)
		for len(seq) < n {
			_ = rx.SetReadDeadline(time.Now().Add(time.Second))
			m, _, err := rx.ReadFrom(buf)
			if err != nil {
				break
			}
			seq = append(seq, binary.BigEndian.Uint32(buf[:m]))
			received.Add(1)
		}
		got <- seq
	}()
	pkt := make([]byte, 1200)
	for i := range n {
		binary.BigEndian.PutUint32(pkt, uint32(i))
		w, err := c.WriteTo(pkt, rx.LocalAddr())
		require.NoError(t, err)
		require.Equal(t, len(pkt), w)
		// Stay well within the receiver's socket buffer: loopback drops
		// what does not fit, which is not what this test is about. With
		// the default net.core.rmem_max (208 KiB) the buffer holds ~90
		// datagrams of this size, so keep at most 32 in flight, and wait
		// for a receiver starved by a busy machine rather than overrun it.
		for deadline := time.Now().Add(10 * time.Second); int64(i)-received.Load() > 32 && time.Now().Before(deadline); {
			time.Sleep(100 * time.Microsecond)
		}
	}
	seq := <-got
	require.Equal(t, n, len(seq), "datagrams received")
	for i, v := range seq {
		if uint32(i) != v {
			t.Fatalf("datagram %d arrived as number %d", v, i)
		}
	}
	st := c.Stats()
	require.Equal(t, uint64(n), st.Datagrams)
	require.Zero(t, st.Errors)
	require.Less(t, st.Batches, uint64(n), "some sendmmsg calls carried more than one datagram")
	t.Logf("%d datagrams in %d sendmmsg calls (%.1f per call)", st.Datagrams, st.Batches, float64(st.Datagrams)/float64(st.Batches))
}

// An IPv4 destination on a dual-stack (AF_INET6) socket still goes out.
func TestDualStackSocketSendsToIPv4(t *testing.T) {
	pc, err := net.ListenPacket("udp", "[::]:0")
	if err != nil {
		t.Skipf("no IPv6 socket on this machine: %v", err)
	}
	rx := listen(t, "udp4", "127.0.0.1:0")
	c := New(pc.(*net.UDPConn), Options{})
	defer c.Close()
	pkt := make([]byte, 100)
	for i := range 10 {
		binary.BigEndian.PutUint32(pkt, uint32(i))
		_, err := c.WriteToAddrPort(pkt, rx.LocalAddr().(*net.UDPAddr).AddrPort())
		require.NoError(t, err)
	}
	require.Equal(t, []uint32{0, 1, 2, 3, 4, 5, 6, 7, 8, 9}, receive(t, rx, 10))
	require.Zero(t, c.Stats().Errors, "%v", c.Stats().LastError)
}

// A datagram the kernel refuses is counted and dropped; the ones around
// it still leave.
func TestRefusedDatagramIsDroppedNotTheBatch(t *testing.T) {
	rx := listen(t, "udp4", "127.0.0.1:0")
	c := New(listen(t, "udp4", "127.0.0.1:0"), Options{})
	defer c.Close()
	good := rx.LocalAddr().(*net.UDPAddr).AddrPort()
	bad := netip.MustParseAddrPort("[2001:db8::1]:9") // IPv6 on an IPv4 socket
	pkt := make([]byte, 100)
	for i := range 6 {
		binary.BigEndian.PutUint32(pkt, uint32(i))
		to := good
		if i == 3 {
			to = bad
		}
		_, err := c.WriteToAddrPort(pkt, to)
		require.NoError(t, err)
	}
	require.Equal(t, []uint32{0, 1, 2, 4, 5}, receive(t, rx, 5))
	require.Eventually(t, func() bool { return c.Stats().Errors == 1 }, time.Second, 10*time.Millisecond)
	require.Error(t, c.Stats().LastError)
}

// Close sends what was queued; writes after it fail with net.ErrClosed.
func TestCloseFlushesThenRefuses(t *testing.T) {
	rx := listen(t, "udp4", "127.0.0.1:0")
	pc, err := net.ListenPacket("udp4", "127.0.0.1:0")
	require.NoError(t, err)
	c := New(pc.(*net.UDPConn), Options{})
	pkt := make([]byte, 100)
	for i := range 100 {
		binary.BigEndian.PutUint32(pkt, uint32(i))
		_, err := c.WriteTo(pkt, rx.LocalAddr())
		require.NoError(t, err)
	}
	require.NoError(t, c.Close())
	require.Len(t, receive(t, rx, 100), 100)
	_, err = c.WriteTo(pkt, rx.LocalAddr())
	require.True(t, errors.Is(err, net.ErrClosed), "got %v", err)
	require.ErrorIs(t, c.Close(), net.ErrClosed)
}

// Writes inside Hold … Release leave together, sent by the Release.
func TestHoldSendsOneFanOutAsOneBatch(t *testing.T) {
	rx := listen(t, "udp4", "127.0.0.1:0")
	c := New(listen(t, "udp4", "127.0.0.1:0"), Options{})
	defer c.Close()
	pkt := make([]byte, 100)
	c.Hold()
	for i := range 10 {
		binary.BigEndian.PutUint32(pkt, uint32(i))
		_, err := c.WriteTo(pkt, rx.LocalAddr())
		require.NoError(t, err)
	}
	time.Sleep(50 * time.Millisecond)
	require.Zero(t, c.Stats().Datagrams, "nothing leaves while the hold is open")
	c.Release()
	require.Equal(t, Stats{Datagrams: 10, Batches: 1}, c.Stats(), "the release sends the ten in one call")
	require.Equal(t, []uint32{0, 1, 2, 3, 4, 5, 6, 7, 8, 9}, receive(t, rx, 10))
}

// Many goroutines writing in overlapping holds to many destinations:
// every datagram arrives, each destination's in order.
func TestConcurrentHoldsKeepEachDestinationsOrder(t *testing.T) {
	const dests, writers, per = 8, 4, 500
	var rxs []*net.UDPConn
	for range dests {
		rxs = append(rxs, listen(t, "udp4", "127.0.0.1:0"))
	}
	c := New(listen(t, "udp4", "127.0.0.1:0"), Options{})
	defer c.Close()
	var wg sync.WaitGroup
	for w := range writers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			pkt := make([]byte, 100)
			for i := range per {
				c.Hold()
				// Writer w owns destinations w and w+writers: one stream each.
				for _, d := range []int{w, w + writers} {
					binary.BigEndian.PutUint32(pkt, uint32(i))
					_, _ = c.WriteTo(pkt, rxs[d].LocalAddr())
				}
				c.Release()
				if i%50 == 49 {
					time.Sleep(time.Millisecond) // stay within the receivers' buffers
				}
			}
		}()
	}
	wg.Wait()
	for d, rx := range rxs {
		got := receive(t, rx, per)
		require.Len(t, got, per, "destination %d", d)
		for i, v := range got {
			if uint32(i) != v {
				t.Fatalf("destination %d: datagram %d arrived as number %d", d, v, i)
			}
		}
	}
}

// BenchmarkWrite compares a plain socket's WriteToUDPAddrPort (one
// sendto per datagram) with the batched Conn, 1200-byte datagrams to
// one loopback receiver nobody reads (the kernel drops them once its
// buffer is full; the sender's cost is what is measured).
func BenchmarkWrite(b *testing.B) {
	rx := listen(b, "udp4", "127.0.0.1:0")
	to := rx.LocalAddr().(*net.UDPAddr).AddrPort()
	pkt := make([]byte, 1200)
	b.Run("sendto", func(b *testing.B) {
		tx := listen(b, "udp4", "127.0.0.1:0")
		b.SetBytes(int64(len(pkt)))
		b.ReportAllocs()
		for b.Loop() {
			_, _ = tx.WriteToUDPAddrPort(pkt, to)
		}
	})
	b.Run("batched", func(b *testing.B) {
		c := New(listen(b, "udp4", "127.0.0.1:0"), Options{})
		b.SetBytes(int64(len(pkt)))
		b.ReportAllocs()
		for b.Loop() {
			_, _ = c.WriteToAddrPort(pkt, to)
		}
		c.Close() // waits for the queue to leave: part of the cost
		st := c.Stats()
		b.ReportMetric(float64(st.Datagrams)/float64(max(st.Batches, 1)), "datagrams/call")
	})
	b.Run("held-fanout-10", func(b *testing.B) {
		c := New(listen(b, "udp4", "127.0.0.1:0"), Options{})
		b.SetBytes(int64(len(pkt)))
		b.ReportAllocs()
		i := 0
		for b.Loop() {
			if i%10 == 0 {
				c.Hold()
			}
			_, _ = c.WriteToAddrPort(pkt, to)
			if i%10 == 9 {
				c.Release()
			}
			i++
		}
		if i%10 != 0 {
			c.Release()
		}
		c.Close()
		st := c.Stats()
		b.ReportMetric(float64(st.Datagrams)/float64(max(st.Batches, 1)), "datagrams/call")
	})
}
