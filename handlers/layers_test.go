package handlers

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestHandlersLeaveAuditAndPagingToOneLayer: staff access to children's
// data is logged by the models operation that reads it (whoever calls it),
// never by a handler; and lists are trimmed by keysetPage / keysetPageBy /
// offsetPage, never by hand.
func TestHandlersLeaveAuditAndPagingToOneLayer(t *testing.T) {
	files, err := filepath.Glob("*.go")
	if err != nil {
		t.Fatal(err)
	}
	for _, f := range files {
		if strings.HasSuffix(f, "_test.go") {
			continue
		}
		b, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		for i, line := range strings.Split(string(b), "\n") {
			if strings.Contains(line, "models.LogStaffAccess(") {
				t.Errorf("%s:%d logs staff access in a handler: the models operation logs it", f, i+1)
			}
			if f != "page.go" && !strings.HasPrefix(line, "func ") &&
				(strings.Contains(line, "opaqueCursor(") || strings.Contains(line, "encodeCursor(")) {
				t.Errorf("%s:%d pages by hand: use keysetPage, keysetPageBy or offsetPage", f, i+1)
			}
		}
	}
}
