package chain

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"time"

	sdkmath "cosmossdk.io/math"
	codectypes "github.com/cosmos/cosmos-sdk/codec/types"
	"github.com/cosmos/cosmos-sdk/crypto/keyring"
	sdk "github.com/cosmos/cosmos-sdk/types"
	sdkerrors "github.com/cosmos/cosmos-sdk/types/errors"
	txtypes "github.com/cosmos/cosmos-sdk/types/tx"
	"github.com/cosmos/cosmos-sdk/types/tx/signing"
	"github.com/cosmos/gogoproto/proto"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	"github.com/chroom/chroom/format"
	verificationtypes "github.com/chroom/chroom/x/verification/types"
)

const (
	// KeyringAppName is the keyring service name chroomd uses (app.AppName).
	KeyringAppName = "chroom"
	// DefaultKeyringBackend is chroomd's default keyring backend.
	DefaultKeyringBackend = keyring.BackendOS
	// DefaultGasBase is the gas limit of a MsgSubmitReceipts tx before its
	// receipts.
	DefaultGasBase = 200_000
	// DefaultGasPerReceipt is the gas limit added per receipt: an attested
	// receipt billed to an app uses about 30,000 (four signatures, the
	// escrow debit, tallies, the replay marker, its bytes).
	DefaultGasPerReceipt = 40_000
	// maxGasScale bounds how far out-of-gas failures raise the per-receipt
	// gas (Gas).
	maxGasScale = 8.0
	// DefaultTimeoutBlocks is how many blocks after the latest one a
	// prepared tx stays valid (its timeout height).
	DefaultTimeoutBlocks = 20
	// DefaultInclusionTimeout is how long Broadcast waits for the tx to
	// appear in a block.
	DefaultInclusionTimeout = time.Minute
	// DefaultTxPollInterval is how often Broadcast asks whether the tx is
	// in a block.
	DefaultTxPollInterval = 500 * time.Millisecond
	// ExpiryMarginBlocks is how many blocks past a tx's timeout height must
	// be committed before a tx that is still not found counts as expired:
	// room for the node's tx indexer, which runs behind block commits.
	ExpiryMarginBlocks = 2
)

var (
	// ErrTxNotIncluded means the tx was broadcast (or may have been) but
	// was not seen in a block before the wait ended. It may still be
	// included until it expires.
	ErrTxNotIncluded = errors.New("tx not included yet")
	// ErrTxExpired means the chain is past the tx's timeout height (plus
	// ExpiryMarginBlocks) and the tx is not in any block: it never will be.
	ErrTxExpired = errors.New("tx expired without being included")
	// ErrTxFailed means the tx is in a block but failed as a whole (non-zero
	// code): none of its messages took effect.
	ErrTxFailed = errors.New("tx included but failed")
)

// TxRefusedError is a broadcast that the node's CheckTx refused: the tx is
// not in that node's mempool. (If the same bytes were broadcast before, an
// earlier copy may still be included; see Pipeline in package attest.)
type TxRefusedError struct {
	Hash      string
	Code      uint32
	Codespace string
	Log       string
}

func (e *TxRefusedError) Error() string {
	return fmt.Sprintf("tx %s refused by CheckTx: code %d (%s): %s", e.Hash, e.Code, e.Codespace, e.Log)
}

// SequenceMismatch reports whether the refusal is a wrong account sequence.
func (e *TxRefusedError) SequenceMismatch() bool {
	return e.Codespace == sdkerrors.ErrWrongSequence.Codespace() && e.Code == sdkerrors.ErrWrongSequence.ABCICode()
}

// Tx is a signed MsgSubmitReceipts transaction, ready to broadcast.
type Tx struct {
	// Bytes is the encoded, signed tx.
	Bytes []byte
	// Hash is the tx hash CometBFT indexes it under: SHA-256 of Bytes in
	// uppercase hex.
	Hash string
	// TimeoutHeight is the last height whose block may include the tx.
	TimeoutHeight int64
	// Sequence is the account sequence it was signed with.
	Sequence uint64
	// Receipts is how many receipts it carries.
	Receipts int
}

// TxHash returns the CometBFT hash of tx bytes: SHA-256, uppercase hex.
func TxHash(txBytes []byte) string {
	sum := sha256.Sum256(txBytes)
	return strings.ToUpper(hex.EncodeToString(sum[:]))
}

