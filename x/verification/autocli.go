package verification

import (
	autocliv1 "cosmossdk.io/api/cosmos/autocli/v1"
)

// AutoCLIOptions describes `chroomd query verification`. The tx commands
// read JSON files and are written by hand (client/cli).
func (AppModule) AutoCLIOptions() *autocliv1.ModuleOptions {
	return &autocliv1.ModuleOptions{
		Query: &autocliv1.ServiceCommandDescriptor{
			Service: "chroom.verification.v1.Query",
			RpcCommandOptions: []*autocliv1.RpcCommandOptions{
				{
					RpcMethod:      "NodeEpoch",
					Use:            "node-epoch <node-id> <epoch>",
					Short:          "Show a media node's verified work in one epoch",
					PositionalArgs: []*autocliv1.PositionalArgDescriptor{{ProtoField: "node_id"}, {ProtoField: "epoch"}},
				},
				{
					RpcMethod:      "EpochTotals",
					Use:            "epoch-totals <epoch>",
					Short:          "Show the verified work of all nodes in one epoch",
					PositionalArgs: []*autocliv1.PositionalArgDescriptor{{ProtoField: "epoch"}},
				},
				{
					RpcMethod:      "ProbeAssignments",
					Use:            "probe-assignments <epoch>",
					Short:          "List the QoS probes assigned in an epoch (media node, prober) and the results submitted",
					PositionalArgs: []*autocliv1.PositionalArgDescriptor{{ProtoField: "epoch"}},
				},
				{
					RpcMethod:      "NodeHealth",
					Use:            "node-health <node-id>",
					Short:          "Show a media node's quality score, probe record, last probes and score history",
					PositionalArgs: []*autocliv1.PositionalArgDescriptor{{ProtoField: "node_id"}},
				},
				{RpcMethod: "Params", Use: "params", Short: "Show the x/verification params"},
			},
		},
		Tx: &autocliv1.ServiceCommandDescriptor{
			Service:              "chroom.verification.v1.Msg",
			EnhanceCustomCommand: true,
			RpcCommandOptions: []*autocliv1.RpcCommandOptions{
				{RpcMethod: "SubmitReceipts", Skip: true}, // client/cli: reads a JSON file
				{RpcMethod: "SubmitEvidence", Skip: true}, // client/cli: reads a JSON file
				{RpcMethod: "SubmitProbe", Skip: true},    // client/cli: reads a JSON file
				{RpcMethod: "UpdateParams", Skip: true},   // governance only
			},
		},
	}
}
