package models_test

import (
	"fmt"
	"testing"

	"kehou/models"
)

func TestClassKey(t *testing.T) {
	for _, c := range []struct{ a, b string }{
		{"(2)班", "2班"}, {"（２）班", "2班"}, {"02班", "2班"}, {"2", "2班"}, {"2 班", "2班"}, {"【10】班", "10班"},
		{"10班", "10班"}, {"0班", "0班"}, {"实验班", "实验班"}, {"1班(实验)", "1班实验"},
	} {
		if got := models.ClassKey(c.a); got != c.b {
			t.Errorf("ClassKey(%q) = %q, want %q", c.a, got, c.b)
		}
	}
	if models.ClassKey("12班") == models.ClassKey("2班") || models.ClassKey("20班") == models.ClassKey("2班") {
		t.Fatal("different classes share a key")
	}
}

func TestSameName(t *testing.T) {
	for _, c := range []struct {
		a, b string
		same bool
	}{
		{"王　芳", "王芳", true}, {" 王 芳 ", "王芳", true}, {"阿依·古丽", "阿依•古丽", true}, {"阿依·古丽", "阿依・古丽", true},
		{"ＬＩ Ｌｅｉ", "lilei", true}, {"王芳", "王方", false}, {"王芳芳", "王芳", false},
	} {
		if got := models.SameName(c.a, c.b); got != c.same {
			t.Errorf("SameName(%q, %q) = %v", c.a, c.b, got)
		}
	}
}

// TestRosterHeaderForms: headers as class lists write them are read.
func TestRosterHeaderForms(t *testing.T) {
	for _, h := range [][]string{
		{"学号", "姓  名", "性　别", "年级", "班级：", "*家长姓名", "家长联系电话"},
		{"学号", "姓名", "性别", "年级", "班级", "父亲电话", "母亲电话"},
		{"学号", "姓名", "性别", "年级", "班级", "父亲姓名", "父亲手机号", "母亲姓名", "母亲手机号"},
		{"学号", "姓名", "性别", "年级", "班级", "母亲电话"},
	} {
		if !models.IsRosterHeader(h) {
			t.Errorf("IsRosterHeader(%q) = false", h)
		}
	}
	for _, h := range [][]string{
		{"学号", "姓名", "性别", "年级", "班级", "父亲姓名"},           // a name without a phone
		{"学号", "姓名", "性别", "年级", "班级", "家长联系电话", "母亲电话"}, // guardian_phone without guardian_name
	} {
		if models.IsRosterHeader(h) {
			t.Errorf("IsRosterHeader(%q) = true", h)
		}
	}
}

// TestRosterTwoParentsRows: a line of a two-parent list is one row of
// the file however many guardians it gives — MaxRosterRows such lines
// are within the bound — and its student has both parents.
func TestRosterTwoParentsRows(t *testing.T) {
	recs := [][]string{{"学号", "姓名", "性别", "年级", "班级", "父亲姓名", "父亲电话", "母亲电话"}}
	for i := range models.MaxRosterRows {
		recs = append(recs, []string{fmt.Sprintf("T%05d", i), "学生", "男", "3", "1班", "父", fmt.Sprintf("138%08d", i), fmt.Sprintf("139%08d", i)})
	}
	rows, err := models.RosterFromRecords(recs)
	if err != nil {
		t.Fatal(err)
	}
	out, err := models.ValidateRoster(rows)
	if err != nil {
		t.Fatalf("ValidateRoster: %v", err)
	}
	if len(out) != models.MaxRosterRows || len(out[0].Guardians) != 2 || out[0].Guardians[1].Relationship != "母亲" ||
		out[0].Guardians[1].Name != "母亲" || out[0].Guardians[0].Name != "父" {
		t.Fatalf("%d students, first %+v", len(out), out[0])
	}
}
