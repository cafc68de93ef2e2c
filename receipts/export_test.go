package receipts

import "time"

// Internals the external tests reach.

// DecodeEntry is the queue value decoder.
func DecodeEntry(key, value []byte) (Entry, error) { return decodeEntry(key, value) }

// EncodeEntry is the queue value encoder.
func EncodeEntry(createdAt time.Time, attempts uint32, payload []byte) []byte {
	return encodeEntry(createdAt, attempts, payload)
}

// IDKey is the queue key of an id.
func IDKey(id uint64) []byte { return idKey(id) }

// QueueBucket and CorruptBucket name the store's buckets.
var QueueBucket, CorruptBucket = queueBucket, corruptBucket
