// Package udpbatch sends a UDP socket's datagrams in batches: one
// sendmmsg(2) system call carries every datagram queued since the last one.
//
// An SFU writes each media packet once per subscriber, and on Linux the
// sendto(2) per datagram is most of its CPU (docs/benchmarks.md, issue 12).
// Conn wraps a *net.UDPConn as a net.PacketConn (and Pion ICE's
// AddrPortReaderWriter, so Pion's UDP mux writes to it without
// allocating): WriteTo copies the datagram into a queue and returns; one
// flusher goroutine hands the whole queue to the kernel with
// golang.org/x/net's WriteBatch (sendmmsg on Linux, one sendmsg per
// datagram elsewhere). Nothing waits on a timer: while the flusher is in a
// system call, the writers fill the next batch (group commit), so batches
// grow with the load and an idle socket sends a lone datagram at once.
//
// Semantics that differ from a plain *net.UDPConn:
//   - WriteTo reports success once the datagram is queued; a send error
//     (an unreachable destination, a firewall's EPERM) is counted in Stats
//     and the datagram dropped, as the network would drop it.
//   - Datagrams to one destination leave in the order they were written.
//   - WriteTo blocks while MaxQueue datagrams are waiting (backpressure,
//     as a full socket buffer does) and fails with net.ErrClosed after
//     Close. Write deadlines are ignored (a queued write cannot block).
//   - Memory: at most 2 × MaxQueue buffers of 1500 bytes (queued plus in
//     flight), 3 MiB by default, reused; queuing does not allocate once
//     they exist, and x/net's WriteBatch allocates once per call.
//
// A forwarding loop that writes one packet to many destinations can bracket
// the writes with Hold and Release: while any Hold is open, writes are not
// handed to the flusher goroutine; each Release sends what is queued
// itself, in its own goroutine. That saves the flusher's wake-up (a futex
// and a scheduler pass) per packet, makes the batch one fan-out, and lets
// forwarders on different cores send at the same time. A queue of
// MaxBatch datagrams wakes the flusher whatever the holds.
//
// The queue is split into shards by destination (one per core, up to 8),
// each sent by one goroutine at a time: a destination's datagrams stay in
// order, and two forwarding goroutines releasing at once send different
// shards in parallel instead of queuing behind one system call.
//
// Reads pass straight through to the socket.
//
// Dual-stack sockets: an IPv4 destination on an AF_INET6 socket is sent
// with an AF_INET address, which Linux's udpv6_sendmsg accepts on a
// socket that is not IPV6_V6ONLY (tested in conn_test.go).
package udpbatch

import (
	"net"
	"net/netip"
	"runtime"
	"sync"
	"sync/atomic"
	"time"

	"golang.org/x/net/ipv4"
)

// Defaults for Options.
const (
	// DefaultMaxBatch is the most datagrams one sendmmsg call carries.
	DefaultMaxBatch = 64
	// DefaultMaxQueue is how many datagrams may wait (over all shards)
	// before WriteTo blocks.
	DefaultMaxQueue = 1024
	// bufferSize is the capacity of a queued datagram's buffer; larger
	// datagrams get a buffer of their own.
	bufferSize = 1500
)

// Options tunes a Conn; zero values take the defaults.
type Options struct {
	MaxBatch int // datagrams per sendmmsg call (1–1024)
	MaxQueue int // datagrams waiting, over all shards (each holds MaxQueue/shards), before WriteTo blocks
}

// Stats counts what a Conn sent since it was made.
type Stats struct {
	Datagrams uint64 // handed to the kernel successfully
	Batches   uint64 // sendmmsg calls (Datagrams / Batches is the mean batch)
	Errors    uint64 // datagrams the kernel refused (dropped)
	LastError error  // the latest refusal, nil if none
}

type slot struct {
	buf  []byte
	addr net.UDPAddr
	ip   [16]byte
}

// shard is the queue of the destinations that hash to it.
type shard struct {
	sendMu  sync.Mutex     // one batch of this shard in the kernel at a time: keeps order
	msgs    []ipv4.Message // sendmmsg headers; under sendMu
	pending atomic.Bool    // a flush found sendMu taken and left its batch to the holder

	mu    sync.Mutex
	space *sync.Cond // signalled when the queue shrinks or the conn closes
	queue []*slot
	spare []*slot // the last sent batch's slice, reused as the next queue
	free  []*slot
}

