package models

import (
	"fmt"
	"slices"
)

// The money vocabulary (STYLE 19, as status.go is for enrollments): an
// order's status, the kinds of its ledger rows, and the states of its
// WeChat Pay side, each a type of its own with its constants and sets
// defined here once. SQL never spells one of these words by hand: it is
// rendered from here (sqlText, sqlList, orderStatusSQL, ledgerSumSQL), and
// status_money_test.go proves the rendered derivation agrees with
// DeriveOrderStatus on both engines, that openapi.yaml lists the same
// order statuses, and that no SQL in models writes these words itself.

// OrderStatus is an order's status, derived from its ledger
// (DeriveOrderStatus) and stored beside it for queries.
type OrderStatus string

// Order statuses.
const (
	OrderUnpaid            OrderStatus = "unpaid"
	OrderPaid              OrderStatus = "paid"
	OrderWaived            OrderStatus = "waived" // nothing to pay (a full waiver, or credits)
	OrderClosed            OrderStatus = "closed" // given up before anything was paid
	OrderPartiallyRefunded OrderStatus = "partially_refunded"
	OrderRefunded          OrderStatus = "refunded"
)

// orderStatuses are every order status, in the order the API lists them.
var orderStatuses = []OrderStatus{OrderUnpaid, OrderPaid, OrderWaived, OrderClosed, OrderPartiallyRefunded, OrderRefunded}

// orderKeptStatuses are the orders whose bill was settled and kept (paid,
// partly refunded, or waived): their seat is enrolled, or was given up and
// settled by the refund rule (an invariant).
var orderKeptStatuses = []OrderStatus{OrderPaid, OrderPartiallyRefunded, OrderWaived}

// orderOpenStatuses are the orders a cancelled session gives a share back
// to: still owing (credited) or paid and not wholly refunded (refunded).
var orderOpenStatuses = []OrderStatus{OrderUnpaid, OrderPaid, OrderPartiallyRefunded}

// Valid reports whether s is an order status.
func (s OrderStatus) Valid() bool { return slices.Contains(orderStatuses, s) }

// OrderStatuses are every order status (a copy).
func OrderStatuses() []OrderStatus { return slices.Clone(orderStatuses) }

// LedgerKind is the kind of a ledger row. Every amount is positive; the
// kind gives the direction.
type LedgerKind string

// Ledger kinds.
const (
	LedgerCharge  LedgerKind = "charge"  // the gross bill
	LedgerWaiver  LedgerKind = "waiver"  // a hardship waiver taken off the charge
	LedgerCredit  LedgerKind = "credit"  // part of an unpaid charge taken off (a cancelled session)
	LedgerVoid    LedgerKind = "void"    // what was still owed, cancelled (the seat given up unpaid)
	LedgerPayment LedgerKind = "payment" // money received
	LedgerRefund  LedgerKind = "refund"  // money given back
)

// ledgerKinds are every ledger kind.
var ledgerKinds = []LedgerKind{LedgerCharge, LedgerWaiver, LedgerCredit, LedgerVoid, LedgerPayment, LedgerRefund}

// ledgerOwedLess are the kinds that take a charge down: what is owed is
// the charge less these (LedgerSums.Owed).
var ledgerOwedLess = []LedgerKind{LedgerWaiver, LedgerCredit, LedgerVoid, LedgerPayment}

// ledgerReasonKinds are the kinds whose reason a person may have written
// about the child (erasure blanks them).
var ledgerReasonKinds = []LedgerKind{LedgerRefund, LedgerCredit}

// ledgerSumSQL is the SQL sum of the amounts of kind k over the ledger rows
// aliased col's table ("l.kind" …): SUM(CASE WHEN <col> = 'k' THEN …).
func ledgerSumSQL(kindCol, amountCol string, k LedgerKind) string {
	return fmt.Sprintf("SUM(CASE WHEN %s = %s THEN %s ELSE 0 END)", kindCol, sqlText(k), amountCol)
}

// orderStatusSQL is DeriveOrderStatus written in SQL over the expressions
// of an order's sums by kind (charge, waiver, credit, void, payment,
// refund): the same cases in the same order, its words rendered from the
// constants. TestOrderStatusSQLAgrees runs it against DeriveOrderStatus.
func orderStatusSQL(c, w, k, v, p, r string) string {
	return fmt.Sprintf("CASE WHEN %[1]s - %[2]s - %[3]s - %[4]s - %[5]s > 0 THEN %[7]s"+
		" WHEN %[5]s = 0 AND %[4]s > 0 THEN %[8]s WHEN %[5]s = 0 THEN %[9]s"+
		" WHEN %[6]s = 0 THEN %[10]s WHEN %[6]s >= %[5]s THEN %[11]s ELSE %[12]s END",
		c, w, k, v, p, r, sqlText(OrderUnpaid), sqlText(OrderClosed), sqlText(OrderWaived),
		sqlText(OrderPaid), sqlText(OrderRefunded), sqlText(OrderPartiallyRefunded))
}

// PayOrderState is the state of an order's WeChat Pay side (pay_orders).
type PayOrderState string

// States of a pay_orders row.
const (
	PayOrderOpen   PayOrderState = "open"   // a prepay may exist; not paid
	PayOrderPaid   PayOrderState = "paid"   // WeChat Pay reported it paid
	PayOrderClosed PayOrderState = "closed" // closed at WeChat Pay (the hold ran out)
)

// payOrderStates are every pay order state (the first is the schema's
// default).
var payOrderStates = []PayOrderState{PayOrderOpen, PayOrderPaid, PayOrderClosed}

// PayRefundStatus is the status of a refund WeChat Pay is to move
// (pay_refunds).
type PayRefundStatus string

// Statuses of a pay_refunds row.
const (
	PayRefundPending    PayRefundStatus = "pending"    // to be sent (again) to WeChat Pay
	PayRefundProcessing PayRefundStatus = "processing" // accepted; the result comes by notification or query
	PayRefundSuccess    PayRefundStatus = "success"
	PayRefundFailed     PayRefundStatus = "failed" // refused for good, or abnormal: the school must act
)

// payRefundStatuses are every pay refund status (the first is the schema's
// default).
var payRefundStatuses = []PayRefundStatus{PayRefundPending, PayRefundProcessing, PayRefundSuccess, PayRefundFailed}

// payRefundDue are the refunds the refund worker claims: to send, or
// accepted without an answer for a while (to ask about).
var payRefundDue = []PayRefundStatus{PayRefundPending, PayRefundProcessing}

// Done reports whether s is final (success or failed).
func (s PayRefundStatus) Done() bool { return s == PayRefundSuccess || s == PayRefundFailed }
