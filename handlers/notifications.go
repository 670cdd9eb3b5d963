package handlers

import (
	"sort"
	"strconv"
	"strings"

	"github.com/gofiber/fiber/v2"

	"kehou/models"
)

// The parent's side of notifications (docs/wechat.md): which templates to
// ask consent for, what the parent answered, and the in-app inbox every
// message lands in.

// TemplateDTO is one notification kind's WeChat template, for
// wx.requestSubscribeMessage (at most 3 template ids per call).
type TemplateDTO struct {
	Kind         string `json:"kind"`
	TemplateID   string `json:"template_id"`
	Page         string `json:"page"`
	Subscription string `json:"subscription"`
}

// WeChatTemplates is GET /api/v1/wechat/templates: the configured template
// of every notification kind, in the order of models.NotifyKinds (none when
// WeChat is not configured).
func (h *API) WeChatTemplates(c *fiber.Ctx) error {
	out := []TemplateDTO{}
	if h.WeChat != nil {
		ts := h.WeChat.Templates()
		for _, k := range models.NotifyKinds {
			if t, ok := ts[k.Kind]; ok {
				page, _, _ := strings.Cut(t.Page, "?") // the page, without the placeholders of its query
				out = append(out, TemplateDTO{Kind: k.Kind, TemplateID: t.ID, Page: page, Subscription: k.Subscription})
			}
		}
	}
	return c.JSON(out)
}

type subscriptionsRequest struct {
	Accepted []string `json:"accepted"`
	Rejected []string `json:"rejected"`
}

// ConsentDTO is what the parent has allowed one template.
type ConsentDTO struct {
	TemplateID string `json:"template_id"`
	OneTime    int    `json:"one_time"`
	LongTerm   bool   `json:"long_term"`
}

// maxSubscriptionAnswers bounds one report: wx.requestSubscribeMessage
// asks for at most 3 templates, so 10 leaves room for a batched report.
const maxSubscriptionAnswers = 10

// RecordSubscriptions is POST /api/v1/me/subscriptions: the answers of
// wx.requestSubscribeMessage. Each accepted one-time template allows one
// more message; a long-term one allows every message until it is rejected.
func (h *API) RecordSubscriptions(c *fiber.Ctx) error {
	var in subscriptionsRequest
	if err := decodeJSON(c, &in); err != nil {
		return err
	}
	subscription := map[string]string{} // template id → one_time|long_term
	if h.WeChat != nil {
		for kind, t := range h.WeChat.Templates() {
			if k, ok := models.FindNotifyKind(kind); ok {
				subscription[t.ID] = k.Subscription
			}
		}
	}
	var v models.Validator
	v.Check(len(in.Accepted)+len(in.Rejected) > 0, "accepted", "请至少报告一个模板的结果")
	v.Check(len(in.Accepted)+len(in.Rejected) <= maxSubscriptionAnswers, "accepted",
		"一次最多报告"+strconv.Itoa(maxSubscriptionAnswers)+"个模板")
	seen := map[string]bool{}
	var answers []models.SubscriptionAnswer
	for _, list := range []struct {
		field    string
		ids      []string
		accepted bool
	}{{"accepted", in.Accepted, true}, {"rejected", in.Rejected, false}} {
		for _, id := range list.ids {
			sub, known := subscription[id]
			v.Check(known, list.field, "未知的消息模板："+clipRunes(id, 64))
			v.Check(!seen[id], list.field, "同一模板只能报告一次："+clipRunes(id, 64))
			seen[id] = true
			answers = append(answers, models.SubscriptionAnswer{TemplateID: id, Subscription: sub, Accepted: list.accepted})
		}
	}
	if err := v.Err(); err != nil {
		return err
	}
	cs, err := models.RecordSubscriptions(c.UserContext(), h.DB, CurrentActor(c).UserID, answers, h.now())
	if err != nil {
		return err
	}
	out := make([]ConsentDTO, 0, len(cs))
	for _, x := range cs {
		out = append(out, ConsentDTO{TemplateID: x.TemplateID, OneTime: x.OneTime, LongTerm: x.LongTerm})
	}
	sort.Slice(out, func(i, j int) bool { return out[i].TemplateID < out[j].TemplateID })
	return c.JSON(fiber.Map{"consents": out})
}

// clipRunes cuts s to n characters, for echoing input in a message.
func clipRunes(s string, n int) string {
	if r := []rune(s); len(r) > n {
		return string(r[:n]) + "…"
	}
	return s
}

// NotificationDTO is one message of the parent's inbox.
type NotificationDTO struct {
	ID        int64  `json:"id"`
	Kind      string `json:"kind"`
	StudentID *int64 `json:"student_id,omitempty"`
	Title     string `json:"title"`
	Body      string `json:"body"`
	CreatedAt string `json:"created_at"`
	Delivery  string `json:"delivery"`
}

// MyNotifications is GET /api/v1/me/notifications: the parent's inbox,
// newest first by when each message was made, paged by ?cursor&limit (the
// cursor is the last message's (created_at, id), made opaque). Every message is there, whatever
// became of its WeChat copy (delivery).
func (h *API) MyNotifications(c *fiber.Ctx) error {
	limit, err := pageLimit(c)
	if err != nil {
		return err
	}
	after, err := openCursor(c.Query("cursor"))
	if err != nil {
		return err
	}
	ms, err := models.FindInbox(c.UserContext(), h.DB, CurrentActor(c).UserID, after, limit)
	if err != nil {
		return err
	}
	ms, next := keysetPageBy(ms, limit, models.InboxKey)
	out := Page[NotificationDTO]{Items: make([]NotificationDTO, 0, len(ms)), NextCursor: next}
	for _, m := range ms {
		out.Items = append(out.Items, NotificationDTO{ID: m.ID, Kind: m.Kind, StudentID: m.StudentID, Title: m.Title,
			Body: m.Body, CreatedAt: rfc3339(m.CreatedAt), Delivery: m.Delivery})
	}
	return c.JSON(out)
}
