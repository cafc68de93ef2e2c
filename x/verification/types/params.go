package types

import (
	errorsmod "cosmossdk.io/errors"
	sdkmath "cosmossdk.io/math"
	sdk "github.com/cosmos/cosmos-sdk/types"
)

// Default params.
const (
	// DefaultEpochIdentifier is the x/epochs epoch Chroom counts in.
	DefaultEpochIdentifier = "chroom"
	// DefaultMaxReceiptsPerMsg bounds a batch.
	DefaultMaxReceiptsPerMsg = 1000
	// DefaultVerifyGasPerReceipt prices two ed25519 checks and the state
	// writes of one receipt.
	DefaultVerifyGasPerReceipt = 6000
	// DefaultRTTFullQualityMs: a median RTT up to 100 ms costs nothing.
	DefaultRTTFullQualityMs = 100
	// DefaultRTTZeroQualityMs: a median RTT of 1 s or more earns nothing.
	DefaultRTTZeroQualityMs = 1000
	// DefaultMaxPrunePerBlock bounds replay-marker pruning per block.
	DefaultMaxPrunePerBlock = 1000
	// DefaultMaxProbesPerEpoch is 0: QoS probes are off until governance
	// turns them on (MsgUpdateParams), once orchestrators run the prober —
	// on before that, every media node would fail its probes and be jailed.
	DefaultMaxProbesPerEpoch = 0
	// RecommendedMaxProbesPerEpoch is the value to turn probes on with: up
	// to 1000 media nodes probed per epoch.
	RecommendedMaxProbesPerEpoch = 1000
	// DefaultProbeJailEpochs: three failed or missing probes in a row jail.
	DefaultProbeJailEpochs = 3
	// DefaultQualityHistoryEpochs keeps two days of hourly epochs.
	DefaultQualityHistoryEpochs = 48
)

var (
	// DefaultSlashFractionEquivocation burns 10% of an equivocating node's stake.
	DefaultSlashFractionEquivocation = sdkmath.LegacyNewDecWithPrec(10, 2)
	// DefaultEvidenceBountyFraction pays the reporter 10% of what is slashed.
	DefaultEvidenceBountyFraction = sdkmath.LegacyNewDecWithPrec(10, 2)
	// DefaultLossZeroQuality: 10% packet loss gives a loss quality of 0.
	DefaultLossZeroQuality = sdkmath.LegacyNewDecWithPrec(10, 2)
	// DefaultPricePerParticipantMinute is 0.001 CHR: an hour-long
	// two-person call costs 0.12 CHR in usage fees.
	DefaultPricePerParticipantMinute = sdk.NewCoin("uchr", sdkmath.NewInt(1_000))
	// DefaultUnattestedQuality weighs a session nobody but the
	// orchestrator vouches for at half an attested one of perfect quality.
	DefaultUnattestedQuality = sdkmath.LegacyNewDecWithPrec(5, 1)
	// DefaultProbeWeight: probes and attested sessions count equally.
	DefaultProbeWeight = sdkmath.LegacyNewDecWithPrec(5, 1)
	// DefaultScoreSmoothing: each epoch moves the score 30 % of the way.
	DefaultScoreSmoothing = sdkmath.LegacyNewDecWithPrec(3, 1)
)

// DefaultParams returns the default params.
func DefaultParams() Params {
	return Params{
		EpochIdentifier:           DefaultEpochIdentifier,
		MaxReceiptsPerMsg:         DefaultMaxReceiptsPerMsg,
		VerifyGasPerReceipt:       DefaultVerifyGasPerReceipt,
		SlashFractionEquivocation: DefaultSlashFractionEquivocation,
		EvidenceBountyFraction:    DefaultEvidenceBountyFraction,
		LossZeroQuality:           DefaultLossZeroQuality,
		RttFullQualityMs:          DefaultRTTFullQualityMs,
		RttZeroQualityMs:          DefaultRTTZeroQualityMs,
		MaxPrunePerBlock:          DefaultMaxPrunePerBlock,
		PricePerParticipantMinute: DefaultPricePerParticipantMinute,
		UnattestedQuality:         DefaultUnattestedQuality,
		MaxProbesPerEpoch:         DefaultMaxProbesPerEpoch,
		ProbeJailEpochs:           DefaultProbeJailEpochs,
		ProbeWeight:               DefaultProbeWeight,
		ScoreSmoothing:            DefaultScoreSmoothing,
		QualityHistoryEpochs:      DefaultQualityHistoryEpochs,
	}
}

