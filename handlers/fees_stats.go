package handlers

import (
	"strconv"

	"github.com/gofiber/fiber/v2"

	"kehou/models"
)

// FinanceDTO is the money of a scope (GET /api/v1/stats/finance), in fen,
// with the students each figure concerns.
type FinanceDTO struct {
	Orders              int64 `json:"orders"`
	BilledFen           int64 `json:"billed_fen"`
	BilledStudents      int64 `json:"billed_students"`
	CollectedFen        int64 `json:"collected_fen"`
	CollectedStudents   int64 `json:"collected_students"`
	RefundedFen         int64 `json:"refunded_fen"`
	RefundedStudents    int64 `json:"refunded_students"`
	WaivedFen           int64 `json:"waived_fen"`
	WaivedStudents      int64 `json:"waived_students"`
	CreditedFen         int64 `json:"credited_fen"`
	VoidedFen           int64 `json:"voided_fen"`
	OutstandingFen      int64 `json:"outstanding_fen"`
	OutstandingStudents int64 `json:"outstanding_students"`
}

func newFinanceDTO(f models.FinanceFigures) FinanceDTO {
	return FinanceDTO{Orders: f.Orders, BilledFen: f.BilledFen, BilledStudents: f.BilledStudents, CollectedFen: f.CollectedFen,
		CollectedStudents: f.CollectedStudents, RefundedFen: f.RefundedFen, RefundedStudents: f.RefundedStudents,
		WaivedFen: f.WaivedFen, WaivedStudents: f.WaivedStudents, CreditedFen: f.CreditedFen, VoidedFen: f.VoidedFen,
		OutstandingFen: f.OutstandingFen, OutstandingStudents: f.OutstandingStudents}
}

// SchoolFinanceDTO is one school's row.
type SchoolFinanceDTO struct {
	SchoolID   int64  `json:"school_id"`
	SchoolName string `json:"school_name"`
	FinanceDTO
}

// financeColumns are the export's columns (amounts in yuan: "990.00" in
// CSV, numbers shown to the fen in XLSX, which a spreadsheet sums).
var financeColumns = []struct {
	header string
	kind   exportKind
	cell   func(models.SchoolFinance) any
}{
	{"学校", exportText, func(s models.SchoolFinance) any { return s.SchoolName }},
	{"订单数", exportInt, func(s models.SchoolFinance) any { return s.Orders }},
	{"应收（元）", exportYuan, func(s models.SchoolFinance) any { return s.BilledFen }},
	{"应收人数", exportInt, func(s models.SchoolFinance) any { return s.BilledStudents }},
	{"减免（元）", exportYuan, func(s models.SchoolFinance) any { return s.WaivedFen }},
	{"减免人数", exportInt, func(s models.SchoolFinance) any { return s.WaivedStudents }},
	{"实收（元）", exportYuan, func(s models.SchoolFinance) any { return s.CollectedFen }},
	{"缴费人数", exportInt, func(s models.SchoolFinance) any { return s.CollectedStudents }},
	{"退费（元）", exportYuan, func(s models.SchoolFinance) any { return s.RefundedFen }},
	{"退费人数", exportInt, func(s models.SchoolFinance) any { return s.RefundedStudents }},
	{"待缴（元）", exportYuan, func(s models.SchoolFinance) any { return s.OutstandingFen }},
	{"待缴人数", exportInt, func(s models.SchoolFinance) any { return s.OutstandingStudents }},
}

// StatsFinance is GET /api/v1/stats/finance?region_id|school_id&term_id
// [&format=json|csv|xlsx] (bureau or school admin): billed, collected,
// refunded, waived and outstanding — amounts and students — in total and
// per school, summed from the ledger.
func (h *API) StatsFinance(c *fiber.Ctx) error {
	sc, err := h.statsScope(c)
	if err != nil {
		return err
	}
	termID, err := queryID(c, "term_id")
	if err != nil {
		return err
	}
	format := c.Query("format", "json")
	if format != "json" && format != "csv" && format != "xlsx" {
		return BadRequest("bad_param", "format 须为 json、csv 或 xlsx")
	}
	f, err := models.FindFinance(c.UserContext(), h.DB, sc, termID)
	if err != nil {
		return err
	}
	if format == "json" {
		out := fiber.Map{"scope": sc.Type, "scope_id": sc.ID, "term_id": nil, "totals": newFinanceDTO(f.Totals)}
		if termID != 0 {
			out["term_id"] = termID
		}
		items := make([]SchoolFinanceDTO, 0, len(f.Schools))
		for _, s := range f.Schools {
			items = append(items, SchoolFinanceDTO{SchoolID: s.SchoolID, SchoolName: s.SchoolName, FinanceDTO: newFinanceDTO(s.FinanceFigures)})
		}
		out["schools"] = items
		return c.JSON(out)
	}
	t := exportTable{}
	for _, col := range financeColumns {
		t.headers = append(t.headers, col.header)
		t.kinds = append(t.kinds, col.kind)
	}
	for _, s := range f.Schools {
		rec := make([]any, len(financeColumns))
		for i, col := range financeColumns {
			rec[i] = col.cell(s)
		}
		t.rows = append(t.rows, rec)
	}
	id := strconv.FormatInt(sc.ID, 10)
	return sendExport(c, t, format, "收费统计-"+sc.Type+"-"+id, "finance-"+sc.Type+"-"+id)
}
