package ingest

import (
	"crypto/rand"
	"encoding/binary"
	"time"

	"github.com/google/uuid"
)

// idsPerRead is how many ids' worth of random bytes idGenerator reads at
// once.
const idsPerRead = 64

// idGenerator assigns UUIDv7 event ids (RFC 9562) within one request. The
// ids of a request share one millisecond timestamp and count up in the
// 12-bit rand_a field, so they sort in request order. The remaining 62 bits
// are random. uuid.NewV7 takes one process-wide lock per id, which the
// mutex profile of batch ingestion showed as the largest source of
// contention.
type idGenerator struct {
	millis   int64
	sequence uint16
	started  bool
	// expected is how many ids the request may need, which sizes the
	// first read of random bytes.
	expected int
	random   []byte
}

func newIDGenerator(now time.Time, expected int) *idGenerator {
	return &idGenerator{millis: now.UnixMilli(), expected: expected}
}

// newSingleID returns the id of a request's only event, made as the first
// id of newIDGenerator(now, 1) is. Its random bytes and generator stay on
// the stack, where newIDGenerator allocates both.
func newSingleID(now time.Time) uuid.UUID {
	var random [16]byte
	_, _ = rand.Read(random[:]) // crypto/rand.Read never returns an error.

	g := idGenerator{millis: now.UnixMilli(), expected: 1, random: random[:]}
	g.start()

	return g.next()
}

// start draws the first sequence number from the unused random bytes.
func (g *idGenerator) start() {
	// A random start of at most 2047 keeps requests of the same
	// millisecond apart in rand_a too, and leaves room for the
	// MaxBatchEvents ids of a batch before rand_a overflows.
	g.sequence = binary.BigEndian.Uint16(g.random[0:2]) & 0x07ff
	g.started = true
}

func (g *idGenerator) next() uuid.UUID {
	if len(g.random) < 16 {
		g.random = make([]byte, 16*min(max(g.expected, 1), idsPerRead))
		_, _ = rand.Read(g.random) // crypto/rand.Read never returns an error.

		if !g.started {
			g.start()
		}
	}

	if g.sequence > 0x0fff {
		g.millis++
		g.sequence = 0
	}

	var id uuid.UUID
	copy(id[:], g.random[:16])
	g.random = g.random[16:]

	millis := uint64(g.millis)
	id[0] = byte(millis >> 40)
	id[1] = byte(millis >> 32)
	id[2] = byte(millis >> 24)
	id[3] = byte(millis >> 16)
	id[4] = byte(millis >> 8)
	id[5] = byte(millis)
	id[6] = 0x70 | byte(g.sequence>>8)
	id[7] = byte(g.sequence)
	id[8] = 0x80 | id[8]&0x3f
	g.sequence++

	return id
}
