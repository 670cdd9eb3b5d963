package models

import (
	"fmt"
	"strconv"

	"gorm.io/gorm"
)

// Telling families of refunds (NotifyRefund). Every refund is a ledger row
// (moveMoney), whoever made it: the school by hand, a withdrawal, a
// cancelled offering, session or calendar day, a WeChat payment that landed
// after its seat was gone. Its family hears of it once, when it is true:
//
//   - money that goes back through WeChat Pay is told when WeChat Pay says
//     it succeeded (RecordRefundAttempt): "已原路退回" is then a fact, and a
//     refund that fails is the school's to sort out, not a promise broken;
//   - money the school pays back itself (paid in cash, at the bank or on a
//     government platform) is told when the refund is recorded.
//
// The message's dedupe key names the ledger row, so a refund told at its
// record (part of it outside WeChat Pay) is not told again at WeChat Pay's
// success, and a retried transaction cannot tell it twice. A refund made
// by a parent's own withdrawal carries actor_id: that parent's copy stays
// in the inbox (their tap), the other guardians get it through WeChat.

// refundReasons are the parent-facing words of the reasons refunds made by
// rule carry in the ledger (settleWithdrawal's keys); anything else is what
// a person wrote, or already Chinese.
var refundReasons = map[string]string{
	"withdraw": "退出项目，按退费规则退还",
	"cancel":   "学校取消项目，按未上课次退还",
	"unpaid":   "",
}

// refundNote is the note (a thing field, 20 characters) and the inbox's
// full text of a refund of amount fen, wx of them through WeChat Pay
// (done: WeChat Pay said it succeeded), for reason.
func refundNote(amount, wx int64, done bool, reason string) (note, detail string) {
	switch {
	case done:
		note = fitNote(Yuan(wx)+"元已原路退回微信支付", "退款已原路退回微信支付")
		detail = Yuan(wx) + "元已原路退回微信支付"
	case wx == 0:
		note = fitNote(Yuan(amount)+"元由学校按原方式退还", "退费由学校按原方式退还")
		detail = Yuan(amount) + "元由学校按原缴费方式退还"
	default:
		note = fitNote(fmt.Sprintf("退%s元，微信退回%s元", Yuan(amount), Yuan(wx)), "退费详情请在小程序查看")
		detail = fmt.Sprintf("退费%s元：%s元原路退回微信支付，其余由学校按原缴费方式退还", Yuan(amount), Yuan(wx))
	}
	if r, ok := refundReasons[reason]; ok {
		reason = r
	}
	if reason != "" {
		detail += "（" + reason + "）"
	}
	return note, detail
}

// notifyRefund enqueues, inside tx, the message of refund row m of order
// ord to its student's guardians: wx fen of it go back through WeChat Pay,
// done when WeChat Pay said they did.
func notifyRefund(tx *gorm.DB, ord Order, m LedgerEntry, wx int64, done bool) error {
	var offering string
	if err := scanOne(tx.Raw("SELECT name FROM offerings WHERE id = ?", ord.OfferingID), &offering); err != nil {
		return err
	}
	note, detail := refundNote(m.AmountFen, wx, done, m.Reason)
	p := map[string]string{
		"offering": offering, "status": refundPhrase, "note": note, "detail": detail,
		"order_id": strconv.FormatInt(ord.ID, 10), "enrollment_id": strconv.FormatInt(ord.EnrollmentID, 10),
		"amount_fen": strconv.FormatInt(m.AmountFen, 10),
	}
	if m.CreatedBy != nil && !done {
		p["actor_id"] = strconv.FormatInt(*m.CreatedBy, 10)
	}
	return NotifyGuardians(tx, NotifyRefund, ord.StudentID, fmt.Sprintf("refund:ledger:%d", m.ID), p)
}

// refundPhrase is the status of a refund message (a phrase field, 5
// characters).
const refundPhrase = "已退费"

// noticeRefundRecorded tells the family of refund row m of order ord, just
// appended, unless all of it goes back through WeChat Pay (then its
// success tells them).
func noticeRefundRecorded(tx *gorm.DB, ord Order, m LedgerEntry) error {
	var wx int64
	if err := tx.Raw("SELECT COALESCE(SUM(amount_fen), 0) FROM pay_refunds WHERE ledger_id = ?", m.ID).Scan(&wx).Error; err != nil {
		return err
	}
	if wx >= m.AmountFen {
		return nil
	}
	return notifyRefund(tx, ord, m, wx, false)
}

// noticeRefundSucceeded tells the family of WeChat Pay refund r, which WeChat
// Pay just said succeeded (nothing when its record told them already).
func noticeRefundSucceeded(tx *gorm.DB, r PayRefund) error {
	var ord Order
	if err := tx.Where("id = ?", r.OrderID).Take(&ord).Error; err != nil {
		return notFound(err)
	}
	var m LedgerEntry
	if err := tx.Where("id = ?", r.LedgerID).Take(&m).Error; err != nil {
		return notFound(err)
	}
	return notifyRefund(tx, ord, m, r.AmountFen, true)
}