// UsageFee is what a receipt of seconds verified seconds costs:
// ceil(price_per_participant_minute × seconds / 60), in the price's denom
// (zero coin when the price is zero or unset).
func (p Params) UsageFee(seconds uint64) sdk.Coin {
	price := p.PricePerParticipantMinute
	if price.Amount.IsNil() || !price.Amount.IsPositive() {
		return sdk.Coin{Denom: price.Denom, Amount: sdkmath.ZeroInt()}
	}
	n := price.Amount.Mul(sdkmath.NewIntFromUint64(seconds))
	fee := n.QuoRaw(60)
	if !n.ModRaw(60).IsZero() {
		fee = fee.AddRaw(1)
	}
	return sdk.NewCoin(price.Denom, fee)
}

func fraction(name string, d sdkmath.LegacyDec, allowZero bool) error {
	if d.IsNil() || d.IsNegative() || d.GT(sdkmath.LegacyOneDec()) || (!allowZero && d.IsZero()) {
		lo := "[0, 1]"
		if !allowZero {
			lo = "(0, 1]"
		}
		return errorsmod.Wrapf(ErrInvalidParams, "%s must be in %s, got %s", name, lo, d)
	}
	return nil
}

// Validate checks the params.
func (p Params) Validate() error {
	if p.EpochIdentifier == "" {
		return errorsmod.Wrap(ErrInvalidParams, "epoch_identifier is empty")
	}
	if p.MaxReceiptsPerMsg == 0 || p.MaxReceiptsPerMsg > 10_000 {
		return errorsmod.Wrapf(ErrInvalidParams, "max_receipts_per_msg must be in [1, 10000], got %d", p.MaxReceiptsPerMsg)
	}
	if err := fraction("slash_fraction_equivocation", p.SlashFractionEquivocation, true); err != nil {
		return err
	}
	if err := fraction("evidence_bounty_fraction", p.EvidenceBountyFraction, true); err != nil {
		return err
	}
	if err := fraction("loss_zero_quality", p.LossZeroQuality, false); err != nil {
		return err
	}
	if err := fraction("unattested_quality", p.UnattestedQuality, true); err != nil {
		return err
	}
	if price := p.PricePerParticipantMinute; !price.Amount.IsNil() && !price.Amount.IsZero() {
		if err := price.Validate(); err != nil {
			return errorsmod.Wrapf(ErrInvalidParams, "price_per_participant_minute: %s", err)
		}
	}
	if p.RttZeroQualityMs <= p.RttFullQualityMs {
		return errorsmod.Wrapf(ErrInvalidParams, "rtt_zero_quality_ms (%d) must exceed rtt_full_quality_ms (%d)",
			p.RttZeroQualityMs, p.RttFullQualityMs)
	}
	if p.MaxPrunePerBlock == 0 || p.MaxPrunePerBlock > 100_000 {
		return errorsmod.Wrapf(ErrInvalidParams, "max_prune_per_block must be in [1, 100000], got %d", p.MaxPrunePerBlock)
	}
	if p.MaxProbesPerEpoch > 10_000 {
		return errorsmod.Wrapf(ErrInvalidParams, "max_probes_per_epoch must be at most 10000, got %d", p.MaxProbesPerEpoch)
	}
	if err := fraction("probe_weight", p.ProbeWeight, true); err != nil {
		return err
	}
	if err := fraction("score_smoothing", p.ScoreSmoothing, false); err != nil {
		return err
	}
	if p.QualityHistoryEpochs == 0 || p.QualityHistoryEpochs > 1000 {
		return errorsmod.Wrapf(ErrInvalidParams, "quality_history_epochs must be in [1, 1000], got %d", p.QualityHistoryEpochs)
	}
	return nil
}