// Conn is a UDP socket whose writes are batched; see the package comment.
type Conn struct {
	conn *net.UDPConn
	bw   *ipv4.PacketConn // WriteBatch is family-neutral (x/net/internal/socket)

	maxBatch, maxQueue int // maxQueue per shard
	shards             []*shard
	holds              atomic.Int32 // open Hold calls
	closed             atomic.Bool

	wake   chan struct{}
	done   chan struct{} // closed by Close
	exited chan struct{} // closed by the flusher when it has sent everything

	datagrams, batches, errors atomic.Uint64
	lastErr                    atomic.Pointer[error]
}

// New starts batching writes on conn; Close closes conn too.
func New(conn *net.UDPConn, o Options) *Conn {
	if o.MaxBatch <= 0 || o.MaxBatch > 1024 {
		o.MaxBatch = DefaultMaxBatch
	}
	if o.MaxQueue <= 0 {
		o.MaxQueue = DefaultMaxQueue
	}
	n := min(max(runtime.GOMAXPROCS(0), 1), 8)
	c := &Conn{
		conn:     conn,
		bw:       ipv4.NewPacketConn(conn),
		maxBatch: o.MaxBatch,
		maxQueue: max(o.MaxQueue/n, 1),
		wake:     make(chan struct{}, 1),
		done:     make(chan struct{}),
		exited:   make(chan struct{}),
	}
	for range n {
		sh := &shard{msgs: make([]ipv4.Message, c.maxBatch)}
		sh.space = sync.NewCond(&sh.mu)
		for i := range sh.msgs {
			sh.msgs[i].Buffers = make([][]byte, 1)
		}
		c.shards = append(c.shards, sh)
	}
	go c.flushLoop()
	return c
}

// WriteTo queues b for addr (a *net.UDPAddr; other address types are
// written directly). It returns len(b) once queued.
func (c *Conn) WriteTo(b []byte, addr net.Addr) (int, error) {
	ua, ok := addr.(*net.UDPAddr)
	if !ok {
		return c.conn.WriteTo(b, addr)
	}
	return c.WriteToAddrPort(b, ua.AddrPort())
}

// WriteToAddrPort queues b for addr without allocating (Pion ICE's
// AddrPortReaderWriter).
func (c *Conn) WriteToAddrPort(b []byte, addr netip.AddrPort) (int, error) {
	ip := addr.Addr().As16()
	sh := c.shards[(int(addr.Port())+int(ip[15]))%len(c.shards)]
	sh.mu.Lock()
	for len(sh.queue) >= c.maxQueue && !c.closed.Load() {
		sh.space.Wait()
	}
	if c.closed.Load() {
		sh.mu.Unlock()
		return 0, net.ErrClosed
	}
	var s *slot
	if n := len(sh.free); n > 0 {
		s = sh.free[n-1]
		sh.free = sh.free[:n-1]
	} else {
		s = &slot{buf: make([]byte, 0, bufferSize)}
	}
	s.buf = append(s.buf[:0], b...)
	s.ip = ip
	if addr.Addr().Is4() || addr.Addr().Is4In6() {
		s.addr.IP = s.ip[12:16]
	} else {
		s.addr.IP = s.ip[:]
	}
	s.addr.Port = int(addr.Port())
	s.addr.Zone = addr.Addr().Zone()
	sh.queue = append(sh.queue, s)
	n := len(sh.queue)
	sh.mu.Unlock()
	// Checked after the append: a Hold open at this load is released
	// after it, and that Release sends this datagram; with none open, the
	// flusher must.
	if (n == 1 && c.holds.Load() == 0) || n == c.maxBatch {
		select {
		case c.wake <- struct{}{}:
		default:
		}
	}
	return len(b), nil
}

// Hold defers sending until the matching Release (see the package
// comment). Holds nest and may overlap across goroutines.
func (c *Conn) Hold() { c.holds.Add(1) }

// Release closes a Hold and sends what is queued, in the calling
// goroutine (shards another goroutine is sending are left to it).
func (c *Conn) Release() {
	c.holds.Add(-1)
	c.flush(false)
}

// flush sends every shard's queue. A shard another goroutine is sending
// is left to it unless wait is set (see flushShard).
func (c *Conn) flush(wait bool) {
	for _, sh := range c.shards {
		c.flushShard(sh, wait)
	}
}