// Expired reports whether a chain at height latest can no longer include
// a tx with this timeout height (with ExpiryMarginBlocks to spare for
// indexing). A tx without a timeout height never expires.
func Expired(timeoutHeight, latest int64) bool {
	return timeoutHeight > 0 && latest > timeoutHeight+ExpiryMarginBlocks
}

// Result is the outcome of an included MsgSubmitReceipts tx.
type Result struct {
	TxHash    string
	Height    int64
	Code      uint32 // 0: the message ran; see Accepted and Rejected
	Codespace string
	Log       string
	GasWanted int64
	GasUsed   int64
	// Accepted are indexes into the tx's receipts, ascending.
	Accepted []uint32
	// Rejected are the receipts the chain refused, with reasons
	// (x/verification README, MsgSubmitReceipts).
	Rejected []Rejection
}

// Rejection is one receipt the chain refused.
type Rejection struct {
	// Index is the receipt's position in the tx.
	Index uint32
	// Reason is the x/verification reject reason as a label:
	// REJECT_REASON_STALE_EPOCH → "stale_epoch".
	Reason string
	Detail string
}

func rejectLabel(r verificationtypes.RejectReason) string {
	return strings.ToLower(strings.TrimPrefix(r.String(), "REJECT_REASON_"))
}

// SubmitterConfig configures a Submitter. Zero values take the defaults.
type SubmitterConfig struct {
	// KeyName is the keyring key that signs; its account must operate the
	// orchestrators named in the receipts. Required.
	KeyName string
	// KeyringBackend is os, file, test, … (DefaultKeyringBackend).
	KeyringBackend string
	// KeyringDir is the directory holding the keyring (chroomd's
	// --keyring-dir, by default its home); file and test keys live in
	// KeyringDir/keyring-<backend>.
	KeyringDir string
	// KeyringInput answers passphrase prompts of the file backend.
	KeyringInput io.Reader
	// Keyring, if set, is used instead of opening one from the fields
	// above.
	Keyring keyring.Keyring
	// Fees is the fee paid per tx (default none, i.e. 0uchr).
	Fees sdk.Coins
	// GasPrices, if set, replaces Fees: each tx pays ceil(price × gas
	// limit) of each denom.
	GasPrices sdk.DecCoins
	// GasBase and GasPerReceipt set a tx's gas limit: GasBase +
	// GasPerReceipt × receipts (DefaultGasBase, DefaultGasPerReceipt).
	GasBase       uint64
	GasPerReceipt uint64
	// TimeoutBlocks is how many blocks past the latest a tx stays valid
	// (DefaultTimeoutBlocks).
	TimeoutBlocks int64
	// InclusionTimeout bounds Broadcast's wait for inclusion
	// (DefaultInclusionTimeout).
	InclusionTimeout time.Duration
	// PollInterval is how often Broadcast polls GetTx
	// (DefaultTxPollInterval).
	PollInterval time.Duration
}

// Submitter signs and broadcasts MsgSubmitReceipts with one keyring
// account, SIGN_MODE_DIRECT. It is safe for concurrent use, but callers
// should keep one tx in flight at a time: each Prepare reads the account's
// committed sequence.
type Submitter struct {
	c       *Client
	kr      keyring.Keyring
	cfg     SubmitterConfig
	addr    string
	chainID string

	mu     sync.Mutex
	minSeq uint64 // sequence CheckTx last asked for, if it was ahead of state
	// gasScale multiplies GasPerReceipt: 1, then ×1.5 after every tx that
	// ran out of gas (at most maxGasScale), so a batch that did not fit is
	// not sent again with the same limit forever.
	gasScale float64
}

