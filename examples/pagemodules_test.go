package examples_test

import (
	"fmt"
	"io"
	"net/http"
	"regexp"
	"testing"
)

// relativeImport matches a module's static imports of its siblings.
var relativeImport = regexp.MustCompile(`(?m)^\s*(?:import|export)\b[^;]*?\bfrom\s+'\./([\w.-]+\.js)'`)

// servesModules fetches an example's page and, from the port it is served
// on, every JavaScript module the page imports, and theirs in turn: a
// browser runs none of a module graph if one file in it is missing, and
// the page then sits at "connecting…" without an error anyone sees.
func servesModules(t *testing.T, port int) {
	t.Helper()
	base := fmt.Sprintf("http://127.0.0.1:%d/", port)
	seen := map[string]bool{}
	var fetch func(name, from string)
	fetch = func(name, from string) {
		if seen[name] {
			return
		}
		seen[name] = true
		resp, err := http.Get(base + name)
		if err != nil {
			t.Fatalf("GET /%s: %v", name, err)
		}
		b, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.StatusCode != http.StatusOK {
			t.Errorf("GET /%s (imported by %s) = %d", name, from, resp.StatusCode)
			return
		}
		for _, m := range relativeImport.FindAllSubmatch(b, -1) {
			fetch(string(m[1]), name)
		}
	}
	fetch("", "the browser")
	if len(seen) < 3 {
		t.Errorf("the page imports %d modules, want its own import of simpleserver.js and that one's", len(seen)-1)
	}
}
