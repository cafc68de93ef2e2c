package chain

// ExpectedSequence is the parser of CheckTx's sequence-mismatch log.
var ExpectedSequence = expectedSequence

// SignDirect is the SIGN_MODE_DIRECT tx builder Prepare signs with.
var SignDirect = signDirect

// NewGasTestSubmitter is a Submitter with only its gas settings, for
// tests of Gas and the out-of-gas rule.
func NewGasTestSubmitter(base, perReceipt uint64) *Submitter {
	return &Submitter{cfg: SubmitterConfig{GasBase: base, GasPerReceipt: perReceipt}, gasScale: 1}
}

// RanOutOfGas exposes ranOutOfGas.
func (s *Submitter) RanOutOfGas(r Result) { s.ranOutOfGas(r) }