// NewSubmitter opens the keyring, checks that it holds cfg.KeyName and
// reads the chain ID from the node. A missing key is an error naming the
// key, the backend and the keyring directory.
func NewSubmitter(ctx context.Context, c *Client, cfg SubmitterConfig) (*Submitter, error) {
	if cfg.KeyName == "" {
		return nil, errors.New("submitter: key name is empty")
	}
	if cfg.KeyringBackend == "" {
		cfg.KeyringBackend = DefaultKeyringBackend
	}
	if cfg.GasBase == 0 {
		cfg.GasBase = DefaultGasBase
	}
	if cfg.GasPerReceipt == 0 {
		cfg.GasPerReceipt = DefaultGasPerReceipt
	}
	if cfg.TimeoutBlocks <= 0 {
		cfg.TimeoutBlocks = DefaultTimeoutBlocks
	}
	if cfg.InclusionTimeout <= 0 {
		cfg.InclusionTimeout = DefaultInclusionTimeout
	}
	if cfg.PollInterval <= 0 {
		cfg.PollInterval = DefaultTxPollInterval
	}
	if !cfg.Fees.IsValid() {
		return nil, fmt.Errorf("submitter: invalid fees %s", cfg.Fees)
	}
	if !cfg.GasPrices.Empty() && !cfg.Fees.Empty() {
		return nil, errors.New("submitter: set fees or gas prices, not both")
	}
	kr, where := cfg.Keyring, "the given keyring"
	if kr == nil {
		var err error
		kr, err = keyring.New(KeyringAppName, cfg.KeyringBackend, cfg.KeyringDir, cfg.KeyringInput, c.cdc)
		if err != nil {
			return nil, fmt.Errorf("submitter: open %s keyring in %s: %w", cfg.KeyringBackend, cfg.KeyringDir, err)
		}
		where = fmt.Sprintf("the %s keyring in %s", cfg.KeyringBackend, cfg.KeyringDir)
	}
	rec, err := kr.Key(cfg.KeyName)
	if err != nil {
		return nil, fmt.Errorf("submitter: key %q not found in %s: %w", cfg.KeyName, where, err)
	}
	acc, err := rec.GetAddress()
	if err != nil {
		return nil, fmt.Errorf("submitter: key %q in %s: %w", cfg.KeyName, where, err)
	}
	addr, err := c.AccAddressString(acc)
	if err != nil {
		return nil, fmt.Errorf("submitter: key %q: %w", cfg.KeyName, err)
	}
	chainID, err := c.ChainID(ctx)
	if err != nil {
		return nil, fmt.Errorf("submitter: %w", err)
	}
	return &Submitter{c: c, kr: kr, cfg: cfg, addr: addr, chainID: chainID, gasScale: 1}, nil
}

// Address is the signing account (chroom1…).
func (s *Submitter) Address() string { return s.addr }

// ChainID is the chain ID txs are signed for.
func (s *Submitter) ChainID() string { return s.chainID }

// LatestHeight is the node's latest block height.
func (s *Submitter) LatestHeight(ctx context.Context) (int64, error) { return s.c.LatestHeight(ctx) }

// Gas is the gas limit of a tx with n receipts: GasBase + GasPerReceipt ×
// n, the per-receipt part raised ×1.5 after each tx that ran out of gas
// (at most ×8).
func (s *Submitter) Gas(n int) uint64 {
	s.mu.Lock()
	scale := s.gasScale
	s.mu.Unlock()
	return gasFor(s.cfg.GasBase, s.cfg.GasPerReceipt, scale, n)
}

// gasFor is base + perReceipt × scale × n (scale below 1 counts as 1).
func gasFor(base, perReceipt uint64, scale float64, n int) uint64 {
	if scale < 1 {
		scale = 1
	}
	return base + uint64(float64(perReceipt)*scale)*uint64(n)
}

// ranOutOfGas raises the per-receipt gas after an included tx failed with
// the SDK's out-of-gas error (code 11), ×1.5 up to maxGasScale.
func (s *Submitter) ranOutOfGas(r Result) {
	if r.Codespace != sdkerrors.ErrOutOfGas.Codespace() || r.Code != sdkerrors.ErrOutOfGas.ABCICode() {
		return
	}
	s.mu.Lock()
	s.gasScale = min(max(s.gasScale, 1)*1.5, maxGasScale)
	s.mu.Unlock()
}

// Prepare signs a MsgSubmitReceipts of receipts (submitter: Address) with
// the account's current number and sequence, a gas limit of Gas(n), the
// configured fee and a timeout height TimeoutBlocks past the latest
// block. Nothing is sent.
func (s *Submitter) Prepare(ctx context.Context, receipts []format.SignedReceipt) (*Tx, error) {
	if len(receipts) == 0 {
		return nil, errors.New("prepare tx: no receipts")
	}
	return s.prepare(ctx, &verificationtypes.MsgSubmitReceipts{Submitter: s.addr, Receipts: receipts}, s.Gas(len(receipts)), len(receipts))
}

// PrepareProbe signs a MsgSubmitProbe of sp (submitter: Address) as
// Prepare does, with the gas of one receipt. Nothing is sent.
func (s *Submitter) PrepareProbe(ctx context.Context, sp format.SignedProbeResult) (*Tx, error) {
	return s.prepare(ctx, &verificationtypes.MsgSubmitProbe{Submitter: s.addr, Probe: sp}, s.Gas(1), 0)
}

