package registry

import (
	autocliv1 "cosmossdk.io/api/cosmos/autocli/v1"
)

// AutoCLIOptions describes the `chroomd tx registry` and `chroomd query
// registry` commands.
func (AppModule) AutoCLIOptions() *autocliv1.ModuleOptions {
	return &autocliv1.ModuleOptions{
		Query: &autocliv1.ServiceCommandDescriptor{
			Service:              "chroom.registry.v1.Query",
			EnhanceCustomCommand: true,
			RpcCommandOptions: []*autocliv1.RpcCommandOptions{
				// client/cli: the node with its health from x/verification.
				{RpcMethod: "Node", Skip: true},
				{
					RpcMethod: "Nodes",
					Use:       "nodes [--node-type media|orchestrator] [--status active|jailed|unbonding] [--region DE]",
					FlagOptions: map[string]*autocliv1.FlagOptions{
						"node_type": {Usage: "only nodes of this type"},
						"status":    {Usage: "only nodes with this status"},
						"region":    {Usage: "only nodes in this region; a country code also matches its sub-regions"},
					},
					Short: "List registered nodes, filtered by type, status and region",
					Long:  "List registered nodes. Filters combine; a two-letter --region also matches its sub-regions (DE matches DE-BY).",
				},
				{
					RpcMethod:      "NodesByOperator",
					Use:            "nodes-by-operator <operator-address>",
					Short:          "List the nodes an account operates",
					PositionalArgs: []*autocliv1.PositionalArgDescriptor{{ProtoField: "operator"}},
				},
				{
					RpcMethod: "Params",
					Use:       "params",
					Short:     "Show the x/registry params",
				},
			},
		},
		Tx: &autocliv1.ServiceCommandDescriptor{
			Service: "chroom.registry.v1.Msg",
			RpcCommandOptions: []*autocliv1.RpcCommandOptions{
				{
					RpcMethod: "RegisterNode",
					Use:       "register-node --node-type media|orchestrator --pubkey <base64> --stake 5000000uchr --moniker NAME --region DE --endpoints URL[,URL] --max-sessions N --max-egress-kbps N --from KEY",
					Short:     "Register a media node or orchestrator and bond its stake",
					Long: `Register a media node or orchestrator and bond its stake from the --from account, which becomes the operator.
--pubkey is the node's ed25519 public key in base64, as 'chroomd node-key generate' prints it.
--endpoints are absolute public URLs: https:// (signaling, WHIP, WHEP, RPC) and turn:/turns: URIs.
--region is an ISO 3166-1 alpha-2 code, optionally with a sub-region: DE, US-CA.`,
					FlagOptions: nodeFlags(true),
					Example:     "chroomd tx registry register-node --node-type media --pubkey 3q2+7w...= --stake 5000000uchr --moniker berlin-1 --region DE --endpoints https://sfu.example.com,turn:sfu.example.com:3478 --max-sessions 500 --max-egress-kbps 1000000 --from operator",
				},
				{
					RpcMethod:      "UpdateNode",
					Use:            "update-node <node-id> [--moniker NAME] [--endpoints URL[,URL]] [--region CODE] [--max-sessions N] [--max-egress-kbps N] --from KEY",
					Short:          "Change a node's moniker, endpoints, region or capacity (operator only)",
					FlagOptions:    nodeFlags(false),
					PositionalArgs: []*autocliv1.PositionalArgDescriptor{{ProtoField: "node_id"}},
				},
				{
					RpcMethod:      "AddStake",
					Use:            "add-stake <node-id> <amount> --from KEY",
					Short:          "Bond more stake to a node (operator only)",
					PositionalArgs: []*autocliv1.PositionalArgDescriptor{{ProtoField: "node_id"}, {ProtoField: "amount"}},
				},
				{
					RpcMethod:      "DeregisterNode",
					Use:            "deregister-node <node-id> --from KEY",
					Short:          "Start unbonding a node; its stake returns after the unbonding period (operator only)",
					PositionalArgs: []*autocliv1.PositionalArgDescriptor{{ProtoField: "node_id"}},
				},
				{
					RpcMethod:      "Unjail",
					Use:            "unjail <node-id> --from KEY",
					Short:          "Return a jailed node to active after its jail time (operator only)",
					PositionalArgs: []*autocliv1.PositionalArgDescriptor{{ProtoField: "node_id"}},
				},
				{
					RpcMethod: "UpdateParams",
					Skip:      true, // governance only
				},
			},
		},
	}
}

// nodeFlags returns the usage of the node metadata flags; register says
// whether they are for register-node (else update-node, where an omitted
// flag leaves the field unchanged).
func nodeFlags(register bool) map[string]*autocliv1.FlagOptions {
	keep := ""
	if !register {
		keep = " (omit to keep the current value)"
	}
	flags := map[string]*autocliv1.FlagOptions{
		"moniker":         {Usage: "human-readable name, at most 70 bytes" + keep},
		"endpoints":       {Usage: "comma-separated public URLs: https:// or wss:// for signaling/WHIP/WHEP/RPC, turn:host:port for TURN" + keep},
		"region":          {Usage: "ISO 3166-1 alpha-2 country code with optional sub-region, e.g. DE or US-CA" + keep},
		"max_sessions":    {Usage: "most concurrent participant sessions the node accepts (> 0)" + keep},
		"max_egress_kbps": {Usage: "outbound bandwidth the node offers, in kbit/s (> 0)" + keep},
	}
	if register {
		flags["node_type"] = &autocliv1.FlagOptions{Usage: "media or orchestrator"}
		flags["pubkey"] = &autocliv1.FlagOptions{Usage: "the node's ed25519 public key in base64 (chroomd node-key generate prints it)"}
		flags["stake"] = &autocliv1.FlagOptions{Usage: "stake to bond, e.g. 5000000uchr; at least min_stake_media_node or min_stake_orchestrator"}
	}
	return flags
}
