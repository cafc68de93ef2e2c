package chain

// ExpectedSequence is the parser of CheckTx's sequence-mismatch log.
var ExpectedSequence = expectedSequence

// SignDirect is the SIGN_MODE_DIRECT tx builder Prepare signs with.
var SignDirect = signDirect
