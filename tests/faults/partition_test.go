package faults

import (
	"bufio"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
)

// netGroup is a cgroup v2 group whose processes can be cut off the
// network: while cut, every packet their sockets send or receive is
// dropped (nftables `socket cgroupv2` in the input and output hooks), so
// on loopback it is as if their machine's cable were pulled, while peers
// on the same host are untouched. A socket belongs to the group its
// process was in when it created the socket, so a process is started
// inside the group (start), not moved there later. It needs root, nft and
// a cgroup v2 hierarchy (at /sys/fs/cgroup or /sys/fs/cgroup/unified).
type netGroup struct {
	name  string // the cgroup's folder name and the nftables table's
	dir   string // the cgroup's folder
	root  string // the hierarchy's root folder
	rel   string // the cgroup's path as nft names it (relative to /sys/fs/cgroup)
	isCut bool
}

// cgroup2Root returns the mount point of the cgroup v2 hierarchy and its
// path relative to /sys/fs/cgroup (as nft names cgroups), or an error
// saying why a process cannot be cut off here.
func cgroup2Root() (mount, rel string, err error) {
	if os.Geteuid() != 0 {
		return "", "", fmt.Errorf("not root")
	}
	if _, err := exec.LookPath("nft"); err != nil {
		return "", "", fmt.Errorf("nft is not installed (apt-get install nftables)")
	}
	f, err := os.Open("/proc/mounts")
	if err != nil {
		return "", "", err
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		fields := strings.Fields(sc.Text())
		if len(fields) >= 3 && fields[2] == "cgroup2" && strings.HasPrefix(fields[1]+"/", "/sys/fs/cgroup/") {
			return fields[1], strings.TrimPrefix(strings.TrimPrefix(fields[1], "/sys/fs/cgroup"), "/"), nil
		}
	}
	return "", "", fmt.Errorf("no cgroup v2 hierarchy under /sys/fs/cgroup")
}

// newNetGroup creates the group name; the test's cleanup reconnects it,
// moves whatever still runs in it back to the root group and removes it.
func newNetGroup(t *testing.T, name string) *netGroup {
	t.Helper()
	mount, rel, err := cgroup2Root()
	if err != nil {
		t.Fatalf("cannot cut a process off the network on this machine: %v", err)
	}
	g := &netGroup{name: name, dir: filepath.Join(mount, name), root: mount, rel: strings.TrimPrefix(rel+"/"+name, "/")}
	if err := os.MkdirAll(g.dir, 0o755); err != nil {
		t.Fatalf("create cgroup %s: %v", g.dir, err)
	}
	t.Cleanup(func() {
		g.reconnect()
		if b, err := os.ReadFile(filepath.Join(g.dir, "cgroup.procs")); err == nil {
			for _, pid := range strings.Fields(string(b)) {
				_ = os.WriteFile(filepath.Join(g.root, "cgroup.procs"), []byte(pid), 0o644)
			}
		}
		_ = os.Remove(g.dir)
	})
	return g
}

// command returns a command that runs bin with args inside the group
// (a shell joins the group, then execs bin: every socket bin opens is the
// group's).
func (g *netGroup) command(bin string, args ...string) *exec.Cmd {
	script := fmt.Sprintf(`echo $$ > %q && exec "$0" "$@"`, filepath.Join(g.dir, "cgroup.procs"))
	return exec.Command("sh", append([]string{"-c", script, bin}, args...)...)
}

// cut drops every packet to and from the group's sockets.
func (g *netGroup) cut(t *testing.T) {
	t.Helper()
	script := fmt.Sprintf(`table inet %[1]s {
	chain in { type filter hook input priority -10; socket cgroupv2 level 1 %[2]q drop; }
	chain out { type filter hook output priority -10; socket cgroupv2 level 1 %[2]q drop; }
}
`, g.name, g.rel)
	cmd := exec.Command("nft", "-f", "-")
	cmd.Stdin = strings.NewReader(script)
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("nft: %v: %s", err, out)
	}
	g.isCut = true
}

// reconnect removes the cut (idempotent).
func (g *netGroup) reconnect() {
	if g.isCut {
		_ = exec.Command("nft", "delete", "table", "inet", g.name).Run()
		g.isCut = false
	}
}

// pidsIn returns the processes in the group.
func (g *netGroup) pidsIn() []int {
	b, _ := os.ReadFile(filepath.Join(g.dir, "cgroup.procs"))
	var out []int
	for _, f := range strings.Fields(string(b)) {
		if n, err := strconv.Atoi(f); err == nil {
			out = append(out, n)
		}
	}
	return out
}
