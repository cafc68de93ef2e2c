package types

import (
	"fmt"
	"slices"
)

// MaxAppIDBytes and MaxAppOrchestrators bound an app account.
const (
	MaxAppIDBytes       = 64
	MaxAppOrchestrators = 32
)

// ValidateAppID checks an app ID: 1–64 bytes of [a-z0-9-], starting with
// a letter (it names the app in orchestrator configs and receipts).
func ValidateAppID(id string) error {
	if id == "" || len(id) > MaxAppIDBytes {
		return fmt.Errorf("app ID must be 1–%d characters, got %d", MaxAppIDBytes, len(id))
	}
	if id[0] < 'a' || id[0] > 'z' {
		return fmt.Errorf("app ID %q must start with a lowercase letter", id)
	}
	for _, c := range id {
		if !(c >= 'a' && c <= 'z' || c >= '0' && c <= '9' || c == '-') {
			return fmt.Errorf("app ID %q may contain only a-z, 0-9 and '-'", id)
		}
	}
	return nil
}

// NormalizeOrchestrators returns ids sorted and deduplicated, or an error
// if there are more than MaxAppOrchestrators or one is empty or longer
// than 128 bytes. Node IDs need not be registered yet.
func NormalizeOrchestrators(ids []string) ([]string, error) {
	out := slices.Clone(ids)
	slices.Sort(out)
	out = slices.Compact(out)
	if len(out) > MaxAppOrchestrators {
		return nil, fmt.Errorf("at most %d orchestrators may bill an app, got %d", MaxAppOrchestrators, len(out))
	}
	for _, id := range out {
		if id == "" || len(id) > 128 {
			return nil, fmt.Errorf("orchestrator ID %q must be 1–128 characters", id)
		}
	}
	return out, nil
}

// Authorizes reports whether the app lets orchestratorID bill it.
func (a App) Authorizes(orchestratorID string) bool {
	_, ok := slices.BinarySearch(a.OrchestratorIds, orchestratorID)
	return ok
}
