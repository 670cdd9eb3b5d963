// A streaming XLSX roster reader over the zip parts (shared strings, the
// first sheet), reading only the header's columns with every size bounded
// (the archive's and the XML's own bounds are in roster_xlsx_guard.go).

package handlers

import (
	"archive/zip"
	"encoding/xml"
	"errors"
	"io"
	"path"
	"strconv"
	"strings"

	"kehou/models"
)

// Reading an .xlsx roster is a stream over the zip's parts, built for files
// made to hurt: a cell in column XFD on every row, one long shared string
// referenced by every cell, a part that inflates a thousandfold. What it
// holds is bounded, whatever the shape:
//
//   - the shared strings: at most xlsxMaxSharedBytes bytes, each string
//     kept to MaxRosterCellBytes+1 bytes in one arena (a longer one is
//     refused as soon as a read column refers to it, never copied whole);
//   - the sheet: one row's cells of the columns the header names (stray
//     cells are skipped unread, MaxRosterCellsPerRow at most per row);
//   - the XML decoder: one token, at most xlsxMaxToken bytes (comments,
//     CDATA and DOCTYPE, one token whatever they hold, are refused);
//   - the archive: at most xlsxMaxEntries entries, counted before
//     archive/zip reads its directory;
//   - the inflated bytes read: xlsxMaxInflated, and the parts' declared
//     sizes together as well.
//
// excelize is not used here: its row iterator pads every row to its last
// cell (16,384 strings for a cell in XFD) and copies a rich-text shared
// string on every reference.
const (
	xlsxMaxInflated    = 64 << 20
	xlsxMaxSharedBytes = 8 << 20
	xlsxMaxSharedItems = 1 << 20
	xlsxMaxToken       = 64 << 10
	xlsxMaxEntries     = 1000
)

var errXLSXTooBig = errBadXLSX.WithMessage("Excel 文件解压后过大，请删除多余的工作表、图片或空白行列后重试")

// readXLSXRoster streams the first sheet of the .xlsx in ra (size bytes)
// into rr.
func readXLSXRoster(ra io.ReaderAt, size int64, rr *models.RosterReader) error {
	if err := checkZipEntries(ra, size); err != nil {
		return err
	}
	zr, err := zip.NewReader(ra, size)
	if err != nil {
		return errBadXLSX
	}
	var declared uint64
	parts := map[string]*zip.File{}
	for _, f := range zr.File {
		declared += f.UncompressedSize64
		parts[strings.TrimPrefix(f.Name, "/")] = f
	}
	if declared > xlsxMaxInflated {
		return errXLSXTooBig
	}
	budget := int64(xlsxMaxInflated)
	open := func(name string) (*xml.Decoder, func(), error) {
		f, ok := parts[name]
		if !ok {
			return nil, nil, errBadXLSX
		}
		rc, err := f.Open()
		if err != nil {
			return nil, nil, errBadXLSX
		}
		g := &xmlGuard{r: rc, budget: &budget}
		return xml.NewDecoder(g), func() { rc.Close() }, nil
	}
	sheet, shared, err := xlsxFirstSheet(open)
	if err != nil {
		return err
	}
	var sst sharedStrings
	if _, ok := parts[shared]; ok {
		if err := sst.read(open, shared); err != nil {
			return err
		}
	}
	d, done, err := open(sheet)
	if err != nil {
		return err
	}
	defer done()
	return readSheet(d, &sst, rr)
}

// xlsxFirstSheet finds the part of the workbook's first sheet and of its
// shared strings, through the workbook and its relationships.
func xlsxFirstSheet(open func(string) (*xml.Decoder, func(), error)) (sheet, shared string, err error) {
	d, done, err := open("xl/workbook.xml")
	if err != nil {
		return "", "", err
	}
	var rid string
	for rid == "" {
		tok, err := d.Token()
		if err != nil {
			done()
			return "", "", xlsxErr(err)
		}
		if se, ok := tok.(xml.StartElement); ok && se.Name.Local == "sheet" {
			for _, a := range se.Attr {
				if a.Name.Local == "id" && strings.Contains(a.Name.Space, "relationships") {
					rid = a.Value
				}
			}
			if rid == "" {
				done()
				return "", "", errBadXLSX
			}
		}
	}
	done()
	d, done, err = open("xl/_rels/workbook.xml.rels")
	if err != nil {
		return "", "", err
	}
	defer done()
	shared = "xl/sharedStrings.xml"
	for {
		tok, err := d.Token()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			return "", "", xlsxErr(err)
		}
		se, ok := tok.(xml.StartElement)
		if !ok || se.Name.Local != "Relationship" {
			continue
		}
		var id, target, typ string
		for _, a := range se.Attr {
			switch a.Name.Local {
			case "Id":
				id = a.Value
			case "Target":
				target = a.Value
			case "Type":
				typ = a.Value
			}
		}
		if strings.HasPrefix(target, "/") {
			target = strings.TrimPrefix(target, "/")
		} else {
			target = path.Join("xl", target)
		}
		switch {
		case id == rid:
			sheet = target
		case strings.HasSuffix(typ, "/sharedStrings"):
			shared = target
		}
	}
	if sheet == "" {
		return "", "", errBadXLSX
	}
	return sheet, shared, nil
}

// sharedStrings is a workbook's shared string table, each string cut to
// MaxRosterCellBytes+1 bytes (enough to tell it is too long), in one arena.
type sharedStrings struct {
	arena []byte
	ends  []uint32
}

func (s *sharedStrings) get(i int) (string, bool) {
	if i < 0 || i >= len(s.ends) {
		return "", false
	}
	start := uint32(0)
	if i > 0 {
		start = s.ends[i-1]
	}
	return string(s.arena[start:s.ends[i]]), true
}

