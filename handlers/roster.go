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
	"github.com/xuri/excelize/v2"
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
	records, err := readRoster(c)
	if err != nil {
		return err
	}
	rows, err := models.RosterFromRecords(records)
	if err != nil {
		return err
	}
	res, err := models.ImportRoster(c.UserContext(), h.DB, a, id, rows)
	if err != nil {
		return err
	}
	return c.JSON(RosterResultDTO{Created: res.Created, Updated: res.Updated})
}

// readRoster reads the request's file into records (the header first),
// whatever its form.
func readRoster(c *fiber.Ctx) ([][]string, error) {
	mt, params, err := mime.ParseMediaType(c.Get(fiber.HeaderContentType))
	if err != nil {
		return nil, fiber.ErrUnsupportedMediaType
	}
	switch mt {
	case "text/csv", "application/csv":
		return readCSV(c.Body(), params["charset"])
	case xlsxType:
		return readXLSX(c.Body())
	case fiber.MIMEMultipartForm:
		fh, err := c.FormFile("file")
		if err != nil {
			return nil, &models.ValidationError{Fields: map[string]string{"file": "请在表单字段 file 中上传名单文件"}}
		}
		f, err := fh.Open()
		if err != nil {
			return nil, err
		}
		defer f.Close()
		b, err := io.ReadAll(f)
		if err != nil {
			return nil, err
		}
		if isZip(b) {
			return readXLSX(b)
		}
		if isOLE(b) {
			return nil, errOldExcel
		}
		return readCSV(b, "")
	}
	return nil, fiber.ErrUnsupportedMediaType
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
func readCSV(b []byte, charset string) ([][]string, error) {
	cs := strings.ToLower(charset)
	if cs == "gbk" || cs == "gb2312" || cs == "gb18030" || !utf8.Valid(b) {
		// The decoder maps bytes that are not GB18030 to U+FFFD.
		d, err := simplifiedchinese.GB18030.NewDecoder().Bytes(b)
		if err != nil || !utf8.Valid(d) || bytes.ContainsRune(d, utf8.RuneError) {
			return nil, errBadEncoding
		}
		b = d
	}
	b = bytes.TrimPrefix(b, []byte("\uFEFF"))
	r := csv.NewReader(bytes.NewReader(b))
	r.FieldsPerRecord = -1 // short rows are tolerated; missing cells are empty
	var out [][]string
	for len(out) <= models.MaxRosterRows+1 { // header + the bound + one to notice
		rec, err := r.Read()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			var pe *csv.ParseError
			if errors.As(err, &pe) {
				return nil, errBadCSV.WithMessage("CSV 格式错误：第 %d 行", pe.Line)
			}
			return nil, errBadCSV
		}
		out = append(out, rec)
	}
	return out, nil
}

// readXLSX reads the first sheet of an .xlsx file, with bounds on how far
// it may inflate (a 10 MB zip can hold gigabytes of XML). Every part but the
// sheets and shared strings is inflated into memory, so the total bound is
// a per-request memory bound: a 20,000-row roster inflates to about 8 MB,
// and 64 MB leaves room for styles without letting a few uploads exhaust a
// small server. Sheets past 16 MB are streamed from a temporary file.
func readXLSX(b []byte) (rows [][]string, err error) {
	f, err := excelize.OpenReader(bytes.NewReader(b), excelize.Options{
		UnzipSizeLimit: 64 << 20, UnzipXMLSizeLimit: 16 << 20,
	})
	if err != nil {
		return nil, errBadXLSX
	}
	defer f.Close()
	sheets := f.GetSheetList()
	if len(sheets) == 0 {
		return nil, models.ErrRosterEmpty
	}
	it, err := f.Rows(sheets[0])
	if err != nil {
		return nil, errBadXLSX
	}
	defer it.Close()
	for it.Next() && len(rows) <= models.MaxRosterRows+1 {
		cols, err := it.Columns()
		if err != nil {
			return nil, errBadXLSX.WithMessage("无法读取 Excel 文件第 %d 行", len(rows)+1)
		}
		rows = append(rows, cols)
	}
	if err := it.Error(); err != nil {
		return nil, errBadXLSX
	}
	return rows, nil
}
