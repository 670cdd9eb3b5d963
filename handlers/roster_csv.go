package handlers

import (
	"bytes"
	"strings"
	"unicode/utf8"

	"golang.org/x/text/encoding/simplifiedchinese"

	"kehou/models"
)

// A roster CSV is split here rather than by encoding/csv, whose Read builds
// a whole record before its caller can count the cells: a header and one
// line of ten million commas made ten million empty strings (+1,000 MB
// resident) before the row-width check ran. The splitter walks the body
// once and bounds a row before it is built: at most
// models.MaxRosterLineBytes bytes (a quoted cell spanning lines counts
// toward its row) and models.MaxRosterCellsPerRow cells, and only the
// cells of the columns the RosterReader asks for are copied. The body
// itself is already in memory (the body limit bounds it).

// readCSV parses a CSV file. Excel in China saves CSV as GBK (GB18030) by
// default, so a body that is not UTF-8 is decoded as GB18030.
func readCSV(b []byte, charset string, rr *models.RosterReader) error {
	cs := strings.ToLower(charset)
	if cs == "gbk" || cs == "gb2312" || cs == "gb18030" || !utf8.Valid(b) {
		// The decoder maps bytes that are not GB18030 to U+FFFD.
		d, err := simplifiedchinese.GB18030.NewDecoder().Bytes(b)
		if err != nil || !utf8.Valid(d) || bytes.ContainsRune(d, utf8.RuneError) {
			return errBadEncoding
		}
		b = d
	}
	b = bytes.TrimPrefix(b, []byte("\uFEFF"))
	s := csvSplitter{b: b, comma: []byte(string(csvDelimiter(b))), line: 1}
	return s.each(rr)
}

// csvSplitter reads the records of a CSV body as RFC 4180 writes them (a
// cell in double quotes may hold the delimiter, newlines and doubled
// quotes; a quote elsewhere is an error), with a delimiter of one or more
// bytes.
type csvSplitter struct {
	b     []byte
	comma []byte
	pos   int // the next byte to read
	line  int // the line of the text pos is on, from 1
}

// each hands every record of the body to rr. Rows are numbered as a
// spreadsheet shows the file: one per record (a quoted cell may span
// lines) and one per blank line.
func (s *csvSplitter) each(rr *models.RosterReader) error {
	var cells []string
	row := 0
	for s.pos < len(s.b) {
		if n := s.newline(s.pos); n > 0 {
			// A blank line: a blank row of the sheet.
			s.pos += n
			s.line++
			row++
			continue
		}
		row++
		w := rr.Width()
		if cap(cells) < w {
			cells = make([]string, w)
		}
		cells = cells[:w]
		clear(cells)
		if err := s.record(rr.Slot, row, cells); err != nil {
			return err
		}
		if err := rr.Add(row, cells); err != nil {
			return err
		}
	}
	return nil
}

// newline is the length of the line break at i (1 or 2 bytes), or 0: LF,
// CRLF, or a CR that ends the body (encoding/csv drops it).
func (s *csvSplitter) newline(i int) int {
	switch {
	case i >= len(s.b):
		return 0
	case s.b[i] == '\n':
		return 1
	case s.b[i] == '\r' && i+1 == len(s.b):
		return 1
	case s.b[i] == '\r' && s.b[i+1] == '\n':
		return 2
	}
	return 0
}

// record reads one record at s.pos, the sheet's row row, putting the cell
// of each column col with a slot(col) >= 0 in cells[slot(col)], and leaves
// s.pos after its line break.
func (s *csvSplitter) record(slotOf func(col int) int, row int, cells []string) error {
	start := s.pos
	tooLong := func(end int) bool { return end-start > models.MaxRosterLineBytes }
	for col := 0; ; col++ {
		if col >= models.MaxRosterCellsPerRow {
			return models.ErrRosterRowTooWide.WithMessage("第%d行的单元格过多（最多%d个）", row, models.MaxRosterCellsPerRow)
		}
		slot := slotOf(col)
		var (
			val []byte
			err error
		)
		if s.pos < len(s.b) && s.b[s.pos] == '"' {
			val, err = s.quoted(slot >= 0, start, row)
		} else {
			val, err = s.plain(start, row)
		}
		if err != nil {
			return err
		}
		if tooLong(s.pos) {
			return lineTooLong(row)
		}
		if slot >= 0 {
			cells[slot] = string(val)
		}
		if bytes.HasPrefix(s.b[s.pos:], s.comma) {
			s.pos += len(s.comma)
			continue
		}
		if n := s.newline(s.pos); n > 0 {
			s.pos += n
			s.line++
		}
		return nil
	}
}