func (s *sharedStrings) read(open func(string) (*xml.Decoder, func(), error), name string) error {
	d, done, err := open(name)
	if err != nil {
		return err
	}
	defer done()
	var (
		inSI, inT bool
		phonetic  int // depth inside <rPh>, whose text is a reading aid, not the value
		start     int
	)
	for {
		tok, err := d.RawToken()
		if errors.Is(err, io.EOF) {
			return nil
		}
		if err != nil {
			return xlsxErr(err)
		}
		switch t := tok.(type) {
		case xml.StartElement:
			switch t.Name.Local {
			case "si":
				if len(s.ends) >= xlsxMaxSharedItems {
					return errXLSXTooBig
				}
				inSI, start = true, len(s.arena)
			case "rPh":
				phonetic++
			case "t":
				inT = inSI && phonetic == 0
			}
		case xml.EndElement:
			switch t.Name.Local {
			case "si":
				inSI = false
				s.ends = append(s.ends, uint32(len(s.arena)))
			case "rPh":
				phonetic--
			case "t":
				inT = false
			}
		case xml.CharData:
			if inT {
				room := models.MaxRosterCellBytes + 1 - (len(s.arena) - start)
				if room > 0 {
					s.arena = append(s.arena, t[:min(room, len(t))]...)
				}
				if len(s.arena) > xlsxMaxSharedBytes {
					return errXLSXTooBig
				}
			}
		}
	}
}

// readSheet streams a worksheet's rows into rr, reading only the cells of
// the columns rr asks for.
func readSheet(d *xml.Decoder, sst *sharedStrings, rr *models.RosterReader) error {
	var (
		line, col, ncells int
		cells             []string
		slot              = -1
		typ               string
		text              []byte
		inText, inRow     bool
		phonetic          int
	)
	keep := func(b []byte) {
		if room := models.MaxRosterCellBytes + 1 - len(text); room > 0 {
			text = append(text, b[:min(room, len(b))]...)
		}
	}
	for {
		tok, err := d.RawToken()
		if errors.Is(err, io.EOF) {
			return nil
		}
		if err != nil {
			return xlsxErr(err)
		}
		switch t := tok.(type) {
		case xml.StartElement:
			switch t.Name.Local {
			case "row":
				n := line + 1
				if v := attr(t, "r"); v != "" {
					r, err := strconv.Atoi(v)
					if err != nil || r <= line {
						return errBadXLSX.WithMessage("Excel 文件的行号无效：%q", v)
					}
					n = r
				}
				line, col, ncells, inRow = n, -1, 0, true
				cells = make([]string, rr.Width())
			case "c":
				if !inRow {
					return errBadXLSX
				}
				if ncells++; ncells > models.MaxRosterCellsPerRow {
					return models.ErrRosterRowTooWide.WithMessage("第%d行的单元格过多（最多%d个）", line, models.MaxRosterCellsPerRow)
				}
				col++
				if ref := attr(t, "r"); ref != "" {
					c, ok := columnOf(ref)
					if !ok {
						return errBadXLSX.WithMessage("Excel 文件的单元格位置无效：%q", ref)
					}
					col = c
				}
				slot, typ, text = rr.Slot(col), attr(t, "t"), text[:0]
			case "v":
				inText = slot >= 0
			case "rPh":
				phonetic++
			case "t":
				inText = slot >= 0 && phonetic == 0
			}
		case xml.EndElement:
			switch t.Name.Local {
			case "v", "t":
				inText = false
			case "rPh":
				phonetic--
			case "c":
				if slot >= 0 {
					v, err := cellValue(typ, text, sst)
					if err != nil {
						return err
					}
					cells[slot] = v
				}
				slot = -1
			case "row":
				inRow = false
				if err := rr.Add(line, cells); err != nil {
					return err
				}
			case "sheetData":
				return nil
			}
		case xml.CharData:
			if inText {
				keep(t)
			}
		}
	}
}

// cellValue is the text of a cell of type typ whose <v> (or inline <t>)
// text is raw.
func cellValue(typ string, raw []byte, sst *sharedStrings) (string, error) {
	switch typ {
	case "s":
		i, err := strconv.Atoi(strings.TrimSpace(string(raw)))
		if err != nil {
			return "", errBadXLSX
		}
		v, ok := sst.get(i)
		if !ok {
			return "", errBadXLSX
		}
		return v, nil
	case "", "n":
		return plainNumber(string(raw)), nil
	}
	return string(raw), nil
}

// plainNumber writes a number Excel stored in scientific notation
// (1.3800138E10, a phone typed as a number) the way the sheet shows it.
func plainNumber(s string) string {
	if !strings.ContainsAny(s, "eE") {
		return s
	}
	f, err := strconv.ParseFloat(s, 64)
	if err != nil {
		return s
	}
	return strconv.FormatFloat(f, 'f', -1, 64)
}

// columnOf is the column (from 0) of a cell reference such as "XFD7".
func columnOf(ref string) (int, bool) {
	col, i := 0, 0
	for ; i < len(ref) && ref[i] >= 'A' && ref[i] <= 'Z'; i++ {
		col = col*26 + int(ref[i]-'A'+1)
		if col > 16384 {
			return 0, false
		}
	}
	if i == 0 {
		return 0, false
	}
	return col - 1, true
}

func attr(se xml.StartElement, name string) string {
	for _, a := range se.Attr {
		if a.Name.Local == name {
			return a.Value
		}
	}
	return ""
}

// xlsxErr maps a read error to the answer: an error of the roster (a cell
// too long) as it is, a bound passed as errXLSXTooBig, else a bad file.
func xlsxErr(err error) error {
	var me *models.Error
	if errors.As(err, &me) {
		return err
	}
	return errBadXLSX
}
