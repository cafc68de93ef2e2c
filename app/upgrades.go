package app

import (
	"context"
	"fmt"

	storetypes "github.com/cosmos/cosmos-sdk/store/v2/types"
	"github.com/cosmos/cosmos-sdk/types/module"
	upgradetypes "github.com/cosmos/cosmos-sdk/x/upgrade/types"
)

// Upgrade is a software upgrade this binary can apply (x/upgrade): when a
// governance-approved plan named Name reaches its height, the binary that
// knows it runs every module's registered migrations (the SDK's
// module.Manager.RunMigrations, from the consensus versions stored at the
// last upgrade) and mounts StoreUpgrades' new or renamed stores. A binary
// that does not know the plan halts at that height with `UPGRADE "name"
// NEEDED at height: H` and writes upgrade-info.json to its data directory:
// the operator (or cosmovisor) then starts the new binary, which goes on
// from the same state. See the README's "Upgrading the chain".
type Upgrade struct {
	Name          string
	StoreUpgrades storetypes.StoreUpgrades
}

// Upgrades are the upgrades this release applies, oldest first. A release
// that changes state-machine behaviour adds one here, with the name of the
// software-upgrade proposal that schedules it.
var Upgrades []Upgrade

// RehearsalUpgrade, when set at link time
// (-ldflags "-X github.com/chroom/chroom/app.RehearsalUpgrade=NAME"), adds a
// no-op upgrade named NAME: a "next release" binary for rehearsing the
// upgrade path on a test network (the fault suite's TestSoftwareUpgrade).
// Empty in every release build.
var RehearsalUpgrade string

// knownUpgrades is Upgrades plus the rehearsal upgrade, if any.
func knownUpgrades() []Upgrade {
	if RehearsalUpgrade == "" {
		return Upgrades
	}
	return append(append([]Upgrade(nil), Upgrades...), Upgrade{Name: RehearsalUpgrade})
}

// registerUpgrades sets the handler of each known upgrade and, when the
// node restarts at the height of one of them (upgrade-info.json, written
// by the binary that halted), the store loader that applies its store
// changes. It must run before the stores are loaded.
func (app *ChroomApp) registerUpgrades() {
	for _, u := range knownUpgrades() {
		app.UpgradeKeeper.SetUpgradeHandler(u.Name, func(ctx context.Context, _ upgradetypes.Plan, fromVM module.VersionMap) (module.VersionMap, error) {
			return app.ModuleManager.RunMigrations(ctx, app.configurator, fromVM)
		})
	}
	info, err := app.UpgradeKeeper.ReadUpgradeInfoFromDisk()
	if err != nil {
		panic(fmt.Errorf("read upgrade-info.json: %w", err))
	}
	if info.Name == "" || app.UpgradeKeeper.IsSkipHeight(info.Height) {
		return
	}
	for _, u := range knownUpgrades() {
		if u.Name == info.Name {
			su := u.StoreUpgrades
			app.SetStoreLoader(upgradetypes.UpgradeStoreLoader(info.Height, &su))
		}
	}
}
