package handlers

import (
	"bytes"
	"encoding/csv"
	"errors"
	"io"
	"mime"
	"strings"
	"unicode/utf8"

	"github.com/gofiber/fiber/v2"
	"golang.org/x/text/encoding/simplifiedchinese"

	"kehou/models"
)

// RosterResultDTO is the answer of a roster import.
type RosterResultDTO struct {
	Created int `json:"created"`
	Updated int `json:"updated"`
}

// xlsxType is the media type of an .xlsx file.
const xlsxType = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"

// ImportRoster is POST /api/v1/schools/{id}/roster: a CSV body (text/csv)
// or an XLSX (or CSV) file in the multipart field "file". The caller's scope
// is checked before the file is read, so another tenant's school answers 404
// whatever the file holds.
func (h *API) ImportRoster(c *fiber.Ctx) error {
	id, err := idParam(c, "id")
	if err != nil {
		return err
	}
	a := CurrentActor(c)
	if err := models.CheckRosterAccess(c.UserContext(), h.DB, a, id); err != nil {
		return err
	}
	rows, err := readRoster(c)
	if err != nil {
		return err
	}
	res, err := models.ImportRoster(c.UserContext(), h.DB, a, id, rows)
	if err != nil {
		return err
	}
	return c.JSON(RosterResultDTO{Created: res.Created, Updated: res.Updated})
}

// readRoster reads the request's file, whatever its form, into the rows of
// the columns its header names.
func readRoster(c *fiber.Ctx) ([]models.RosterRow, error) {
	mt, params, err := mime.ParseMediaType(c.Get(fiber.HeaderContentType))
	if err != nil {
		return nil, fiber.ErrUnsupportedMediaType
	}
	var rr models.RosterReader
	switch mt {
	case "text/csv", "application/csv":
		err = readCSV(c.Body(), params["charset"], &rr)
	case xlsxType:
		b := c.Body()
		err = readXLSXRoster(bytes.NewReader(b), int64(len(b)), &rr)
	case fiber.MIMEMultipartForm:
		err = readRosterForm(c, &rr)
	default:
		return nil, fiber.ErrUnsupportedMediaType
	}
	if err != nil {
		return nil, err
	}
	return rr.Rows()
}

// readRosterForm reads the multipart field "file": an .xlsx is read in
// place (the zip reader reads at offsets of the uploaded file), anything
// else as CSV.
func readRosterForm(c *fiber.Ctx, rr *models.RosterReader) error {
	fh, err := c.FormFile("file")
	if err != nil {
		return &models.ValidationError{Fields: map[string]string{"file": "请在表单字段 file 中上传名单文件"}}
	}
	f, err := fh.Open()
	if err != nil {
		return err
	}
	defer f.Close()
	head := make([]byte, 8)
	n, _ := f.ReadAt(head, 0)
	head = head[:n]
	switch {
	case isZip(head):
		return readXLSXRoster(f, fh.Size, rr)
	case isOLE(head):
		return errOldExcel
	}
	b, err := io.ReadAll(f)
	if err != nil {
		return err
	}
	return readCSV(b, "", rr)
}

var (
	errBadCSV      = models.E(models.KindBadRequest, "bad_csv", "CSV 格式错误")
	errBadXLSX     = models.E(models.KindBadRequest, "bad_xlsx", "无法读取 Excel 文件，请确认是 .xlsx 格式")
	errOldExcel    = models.E(models.KindBadRequest, "bad_xlsx", "不支持旧版 .xls 文件，请另存为 .xlsx 或 CSV 后上传")
	errBadEncoding = models.E(models.KindBadRequest, "bad_encoding", "文件编码无法识别，请使用 UTF-8 或 GBK 编码")
)

func isZip(b []byte) bool { return bytes.HasPrefix(b, []byte("PK\x03\x04")) }

// isOLE recognises the legacy binary .xls container.
func isOLE(b []byte) bool { return bytes.HasPrefix(b, []byte{0xD0, 0xCF, 0x11, 0xE0}) }

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
	r := csv.NewReader(bytes.NewReader(b))
	r.Comma = csvDelimiter(b)
	r.FieldsPerRecord = -1 // short rows are tolerated; missing cells are empty
	r.ReuseRecord = true
	// Rows are numbered as a spreadsheet shows the file: one per record (a
	// quoted cell may span lines) and one per blank line, which
	// encoding/csv skips without a trace: the gap between the line where a
	// record starts and the line where the one before it ended.
	row, prevEnd := 0, 0
	for {
		rec, err := r.Read()
		if errors.Is(err, io.EOF) {
			return nil
		}
		if err != nil {
			var pe *csv.ParseError
			if errors.As(err, &pe) {
				return errBadCSV.WithMessage("CSV 格式错误：第 %d 行", pe.Line)
			}
			return errBadCSV
		}
		if len(rec) > models.MaxRosterCellsPerRow {
			return models.ErrRosterRowTooWide.WithMessage("第%d行的单元格过多（最多%d个）", row+1, models.MaxRosterCellsPerRow)
		}
		start, _ := r.FieldPos(0)
		end, _ := r.FieldPos(len(rec) - 1)
		row += start - prevEnd
		prevEnd = end + strings.Count(rec[len(rec)-1], "\n")
		cells := make([]string, rr.Width())
		for col, v := range rec {
			if s := rr.Slot(col); s >= 0 {
				cells[s] = strings.Clone(v)
			}
		}
		if err := rr.Add(row, cells); err != nil {
			return err
		}
	}
}

// csvDelimiters are the separators a roster CSV may use: a comma, or what
// spreadsheets export as "text" (tabs) or in other locales (semicolons),
// or a full-width comma typed by hand.
var csvDelimiters = []rune{',', '\t', ';', '，', '|'}

// csvDelimiter is the separator that splits one of the first lines of b
// into a roster header (title rows may sit above it); a comma when none
// does, and the header errors then say what is wrong.
func csvDelimiter(b []byte) rune {
	b = b[:min(len(b), 64<<10)]
	lines := strings.SplitN(string(b), "\n", 8)
	for _, l := range lines[:min(len(lines), 7)] {
		l = strings.TrimSpace(l)
		for _, d := range csvDelimiters {
			if strings.ContainsRune(l, d) && models.IsRosterHeader(strings.Split(l, string(d))) {
				return d
			}
		}
	}
	return ','
}