func (s *Submitter) prepare(ctx context.Context, m proto.Message, gas uint64, receipts int) (*Tx, error) {
	height, err := s.c.LatestHeight(ctx)
	if err != nil {
		return nil, fmt.Errorf("prepare tx: %w", err)
	}
	number, seq, err := s.c.account(ctx, s.addr)
	if err != nil {
		return nil, fmt.Errorf("prepare tx: %w", err)
	}
	s.mu.Lock()
	seq = max(seq, s.minSeq)
	s.mu.Unlock()

	fees := s.cfg.Fees
	if !s.cfg.GasPrices.Empty() {
		limit := sdkmath.LegacyNewDec(int64(gas))
		for _, p := range s.cfg.GasPrices {
			fees = fees.Add(sdk.NewCoin(p.Denom, p.Amount.Mul(limit).Ceil().RoundInt()))
		}
	}
	msg, err := codectypes.NewAnyWithValue(m)
	if err != nil {
		return nil, fmt.Errorf("prepare tx: %w", err)
	}
	timeout := height + s.cfg.TimeoutBlocks
	raw, err := signDirect(s.kr, s.cfg.KeyName, s.chainID, number, seq,
		&txtypes.TxBody{Messages: []*codectypes.Any{msg}, TimeoutHeight: uint64(timeout)},
		&txtypes.Fee{Amount: fees, GasLimit: gas})
	if err != nil {
		return nil, fmt.Errorf("prepare tx: sign with key %q: %w", s.cfg.KeyName, err)
	}
	bz, err := raw.Marshal()
	if err != nil {
		return nil, fmt.Errorf("prepare tx: encode: %w", err)
	}
	return &Tx{Bytes: bz, Hash: TxHash(bz), TimeoutHeight: timeout, Sequence: seq, Receipts: receipts}, nil
}

// signDirect signs the tx of body and fee with the keyring key keyName as
// its only signer, in SIGN_MODE_DIRECT, for account accountNumber at
// sequence on chain chainID, and returns it ready to encode. It is what
// the SDK's client/tx Sign does for one DIRECT signer, without the SDK
// client packages (see the package doc); the spec is ADR-020
// (docs/architecture/adr-020-protobuf-transaction-encoding.md) and the SDK
// docs' "Transactions → SIGN_MODE_DIRECT"
// (https://docs.cosmos.network/main/learn/advanced/transactions):
//
//   - AuthInfo has one SignerInfo: the key's public key packed in an Any,
//     ModeInfo single SIGN_MODE_DIRECT and the sequence; and the fee.
//   - The signer signs the encoded SignDoc{body_bytes, auth_info_bytes,
//     chain_id, account_number}, where body_bytes and auth_info_bytes are
//     the exact bytes that go into the TxRaw.
//   - The tx is TxRaw{body_bytes, auth_info_bytes, [signature]}; CometBFT
//     indexes it under the SHA-256 of its encoding (TxHash).
//
// The gogoproto encodings used here are the canonical ones (fields in
// order, defaults omitted) that the chain's ADR-027 tx decoder requires.
func signDirect(kr keyring.Keyring, keyName, chainID string, accountNumber, sequence uint64, body *txtypes.TxBody, fee *txtypes.Fee) (*txtypes.TxRaw, error) {
	rec, err := kr.Key(keyName)
	if err != nil {
		return nil, err
	}
	pub, err := rec.GetPubKey()
	if err != nil {
		return nil, err
	}
	pubAny, err := codectypes.NewAnyWithValue(pub)
	if err != nil {
		return nil, fmt.Errorf("pack public key: %w", err)
	}
	authInfo := &txtypes.AuthInfo{
		SignerInfos: []*txtypes.SignerInfo{{
			PublicKey: pubAny,
			ModeInfo: &txtypes.ModeInfo{Sum: &txtypes.ModeInfo_Single_{
				Single: &txtypes.ModeInfo_Single{Mode: signing.SignMode_SIGN_MODE_DIRECT},
			}},
			Sequence: sequence,
		}},
		Fee: fee,
	}
	bodyBytes, err := body.Marshal()
	if err != nil {
		return nil, fmt.Errorf("encode tx body: %w", err)
	}
	authInfoBytes, err := authInfo.Marshal()
	if err != nil {
		return nil, fmt.Errorf("encode tx auth info: %w", err)
	}
	signDoc, err := (&txtypes.SignDoc{
		BodyBytes: bodyBytes, AuthInfoBytes: authInfoBytes, ChainId: chainID, AccountNumber: accountNumber,
	}).Marshal()
	if err != nil {
		return nil, fmt.Errorf("encode sign doc: %w", err)
	}
	sig, _, err := kr.Sign(keyName, signDoc, signing.SignMode_SIGN_MODE_DIRECT)
	if err != nil {
		return nil, err
	}
	return &txtypes.TxRaw{BodyBytes: bodyBytes, AuthInfoBytes: authInfoBytes, Signatures: [][]byte{sig}}, nil
}

