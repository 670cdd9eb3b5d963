package main

import (
	"fmt"
	"testing"

	"kehou/models"
	"kehou/models/modelstest"
)

// TestContractWeChat: POST /auth/wechat answers the login tokens + `user`;
// POST /me/phone answers {phone_masked, children}; POST /me/children links
// one child.
func TestContractWeChat(t *testing.T) {
	s := newTestServer(t)
	f, _ := withFakeWeChat(t, s)
	region := modelstest.Region(t, s.db, nil)
	school := modelstest.School(t, s.db, region.ID)
	kid := modelstest.Student(t, s.db, school.ID, 3, "13812345678")
	orphan := modelstest.Student(t, s.db, school.ID, 2, "")
	admin := modelstest.Staff(t, s.db, models.RoleSchoolAdmin, school.ID, 0)

	login := decodeObject(t, s.do("POST", "/api/v1/auth/wechat", "", fmt.Sprintf(`{"code": %q}`, f.LoginCode("oContract", ""))).want(t, 200).Body)
	want := shape{"user": "obj"}
	for k, v := range tokenShape {
		want[k] = v
	}
	checkShape(t, "wechat login", login, want)
	user := login["user"].(map[string]any)
	checkShape(t, "wechat user", user, shape{"id": "int", "role": "str"})
	if user["role"] != "parent" || login["token_type"] != "Bearer" {
		t.Fatalf("login = %v", login)
	}
	at := login["access_token"].(string)

	// A parent with no child yet still gets children, empty: the
	// mini-program reads children.length on its first screen.
	fresh := decodeObject(t, s.do("GET", "/api/v1/me", at, nil).want(t, 200).Body)
	checkShape(t, "me (no children yet)", fresh, shape{"id": "int", "role": "str", "children": "arr"})
	if n := len(fresh["children"].([]any)); n != 0 {
		t.Fatalf("fresh parent has %d children", n)
	}

	ph := decodeObject(t, s.do("POST", "/api/v1/me/phone", at, fmt.Sprintf(`{"code": %q}`, f.PhoneCode("13812345678"))).want(t, 200).Body)
	checkShape(t, "me/phone", ph, shape{"phone_masked": "str", "children": "arr"})
	if ph["phone_masked"] != "138****5678" {
		t.Fatalf("phone_masked = %v", ph["phone_masked"])
	}
	kids := ph["children"].([]any)
	if len(kids) != 1 {
		t.Fatalf("children = %v", kids)
	}
	checkShape(t, "child", kids[0].(map[string]any), studentShape)
	if jnum(kids[0].(map[string]any), "id") != kid.ID {
		t.Fatalf("child = %v", kids[0])
	}

	bc := decodeObject(t, s.do("POST", fmt.Sprintf("/api/v1/students/%d/binding-codes", orphan.ID), s.token(admin), nil).want(t, 201).Body)
	child := decodeObject(t, s.do("POST", "/api/v1/me/children", at, fmt.Sprintf(`{"school_id": %d, "student_no": %q, "name": %q, "binding_code": %q}`,
		school.ID, orphan.StudentNo, orphan.Name, bc["code"])).wantOneOf(t, 200, 201).Body)
	checkShape(t, "me/children", child, studentShape)
	if jnum(child, "id") != orphan.ID {
		t.Fatalf("linked %v", child)
	}
	me := decodeObject(t, s.do("GET", "/api/v1/me", at, nil).want(t, 200).Body)
	if n := len(me["children"].([]any)); n != 2 {
		t.Fatalf("me has %d children", n)
	}
}

// wantOneOf fails the test unless r's status is one of ok.
func (r resp) wantOneOf(t *testing.T, ok ...int) resp {
	t.Helper()
	for _, s := range ok {
		if r.Status == s {
			return r
		}
	}
	t.Fatalf("got %d %s, want one of %v", r.Status, r.Body, ok)
	return r
}
