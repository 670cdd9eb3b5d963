package models

// Notification kinds written to the outbox: every kind is a row of
// NotifyKinds, which gives its template setting, title, page and
// subscription type.
const (
	NotifyEnrollmentConfirmed = "enrollment_confirmed"
	NotifyWaitlisted          = "waitlisted" // joined a waitlist, with its position
	NotifyWaitlistPromoted    = "waitlist_promoted"
	NotifyWithdrawn           = "enrollment_withdrawn" // withdrawn by the school
	NotifyLotteryResult       = "lottery_result"
	NotifyOfferingCancelled   = "offering_cancelled"
	// NotifyOfferingChanged tells a family that a school admin changed an
	// offering's time or grades in a way that breaks a rule for its child.
	NotifyOfferingChanged = "offering_changed"
	// NotifyChildLinked tells a parent that a child was linked to their
	// account (a sibling imported after they proved their phone).
	NotifyChildLinked = "child_linked"
	// NotifyAbsence is the absence alert of the roll and its "已到"
	// correction.
	NotifyAbsence = "absence"
	// NotifyDismissal is the "已离校" message of a dismissal.
	NotifyDismissal        = "dismissal"
	NotifySessionCancelled = "session_cancelled"
	// NotifyRefund tells a family that money came back (order_notify.go):
	// through WeChat Pay once it succeeded, from the school once recorded.
	NotifyRefund = "refund"
)

// Subscription types of WeChat subscribe-message templates: a one-time
// acceptance allows one message; a long-term subscription (open to
// education and other public-service mini-programs) allows messages until
// the user turns it off.
const (
	SubscriptionOneTime  = "one_time"
	SubscriptionLongTerm = "long_term"
)

// NotifyKind is one notification kind: the environment setting naming its
// WeChat template, the title it has in the parent's inbox, the
// mini-program page a message opens (with {payload_key} placeholders filled
// from the message; {student_id} is the child) and whether its template is
// one-time or long-term.
type NotifyKind struct {
	Kind         string
	TemplateEnv  string
	Title        string
	Page         string
	Subscription string
}

// NotifyKinds is the one table of notification kinds. Kinds sharing a
// template setting share its subscription type (a test holds it).
var NotifyKinds = []NotifyKind{
	{NotifyEnrollmentConfirmed, "WECHAT_TEMPLATE_ENROLLMENT", "报名结果", "pages/enrollment/detail?id={enrollment_id}&student_id={student_id}", SubscriptionOneTime},
	{NotifyWithdrawn, "WECHAT_TEMPLATE_ENROLLMENT", "退出项目", "pages/enrollment/detail?id={enrollment_id}&student_id={student_id}", SubscriptionOneTime},
	{NotifyWaitlisted, "WECHAT_TEMPLATE_WAITLIST", "候补排队", "pages/enrollment/detail?id={enrollment_id}&student_id={student_id}", SubscriptionOneTime},
	{NotifyWaitlistPromoted, "WECHAT_TEMPLATE_WAITLIST", "候补转正", "pages/enrollment/detail?id={enrollment_id}&student_id={student_id}", SubscriptionOneTime},
	{NotifyLotteryResult, "WECHAT_TEMPLATE_LOTTERY", "抽签结果", "pages/lottery/result?draw_id={draw_id}&student_id={student_id}", SubscriptionOneTime},
	{NotifyOfferingCancelled, "WECHAT_TEMPLATE_CANCELLED", "项目取消", "pages/offering/detail?id={offering_id}&student_id={student_id}", SubscriptionOneTime},
	{NotifySessionCancelled, "WECHAT_TEMPLATE_CANCELLED", "停课通知", "pages/session/detail?id={session_id}&student_id={student_id}", SubscriptionOneTime},
	{NotifyOfferingChanged, "WECHAT_TEMPLATE_CHANGED", "项目变更", "pages/offering/detail?id={offering_id}&student_id={student_id}", SubscriptionOneTime},
	{NotifyChildLinked, "WECHAT_TEMPLATE_CHILD_LINKED", "关联孩子", "pages/child/detail?student_id={student_id}", SubscriptionOneTime},
	{NotifyAbsence, "WECHAT_TEMPLATE_ABSENCE", "缺勤提醒", "pages/attendance/index?student_id={student_id}&session_id={session_id}", SubscriptionLongTerm},
	{NotifyDismissal, "WECHAT_TEMPLATE_DISMISSAL", "离校通知", "pages/attendance/index?student_id={student_id}&session_id={session_id}", SubscriptionLongTerm},
	{NotifyRefund, "WECHAT_TEMPLATE_REFUND", "退费通知", "pages/order/detail?id={order_id}&student_id={student_id}", SubscriptionOneTime},
}

// FindNotifyKind returns the row of NotifyKinds for kind.
func FindNotifyKind(kind string) (NotifyKind, bool) {
	for _, k := range NotifyKinds {
		if k.Kind == kind {
			return k, true
		}
	}
	return NotifyKind{}, false
}
