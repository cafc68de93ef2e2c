package receipts

import (
	"encoding/binary"
	"errors"
	"fmt"
	"hash/crc32"
	"math"
	"time"

	"github.com/chroom/chroom/format"
)

// ErrCorrupt marks a stored value that cannot be decoded: bad length,
// unknown version, checksum mismatch or an undecodable receipt.
var ErrCorrupt = errors.New("corrupt receipt entry")

// Entry is one queued signed receipt.
type Entry struct {
	// ID is the store's id for the receipt: assigned by Put, strictly
	// increasing, never reused (also across restarts).
	ID uint64
	// Receipt is the signed receipt as it was put.
	Receipt *format.SignedReceipt
	// CreatedAt is when Put stored it (the node's wall clock, nanosecond
	// precision).
	CreatedAt time.Time
	// Attempts counts MarkAttempt calls for this entry: how many times it
	// was sent without an acknowledgement yet.
	Attempts int
}

// A stored value is, all integers big-endian:
//
//	offset  size  field
//	0       1     version (entryVersion)
//	1       4     CRC-32C (Castagnoli) of bytes 5…end
//	5       8     created_at, Unix nanoseconds (int64)
//	13      4     attempts (uint32, saturating)
//	17      …     gogoproto encoding of format.SignedReceipt
//
// The key is the 8-byte big-endian id, so a cursor walks oldest first.
const (
	entryVersion    = 1
	entryHeaderSize = 17
	keySize         = 8
)

var castagnoli = crc32.MakeTable(crc32.Castagnoli)

func idKey(id uint64) []byte { return binary.BigEndian.AppendUint64(make([]byte, 0, keySize), id) }

// encodeEntry returns a new value holding payload (an encoded
// format.SignedReceipt).
func encodeEntry(createdAt time.Time, attempts uint32, payload []byte) []byte {
	v := make([]byte, entryHeaderSize+len(payload))
	v[0] = entryVersion
	binary.BigEndian.PutUint64(v[5:13], uint64(createdAt.UnixNano()))
	binary.BigEndian.PutUint32(v[13:17], attempts)
	copy(v[entryHeaderSize:], payload)
	binary.BigEndian.PutUint32(v[1:5], crc32.Checksum(v[5:], castagnoli))
	return v
}

// checkValue verifies a value's length, version and checksum.
func checkValue(v []byte) error {
	if len(v) < entryHeaderSize {
		return fmt.Errorf("%w: value is %d bytes, shorter than the %d-byte header", ErrCorrupt, len(v), entryHeaderSize)
	}
	if v[0] != entryVersion {
		return fmt.Errorf("%w: unknown version %d", ErrCorrupt, v[0])
	}
	if got, want := crc32.Checksum(v[5:], castagnoli), binary.BigEndian.Uint32(v[1:5]); got != want {
		return fmt.Errorf("%w: checksum %08x, stored %08x", ErrCorrupt, got, want)
	}
	return nil
}

// decodeEntry decodes a key/value pair of the queue bucket. It never
// panics; every failure wraps ErrCorrupt. The returned receipt does not
// alias v (bbolt values are only valid inside their transaction).
func decodeEntry(k, v []byte) (e Entry, err error) {
	defer func() {
		// gogoproto's generated decoder checks bounds; this is a last line
		// of defence so a damaged file can never take the node down.
		if r := recover(); r != nil {
			e, err = Entry{}, fmt.Errorf("%w: decoder panicked: %v", ErrCorrupt, r)
		}
	}()
	if len(k) != keySize {
		return Entry{}, fmt.Errorf("%w: key is %d bytes, want %d", ErrCorrupt, len(k), keySize)
	}
	id := binary.BigEndian.Uint64(k)
	if id == 0 {
		return Entry{}, fmt.Errorf("%w: id 0 is never assigned", ErrCorrupt)
	}
	if err := checkValue(v); err != nil {
		return Entry{}, fmt.Errorf("entry %d: %w", id, err)
	}
	s := new(format.SignedReceipt)
	if err := s.Unmarshal(v[entryHeaderSize:]); err != nil {
		return Entry{}, fmt.Errorf("entry %d: %w: decode signed receipt: %v", id, ErrCorrupt, err)
	}
	if s.Receipt == nil {
		return Entry{}, fmt.Errorf("entry %d: %w: signed receipt has no receipt", id, ErrCorrupt)
	}
	return Entry{
		ID:        id,
		Receipt:   s,
		CreatedAt: time.Unix(0, int64(binary.BigEndian.Uint64(v[5:13]))),
		Attempts:  int(binary.BigEndian.Uint32(v[13:17])),
	}, nil
}

// withAttempt returns a copy of the (checked) value v with its attempt
// counter incremented, saturating at math.MaxUint32.
func withAttempt(v []byte) []byte {
	out := append([]byte(nil), v...)
	if n := binary.BigEndian.Uint32(out[13:17]); n < math.MaxUint32 {
		binary.BigEndian.PutUint32(out[13:17], n+1)
	}
	binary.BigEndian.PutUint32(out[1:5], crc32.Checksum(out[5:], castagnoli))
	return out
}
