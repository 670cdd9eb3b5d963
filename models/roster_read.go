package models

import (
	"errors"
	"fmt"
	"slices"
	"strings"
)

// Bounds of reading one roster file. With them an import holds at most
// MaxRosterRows × len(RosterColumns) cells of at most MaxRosterCellBytes
// each (about 40 MB in the worst case, a few MB for a real roster),
// whatever the file's shape: stray columns and blank rows cost reading
// time, never memory.
const (
	// MaxRosterCellBytes bounds one cell of a column the roster reads (the
	// longest field, a name of 50 characters, is at most 200 bytes).
	MaxRosterCellBytes = 256
	// MaxRosterCellsPerRow bounds the cells one row of a file may hold,
	// counted before any is read, so a row cannot make the reader walk an
	// unbounded number of stray cells.
	MaxRosterCellsPerRow = 1024
	// MaxRosterLineBytes bounds one row of a CSV file (a quoted cell may
	// span lines: the bound is the row's): a real row is well under 1 KB.
	MaxRosterLineBytes = 64 << 10
	// MaxRosterHeaderCols is how many columns of the rows above and at the
	// header are looked at: a header past column 64 is not a roster's.
	MaxRosterHeaderCols = 64
)

// Errors of a roster file whose shape is beyond the bounds.
var (
	ErrRosterNoHeader = E(KindInvalid, "invalid_rows", "未找到表头：表头行应含列名 "+
		"student_no,name,gender,grade,class,guardian_name,guardian_phone（或 学号,姓名,性别,年级,班级,监护人姓名,监护人手机号）；"+
		"CSV 请用逗号或制表符分隔，或直接上传 .xlsx")
	ErrRosterCellTooLong = E(KindInvalid, "cell_too_long",
		fmt.Sprintf("单元格内容过长（每格最多%d字节）", MaxRosterCellBytes))
	ErrRosterRowTooWide = E(KindInvalid, "row_too_wide",
		fmt.Sprintf("一行的单元格过多（最多%d个）", MaxRosterCellsPerRow))
	ErrRosterLineTooLong = E(KindInvalid, "line_too_long",
		fmt.Sprintf("一行的内容过长（每行最多%d KB）", MaxRosterLineBytes>>10))
)

// RosterReader turns the rows of a roster file, as a reader streams them,
// into RosterRows, keeping only the columns the header names. A file reader
// asks Slot for each cell's column before it reads the cell, and hands each
// row to Add with the cells in their slots; a cell without a slot is never
// read. The header is the first row, or one of the first few when title
// rows sit above it. Rows are numbered as a spreadsheet shows them: data
// row 1 is the row under the header, and blank rows count (a file reader
// passes each row's line, and gaps are blank rows).
type RosterReader struct {
	titles  [][]string     // rows before the header, at most rosterTitleRows+1
	lines   []int          // their lines
	idx     map[string]int // column → file column, once the header is known
	cols    []int          // file column of each slot, once the header is known
	names   []string       // column of each slot
	texts   []string       // the header's cell of each slot, as written
	pairs   bool           // the header has a parent's columns
	header  int            // the header's line
	rows    []RosterRow
	nonzero int // rows with a cell
}

// Slot reports where a cell of file column col (from 0) goes in the slice
// handed to Add, or -1 when the roster does not read that column.
func (r *RosterReader) Slot(col int) int {
	if r.idx == nil {
		if col < MaxRosterHeaderCols {
			return col
		}
		return -1
	}
	for i, c := range r.cols {
		if c == col {
			return i
		}
	}
	return -1
}

// Width is the length of the slice Add expects for the next row.
func (r *RosterReader) Width() int {
	if r.idx == nil {
		return MaxRosterHeaderCols
	}
	return len(r.cols)
}

// Add takes the row at line (from 1, increasing) with its cells in their
// slots. It fails on a cell over MaxRosterCellBytes and on more than
// MaxRosterRows data rows with content.
func (r *RosterReader) Add(line int, cells []string) error {
	for i, c := range cells {
		if len(c) > MaxRosterCellBytes {
			if r.idx == nil {
				// A title or a note above the header may be long; a
				// header cell never is.
				cells[i] = strings.ToValidUTF8(c[:MaxRosterCellBytes], "")
				continue
			}
			return &ImportError{Errors: []RowError{{Row: line - r.header, Field: r.names[i],
				Message: fmt.Sprintf("单元格内容过长（每格最多%d字节）", MaxRosterCellBytes)}}}
		}
	}
	if r.idx == nil {
		if idx, errs := rosterHeader(cells); len(errs) == 0 {
			r.useHeader(idx, line, cells)
			return nil
		}
		if len(r.titles) <= rosterTitleRows {
			r.titles = append(r.titles, trimRight(cells))
			r.lines = append(r.lines, line)
		}
		return nil
	}
	row := RosterRow{Row: line - r.header}
	var parents map[string]string
	for i, c := range cells {
		c = strings.TrimSpace(c)
		switch r.names[i] {
		case "student_no":
			row.StudentNo = c
		case "name":
			row.Name = c
		case "gender":
			row.Gender = c
		case "grade":
			row.Grade = c
		case "class":
			row.Class = c
		case "guardian_name":
			row.GuardianName = c
		case "guardian_phone":
			row.GuardianPhone = c
		case "relationship":
			row.Relationship = c
		case "fee_waiver":
			row.FeeWaiver = c
		case "waiver_reason":
			row.WaiverReason = c
		default: // a parent's column
			if c != "" {
				if parents == nil {
					parents = map[string]string{}
				}
				parents[r.names[i]] = c
			}
		}
	}
	if row.blank() && parents == nil {
		return nil
	}
	if r.nonzero++; r.nonzero > MaxRosterRows {
		return ErrRosterTooLong
	}
	if !r.pairs {
		r.rows = append(r.rows, row)
		return nil
	}
	_, withGuardian := r.idx["guardian_phone"]
	r.rows = append(r.rows, expandParents(row, parents, withGuardian)...)
	return nil
}

