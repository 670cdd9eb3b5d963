package main

import (
	"os"
	"slices"
	"strings"
	"testing"
)

// TestRoleSetsNamedOnce: each set of roles a route admits has one name in
// routes.go — no two names for the same set, every named set used, and no
// route spelling a set of its own inline.
func TestRoleSetsNamedOnce(t *testing.T) {
	sets := map[string]roleSet{
		"allStaff": allStaff, "anyAdmins": anyAdmins, "platformAdmins": platformAdmins,
		"platformOrBureauAdmins": platformOrBureauAdmins, "bureauAdmins": bureauAdmins,
		"bureauOrSchoolAdmins": bureauOrSchoolAdmins, "schoolAdmins": schoolAdmins, "schoolAdminsOnly": schoolAdminsOnly,
		"schoolStaff": schoolStaff, "teachers": teachers, "parents": parents, "schoolFamilies": schoolFamilies,
	}
	b, err := os.ReadFile("routes.go")
	if err != nil {
		t.Fatal(err)
	}
	src := string(b)
	if n := strings.Count(src, " = roleSet"); n != len(sets) {
		t.Fatalf("routes.go declares %d role sets, the test knows %d: add the new one to this test", n, len(sets))
	}
	seen := map[string]string{}
	for name, s := range sets {
		key := make([]string, len(s))
		for i, r := range s {
			key[i] = string(r)
		}
		slices.Sort(key)
		k := strings.Join(slices.Compact(key), ",")
		if other, dup := seen[k]; dup {
			t.Errorf("%s and %s are the same set of roles (%s): keep one name", name, other, k)
		}
		seen[k] = name
		if !strings.Contains(src, name+".only()") {
			t.Errorf("role set %s is used by no route", name)
		}
	}
	if n := strings.Count(src, "handlers.RequireRoles("); n != 1 {
		t.Errorf("routes.go calls handlers.RequireRoles %d times: routes use a named role set's only()", n)
	}
}