// Broadcast sends tx (BROADCAST_MODE_SYNC) and waits until it is in a
// block. It returns the result and nil if the tx ran (Code 0); the result
// and an error wrapping ErrTxFailed if it is in a block but failed; a
// *TxRefusedError if CheckTx refused it; an error wrapping ErrTxExpired if
// the chain passed its timeout height without it; and an error wrapping
// ErrTxNotIncluded if InclusionTimeout passed first. Any other error
// (transport, ctx) leaves it unknown whether the node has the tx.
// Broadcasting bytes the node has seen before is harmless: it answers
// "already in cache" and Broadcast waits as usual.
func (s *Submitter) Broadcast(ctx context.Context, tx *Tx) (Result, error) {
	res, err := txtypes.NewServiceClient(s.c.conn).BroadcastTx(ctx, &txtypes.BroadcastTxRequest{
		Mode: txtypes.BroadcastMode_BROADCAST_MODE_SYNC, TxBytes: tx.Bytes,
	})
	if err != nil {
		return Result{TxHash: tx.Hash}, fmt.Errorf("broadcast tx %s: %w", tx.Hash, err)
	}
	if r := res.TxResponse; r != nil && r.Code != 0 && !isInMempoolCache(r.Codespace, r.Code) {
		refused := &TxRefusedError{Hash: tx.Hash, Code: r.Code, Codespace: r.Codespace, Log: r.RawLog}
		if refused.SequenceMismatch() {
			if want, ok := expectedSequence(r.RawLog); ok {
				s.mu.Lock()
				s.minSeq = want
				s.mu.Unlock()
			}
		}
		return Result{TxHash: tx.Hash}, refused
	}
	return s.wait(ctx, tx)
}

func isInMempoolCache(codespace string, code uint32) bool {
	return codespace == sdkerrors.ErrTxInMempoolCache.Codespace() && code == sdkerrors.ErrTxInMempoolCache.ABCICode()
}

// wait polls GetTx until tx is in a block, expires, or the wait ends.
func (s *Submitter) wait(ctx context.Context, tx *Tx) (Result, error) {
	deadline := time.Now().Add(s.cfg.InclusionTimeout)
	t := time.NewTicker(s.cfg.PollInterval)
	defer t.Stop()
	var lastErr error
	for {
		r, found, err := s.TxResult(ctx, tx.Hash)
		switch {
		case err != nil:
			lastErr = err
		case found && r.Code != 0:
			s.ranOutOfGas(r)
			return r, fmt.Errorf("%w: tx %s at height %d: code %d (%s): %s", ErrTxFailed, r.TxHash, r.Height, r.Code, r.Codespace, r.Log)
		case found:
			return r, nil
		default:
			h, err := s.c.LatestHeight(ctx)
			if err != nil {
				lastErr = err
			} else if Expired(tx.TimeoutHeight, h) {
				return Result{TxHash: tx.Hash}, fmt.Errorf("%w: tx %s, timeout height %d, chain at %d", ErrTxExpired, tx.Hash, tx.TimeoutHeight, h)
			}
		}
		if time.Now().After(deadline) {
			if lastErr != nil {
				return Result{TxHash: tx.Hash}, fmt.Errorf("%w: tx %s after %s (last error: %v)", ErrTxNotIncluded, tx.Hash, s.cfg.InclusionTimeout, lastErr)
			}
			return Result{TxHash: tx.Hash}, fmt.Errorf("%w: tx %s after %s", ErrTxNotIncluded, tx.Hash, s.cfg.InclusionTimeout)
		}
		select {
		case <-ctx.Done():
			return Result{TxHash: tx.Hash}, fmt.Errorf("wait for tx %s: %w", tx.Hash, ctx.Err())
		case <-t.C:
		}
	}
}

