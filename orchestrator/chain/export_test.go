package chain

// ExpectedSequence is the parser of CheckTx's sequence-mismatch log.
var ExpectedSequence = expectedSequence
