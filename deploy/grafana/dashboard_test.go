package grafana_test

import (
	"encoding/json"
	"io/fs"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
)

// TestDashboardQueriesRealMetrics: the dashboard is valid JSON, its panel
// IDs are unique, and every chroom_* metric its queries name is one the
// media node or the orchestrator registers (a renamed metric would leave
// a panel silently empty).
func TestDashboardQueriesRealMetrics(t *testing.T) {
	raw, err := os.ReadFile("chroom.json")
	if err != nil {
		t.Fatal(err)
	}
	var d struct {
		UID    string `json:"uid"`
		Panels []struct {
			ID      int    `json:"id"`
			Type    string `json:"type"`
			Title   string `json:"title"`
			Targets []struct {
				Expr string `json:"expr"`
			} `json:"targets"`
		} `json:"panels"`
	}
	if err := json.Unmarshal(raw, &d); err != nil {
		t.Fatalf("chroom.json: %v", err)
	}
	if d.UID == "" {
		t.Fatal("the dashboard has no uid (imports would duplicate it)")
	}
	src := goSources(t, "../../medianode", "../../orchestrator")
	metric := regexp.MustCompile(`chroom_[a-z_]+`)
	ids := map[int]string{}
	queried := 0
	for _, p := range d.Panels {
		if other, dup := ids[p.ID]; dup {
			t.Errorf("panels %q and %q share id %d", other, p.Title, p.ID)
		}
		ids[p.ID] = p.Title
		if p.Type != "row" && len(p.Targets) == 0 {
			t.Errorf("panel %q has no query", p.Title)
		}
		for _, q := range p.Targets {
			for _, m := range metric.FindAllString(q.Expr, -1) {
				queried++
				if !registered(src, m) {
					t.Errorf("panel %q queries %s, which neither binary registers", p.Title, m)
				}
			}
		}
	}
	if queried < 20 {
		t.Fatalf("only %d metric references found", queried)
	}
}

// registered reports whether the sources name metric m: as one string
// literal, or as a literal prefix ending in "_" joined to a literal rest.
func registered(src, m string) bool {
	if strings.Contains(src, `"`+m+`"`) {
		return true
	}
	for i := len("chroom_"); i < len(m); i++ {
		if m[i-1] == '_' && strings.Contains(src, `"`+m[:i]+`"`) && strings.Contains(src, `"`+m[i:]+`"`) {
			return true
		}
	}
	return false
}

func goSources(t *testing.T, dirs ...string) string {
	var b strings.Builder
	for _, dir := range dirs {
		err := filepath.WalkDir(dir, func(path string, e fs.DirEntry, err error) error {
			if err != nil || e.IsDir() || !strings.HasSuffix(path, ".go") || strings.HasSuffix(path, "_test.go") {
				return err
			}
			data, err := os.ReadFile(path)
			b.Write(data)
			return err
		})
		if err != nil {
			t.Fatal(err)
		}
	}
	return b.String()
}