// flushShard sends what sh has queued. If another goroutine is sending
// sh, it leaves a note (pending) and returns: that goroutine sends again
// when it finds the note after its batch, so nothing queued is left
// behind and no goroutine waits for another's system call.
func (c *Conn) flushShard(sh *shard, wait bool) {
	for {
		if wait {
			sh.sendMu.Lock()
		} else if !sh.sendMu.TryLock() {
			sh.pending.Store(true)
			// The sender may have finished between the two lines above,
			// before it could see the note: try once more.
			if !sh.sendMu.TryLock() {
				return
			}
		}
		sh.pending.Store(false)
		sh.mu.Lock()
		batch := sh.queue
		sh.queue = sh.spare[:0]
		sh.space.Broadcast()
		sh.mu.Unlock()
		if len(batch) > 0 {
			c.send(batch, sh.msgs)
		}
		sh.mu.Lock()
		sh.free = append(sh.free, batch...)
		clear(batch)
		sh.spare = batch[:0]
		sh.mu.Unlock()
		sh.sendMu.Unlock()
		if !sh.pending.Load() {
			return
		}
	}
}

// flushLoop sends whatever is queued each time it is woken, until Close;
// then it sends what is left and returns.
func (c *Conn) flushLoop() {
	defer close(c.exited)
	for {
		select {
		case <-c.wake:
			c.flush(false)
		case <-c.done:
			c.flush(true)
			return
		}
	}
}

// send hands batch to the kernel maxBatch datagrams per call, skipping
// (and counting) a datagram the kernel refuses.
func (c *Conn) send(batch []*slot, msgs []ipv4.Message) {
	for len(batch) > 0 {
		n := min(len(batch), len(msgs))
		for i := range n {
			msgs[i].Buffers[0] = batch[i].buf
			msgs[i].Addr = &batch[i].addr
		}
		sent, err := c.bw.WriteBatch(msgs[:n], 0)
		if sent > 0 {
			c.datagrams.Add(uint64(sent))
		}
		c.batches.Add(1)
		if err != nil || sent <= 0 {
			// sendmmsg fails only on its first datagram: drop it.
			if err != nil {
				c.lastErr.Store(&err)
			}
			c.errors.Add(1)
			sent = 1
		}
		batch = batch[sent:]
	}
	for i := range msgs {
		msgs[i].Buffers[0] = nil
		msgs[i].Addr = nil
	}
}

// Stats returns what the Conn has sent so far.
func (c *Conn) Stats() Stats {
	s := Stats{Datagrams: c.datagrams.Load(), Batches: c.batches.Load(), Errors: c.errors.Load()}
	if e := c.lastErr.Load(); e != nil {
		s.LastError = *e
	}
	return s
}

// ReadFrom reads one datagram from the socket.
func (c *Conn) ReadFrom(b []byte) (int, net.Addr, error) { return c.conn.ReadFrom(b) }

// ReadFromAddrPort reads one datagram without allocating (Pion ICE's
// AddrPortReaderWriter).
func (c *Conn) ReadFromAddrPort(b []byte) (int, netip.AddrPort, error) {
	return c.conn.ReadFromUDPAddrPort(b)
}

// Close sends what is queued, stops the flusher and closes the socket.
func (c *Conn) Close() error {
	if c.closed.Swap(true) {
		return net.ErrClosed
	}
	for _, sh := range c.shards {
		sh.mu.Lock()
		sh.space.Broadcast()
		sh.mu.Unlock()
	}
	close(c.done)
	<-c.exited // the last datagrams leave before the socket closes
	return c.conn.Close()
}

// LocalAddr is the socket's address.
func (c *Conn) LocalAddr() net.Addr { return c.conn.LocalAddr() }

// SetDeadline sets the read deadline (writes do not block; see the package comment).
func (c *Conn) SetDeadline(t time.Time) error { return c.conn.SetReadDeadline(t) }

// SetReadDeadline sets the socket's read deadline.
func (c *Conn) SetReadDeadline(t time.Time) error { return c.conn.SetReadDeadline(t) }

// SetWriteDeadline is a no-op: a queued write does not block.
func (c *Conn) SetWriteDeadline(time.Time) error { return nil }

// UDPConn is the wrapped socket (for sizing its buffers, say).
func (c *Conn) UDPConn() *net.UDPConn { return c.conn }