// Submit prepares and broadcasts one tx of receipts and waits for it (see
// Prepare and Broadcast). If CheckTx refuses it for a wrong sequence, it
// refetches the account and tries once more with a new tx. Callers that
// must never send a receipt twice across crashes should use Prepare and
// Broadcast and record the tx hash in between (package attest does).
func (s *Submitter) Submit(ctx context.Context, receipts []format.SignedReceipt) (Result, error) {
	tx, err := s.Prepare(ctx, receipts)
	if err != nil {
		return Result{}, err
	}
	r, err := s.Broadcast(ctx, tx)
	var refused *TxRefusedError
	if errors.As(err, &refused) && refused.SequenceMismatch() {
		if tx, err = s.Prepare(ctx, receipts); err != nil {
			return Result{}, err
		}
		r, err = s.Broadcast(ctx, tx)
	}
	return r, err
}

// TxResult is Client.TxResult: the outcome of the tx with hash, for
// recovery after a crash or a lost answer.
func (s *Submitter) TxResult(ctx context.Context, hash string) (Result, bool, error) {
	return s.c.TxResult(ctx, hash)
}

// TxResult looks up the tx with hash (hex) in the node's tx index (GetTx).
// found is false if the node does not know it; a found tx may have failed
// (see Result.Code; nil error either way). A node without a tx index
// answers with an error, never "not found".
func (c *Client) TxResult(ctx context.Context, hash string) (Result, bool, error) {
	res, err := txtypes.NewServiceClient(c.conn).GetTx(ctx, &txtypes.GetTxRequest{Hash: hash})
	if status.Code(err) == codes.NotFound {
		return Result{}, false, nil
	}
	if err != nil {
		return Result{}, false, fmt.Errorf("query tx %s: %w", hash, err)
	}
	if res.TxResponse == nil {
		return Result{}, false, fmt.Errorf("query tx %s: empty response", hash)
	}
	r, err := DecodeResult(res.TxResponse)
	if err != nil {
		return Result{}, false, fmt.Errorf("query tx %s: %w", hash, err)
	}
	return r, true, nil
}

// submitReceiptsResponseURL is the type URL of MsgSubmitReceiptsResponse in
// a tx's msg_responses.
var submitReceiptsResponseURL = "/" + proto.MessageName(&verificationtypes.MsgSubmitReceiptsResponse{})

// DecodeResult reads a tx response: its code, and for a successful tx the
// MsgSubmitReceiptsResponse among its msg_responses (Accepted and Rejected
// stay empty if there is none).
func DecodeResult(r *sdk.TxResponse) (Result, error) {
	out := Result{
		TxHash: r.TxHash, Height: r.Height, Code: r.Code, Codespace: r.Codespace, Log: r.RawLog,
		GasWanted: r.GasWanted, GasUsed: r.GasUsed,
	}
	if r.Code != 0 || r.Data == "" {
		return out, nil
	}
	raw, err := hex.DecodeString(r.Data)
	if err != nil {
		return out, fmt.Errorf("decode tx data: %w", err)
	}
	var data sdk.TxMsgData
	if err := data.Unmarshal(raw); err != nil {
		return out, fmt.Errorf("decode tx data: %w", err)
	}
	for _, a := range data.MsgResponses {
		if a == nil || a.TypeUrl != submitReceiptsResponseURL {
			continue
		}
		var m verificationtypes.MsgSubmitReceiptsResponse
		if err := m.Unmarshal(a.Value); err != nil {
			return out, fmt.Errorf("decode MsgSubmitReceiptsResponse: %w", err)
		}
		out.Accepted = append(out.Accepted, m.Accepted...)
		for _, r := range m.Rejected {
			out.Rejected = append(out.Rejected, Rejection{Index: r.Index, Reason: rejectLabel(r.Reason), Detail: r.Detail})
		}
	}
	return out, nil
}

// sequenceRe finds the sequence CheckTx expected in the SDK's
// "account sequence mismatch, expected N, got M" log.
var sequenceRe = regexp.MustCompile(`expected (\d+), got \d+`)

func expectedSequence(log string) (uint64, bool) {
	m := sequenceRe.FindStringSubmatch(log)
	if m == nil {
		return 0, false
	}
	n, err := strconv.ParseUint(m[1], 10, 64)
	return n, err == nil
}