// plain reads an unquoted cell up to the delimiter, a line break or the end
// of the body, stopping once the row is past its bound.
func (s *csvSplitter) plain(start, row int) ([]byte, error) {
	b, c0 := s.b, s.comma[0]
	i := s.pos
	for ; i < len(b); i++ {
		c := b[i]
		if (c == '\n' || c == '\r') && s.newline(i) > 0 || c == c0 && bytes.HasPrefix(b[i:], s.comma) {
			break
		}
		if c == '"' {
			return nil, errBadCSV.WithMessage("CSV 格式错误：第 %d 行（引号只能包住整个单元格）", s.line)
		}
		if i-start > models.MaxRosterLineBytes {
			return nil, lineTooLong(row)
		}
	}
	v := b[s.pos:i]
	s.pos = i
	return v, nil
}

// quoted reads a cell in double quotes: its text, with doubled quotes
// undone and CRLF read as LF, is built only when keep is set.
func (s *csvSplitter) quoted(keep bool, start, row int) ([]byte, error) {
	b := s.b
	open := s.line
	var v []byte
	i := s.pos + 1
	for {
		// The row so far is b[start:i]; the closing quote is looked for
		// only within the row's bound.
		end := start + models.MaxRosterLineBytes + 1
		if i >= end {
			return nil, lineTooLong(row)
		}
		j := bytes.IndexByte(b[i:min(len(b), end)], '"')
		if j < 0 {
			if end < len(b) {
				return nil, lineTooLong(row)
			}
			return nil, errBadCSV.WithMessage("CSV 格式错误：第 %d 行的引号没有结束", open)
		}
		part := b[i : i+j]
		s.line += bytes.Count(part, []byte{'\n'})
		if keep {
			v = append(v, bytes.ReplaceAll(part, []byte("\r\n"), []byte("\n"))...)
		}
		i += j + 1
		if i < len(b) && b[i] == '"' {
			if keep {
				v = append(v, '"')
			}
			i++
			continue
		}
		break
	}
	s.pos = i
	if i < len(b) && !bytes.HasPrefix(b[i:], s.comma) && s.newline(i) == 0 {
		return nil, errBadCSV.WithMessage("CSV 格式错误：第 %d 行（引号只能包住整个单元格）", s.line)
	}
	return v, nil
}

func lineTooLong(row int) error {
	return models.ErrRosterLineTooLong.WithMessage("第%d行的内容过长（每行最多%d KB）", row, models.MaxRosterLineBytes>>10)
}

// csvDelimiters are the separators a roster CSV may use: a comma, or what
// spreadsheets export as "text" (tabs) or in other locales (semicolons),
// or a full-width comma typed by hand.
var csvDelimiters = []rune{',', '\t', ';', '，', '|'}

// csvDelimiter is the separator that splits one of the first lines of b
// into a roster header (title rows may sit above it); a comma when none
// does, and the header errors then say what is wrong. Only the columns a
// header may be in are split off.
func csvDelimiter(b []byte) rune {
	b = b[:min(len(b), 64<<10)]
	lines := strings.SplitN(string(b), "\n", 8)
	for _, l := range lines[:min(len(lines), 7)] {
		l = strings.TrimSpace(l)
		for _, d := range csvDelimiters {
			if strings.ContainsRune(l, d) && models.IsRosterHeader(strings.SplitN(l, string(d), models.MaxRosterHeaderCols+1)) {
				return d
			}
		}
	}
	return ','
}
