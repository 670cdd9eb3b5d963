package handlers

import (
	"bytes"
	"io"
	"mime"

	"github.com/gofiber/fiber/v2"

	"kehou/models"
)

// RosterResultDTO is the answer of a roster import.
type RosterResultDTO struct {
	Created int `json:"created"`
	Updated int `json:"updated"`
	// Waivers counts the students whose fee waiver the file set or changed.
	Waivers int `json:"waivers"`
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
	rr, err := readRoster(c)
	if err != nil {
		return rr.Locate(err)
	}
	rows, err := rr.Rows()
	if err != nil {
		return rr.Locate(err)
	}
	res, err := models.ImportRoster(c.UserContext(), h.DB, a, id, rows)
	if err != nil {
		return rr.Locate(err)
	}
	return c.JSON(RosterResultDTO{Created: res.Created, Updated: res.Updated, Waivers: res.Waivers})
}

// readRoster reads the request's file, whatever its form, into a
// RosterReader (returned also with an error, to locate it).
func readRoster(c *fiber.Ctx) (*models.RosterReader, error) {
	var rr models.RosterReader
	mt, params, err := mime.ParseMediaType(c.Get(fiber.HeaderContentType))
	if err != nil {
		return &rr, fiber.ErrUnsupportedMediaType
	}
	switch mt {
	case "text/csv", "application/csv":
		err = readCSV(c.Body(), params["charset"], &rr)
	case xlsxType:
		b := c.Body()
		err = readXLSXRoster(bytes.NewReader(b), int64(len(b)), &rr)
	case fiber.MIMEMultipartForm:
		err = readRosterForm(c, &rr)
	default:
		return &rr, fiber.ErrUnsupportedMediaType
	}
	return &rr, err
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
	// One buffer of the file's size (bounded by the body limit), where
	// io.ReadAll would grow and copy it.
	b := make([]byte, fh.Size)
	if _, err := io.ReadFull(f, b); err != nil {
		return errBadCSV
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