func (r *RosterReader) useHeader(idx map[string]int, line int, cells []string) {
	r.idx, r.header, r.titles, r.lines = idx, line, nil, nil
	cols := append(RosterColumns[:len(RosterColumns):len(RosterColumns)], RosterPairColumns...)
	for _, c := range append(cols, RosterWaiverColumns...) {
		if i, ok := idx[c]; ok {
			r.cols = append(r.cols, i)
			r.names = append(r.names, c)
			r.texts = append(r.texts, strings.TrimSpace(strings.TrimPrefix(cells[i], "\uFEFF")))
			if slices.Contains(RosterPairColumns, c) {
				r.pairs = true
			}
		}
	}
}

func trimRight(cells []string) []string {
	n := len(cells)
	for n > 0 && strings.TrimSpace(cells[n-1]) == "" {
		n--
	}
	return append([]string(nil), cells[:n]...)
}

// Rows returns the data rows read (blank ones left out, their numbers
// kept), or the header's errors when no row was a header.
func (r *RosterReader) Rows() ([]RosterRow, error) {
	if r.idx == nil {
		if len(r.titles) == 0 {
			return nil, ErrRosterEmpty
		}
		_, errs := rosterHeader(r.titles[0])
		if len(errs) >= len(RosterColumns)-1 {
			// Not one column was recognised: the file has no header, or
			// its cells are split by something the reader does not take.
			return nil, &ImportError{Errors: []RowError{{Row: 0, Field: "header", Message: ErrRosterNoHeader.Message}}}
		}
		return nil, &ImportError{Errors: errs}
	}
	return r.rows, nil
}

// Locate sets where in the file each error of an ImportError is: its line
// (as a spreadsheet numbers it; the message's 第N行 becomes that line too)
// and, for a column the header names, the header's cell and the cell's
// reference. Other errors pass unchanged.
func (r *RosterReader) Locate(err error) error {
	var ie *ImportError
	if !errors.As(err, &ie) {
		return err
	}
	header := r.header
	if r.idx == nil && len(r.lines) > 0 {
		header = r.lines[0] // the row read as the header, which was not one
	}
	for i := range ie.Errors {
		e := &ie.Errors[i]
		if header == 0 || e.Row < 0 {
			continue
		}
		e.Line = header + e.Row
		// The message names the row as the file shows it, as Line does.
		if rest, ok := strings.CutPrefix(e.Message, fmt.Sprintf("第%d行", e.Row)); ok && e.Row > 0 {
			e.Message = fmt.Sprintf("第%d行", e.Line) + rest
		}
		for s, name := range r.names {
			if name == e.Field {
				e.Column, e.Cell = r.texts[s], fmt.Sprintf("%s%d", ColumnName(r.cols[s]), e.Line)
			}
		}
	}
	return err
}

// ColumnName is the letters of a spreadsheet's column col (from 0): A, Z,
// AA.
func ColumnName(col int) string {
	s := ""
	for col++; col > 0; col = (col - 1) / 26 {
		s = string(rune('A'+(col-1)%26)) + s
	}
	return s
}

// RosterFromRecords maps the records of a file (one per line, from line 1)
// to rows by the header's column names, as RosterReader does. It tolerates
// a UTF-8 BOM, spaces around names and values, column order, extra columns
// and the usual Chinese column names (学号, 姓名, …). A missing or repeated
// column is an ImportError on row 0 (the header).
func RosterFromRecords(records [][]string) ([]RosterRow, error) {
	var r RosterReader
	for i, rec := range records {
		cells := make([]string, r.Width())
		for col, v := range rec {
			if s := r.Slot(col); s >= 0 {
				cells[s] = v
			}
		}
		if err := r.Add(i+1, cells); err != nil {
			return nil, err
		}
	}
	return r.Rows()
}

// IsRosterHeader reports whether cells name every column a roster needs.
func IsRosterHeader(cells []string) bool {
	_, errs := rosterHeader(cells)
	return len(errs) == 0
}
