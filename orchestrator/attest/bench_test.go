package attest_test

import (
	"testing"

	"github.com/chroom/chroom/format"
)

// BenchmarkIntake is the cost of one receipt through Intake: checks, a
// signature verification, a countersignature and two fsynced writes (queue
// and index).
func BenchmarkIntake(b *testing.B) {
	e := newEnv(b)
	rs := make([]*format.SignedReceipt, b.N)
	for i := range rs {
		rs[i] = signed(b, mediaKey, 7, i+1)
	}
	b.ResetTimer()
	for i := range rs {
		if _, _, err := e.p.Intake(mediaKey.ID, rs[i:i+1]); err != nil {
			b.Fatal(err)
		}
	}
}
