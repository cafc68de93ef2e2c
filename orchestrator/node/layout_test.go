package node_test

import (
	"os/exec"
	"strings"
	"testing"
)

// TestLayout keeps the orchestrator's dependency boundaries (issue
// "one store, clean seams"): the binary links no WebRTC stack and no media
// node code, and only orchestrator/chain imports the Cosmos SDK.
func TestLayout(t *testing.T) {
	if _, err := exec.LookPath("go"); err != nil {
		t.Skip("go toolchain not on PATH")
	}
	out, err := exec.Command("go", "list", "-deps", "github.com/chroom/chroom/cmd/orchestrator").CombinedOutput()
	if err != nil {
		t.Fatalf("go list: %v\n%s", err, out)
	}
	for _, p := range strings.Fields(string(out)) {
		for _, banned := range []string{"github.com/pion/webrtc", "github.com/libp2p/", "github.com/chroom/chroom/medianode"} {
			if strings.HasPrefix(p, banned) {
				t.Errorf("cmd/orchestrator links %s", p)
			}
		}
	}
	out, err = exec.Command("go", "list", "-f", "{{.ImportPath}} {{join .Imports \" \"}}", "github.com/chroom/chroom/orchestrator/...", "github.com/chroom/chroom/cmd/orchestrator").CombinedOutput()
	if err != nil {
		t.Fatalf("go list: %v\n%s", err, out)
	}
	for _, line := range strings.Split(strings.TrimSpace(string(out)), "\n") {
		f := strings.Fields(line)
		if len(f) == 0 || f[0] == "github.com/chroom/chroom/orchestrator/chain" {
			continue
		}
		for _, imp := range f[1:] {
			if strings.HasPrefix(imp, "github.com/cosmos/") || strings.HasPrefix(imp, "cosmossdk.io/") {
				t.Errorf("%s imports %s; only orchestrator/chain may use the Cosmos SDK", f[0], imp)
			}
		}
	}
}
