package main

import (
	"fmt"
	"testing"

	"kehou/models"
	"kehou/models/modelstest"
)

// TestRosterDropsLinksOfRemovedGuardians: when a roster re-import drops a
// guardian's phone (a custody change), the parent who was linked by proving
// that phone loses access to the child; a guardian still listed, and a link
// made with a school-issued binding code, stay.
func TestRosterDropsLinksOfRemovedGuardians(t *testing.T) {
	s := newTestServer(t)
	f, _ := withFakeWeChat(t, s)
	region := modelstest.Region(t, s.db, nil)
	school := modelstest.School(t, s.db, region.ID)
	admin := modelstest.Staff(t, s.db, models.RoleSchoolAdmin, school.ID, 0)
	at := s.token(admin)
	url := fmt.Sprintf("/api/v1/schools/%d/roster", school.ID)
	const father, mother, other = "13811110001", "13922220002", "13733330003"
	s.do("POST", url, at, rosterHeader+"\nR1,周一,男,3,1班,周父,"+father+",父亲\nR1,周一,男,3,1班,周母,"+mother+",母亲\n",
		"Content-Type", "text/csv").want(t, 200)
	var studentID int64
	s.db.R.Raw("SELECT id FROM students WHERE school_id = ? AND student_no = 'R1'", school.ID).Scan(&studentID)
	login := func(openid, phone string) string {
		tok := s.do("POST", "/api/v1/auth/wechat", "", map[string]string{"code": f.LoginCode(openid, "")}).want(t, 200).JSON()["access_token"].(string)
		s.do("POST", "/api/v1/me/phone", tok, map[string]string{"code": f.PhoneCode(phone)}).want(t, 200)
		return tok
	}
	fatherTok, motherTok := login("oFather", father), login("oMother", mother)
	// A grandparent linked with a binding code (proved no phone).
	grand := s.do("POST", "/api/v1/auth/wechat", "", map[string]string{"code": f.LoginCode("oGrand", "")}).want(t, 200).JSON()["access_token"].(string)
	code := s.do("POST", fmt.Sprintf("/api/v1/students/%d/binding-codes", studentID), at, nil).want(t, 201).JSON()["code"].(string)
	var name string
	s.db.R.Raw("SELECT name FROM students WHERE id = ?", studentID).Scan(&name)
	s.do("POST", "/api/v1/me/children", grand, map[string]any{"school_id": school.ID, "student_no": "R1", "name": name,
		"binding_code": code}).want(t, 201)
	path := fmt.Sprintf("/api/v1/students/%d/enrollments", studentID)
	for _, tok := range []string{fatherTok, motherTok, grand} {
		s.do("GET", path, tok, nil).want(t, 200)
	}

	// The school drops the father and adds another guardian.
	s.do("POST", url, at, rosterHeader+"\nR1,周一,男,3,1班,周母,"+mother+",母亲\nR1,周一,男,3,1班,周姨,"+other+",姨\n",
		"Content-Type", "text/csv").want(t, 200)
	t.Run("removedGuardian404", func(t *testing.T) {
		s.do("GET", path, fatherTok, nil).want(t, 404)
		if kids, ok := s.do("GET", "/api/v1/me", fatherTok, nil).want(t, 200).JSON()["children"].([]any); !ok || len(kids) != 0 {
			t.Fatalf("father's children = %v, want an empty list", kids)
		}
	})
	t.Run("listedGuardianKeepsAccess", func(t *testing.T) { s.do("GET", path, motherTok, nil).want(t, 200) })
	t.Run("codeLinkKept", func(t *testing.T) { s.do("GET", path, grand, nil).want(t, 200) })
}
