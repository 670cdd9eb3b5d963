package wechat

import (
	"context"
	"net/url"
	"sort"
	"strings"
	"unicode"
	"unicode/utf8"
)

// Message is one subscribe message.
type Message struct {
	ToUser     string
	TemplateID string
	Page       string
	// Data maps a template key ("thing1", "time2"…) to its value; values are
	// truncated to WeChat's limits by Truncate before sending.
	Data map[string]string
	// State is miniprogram_state ("formal", "trial", "developer"); empty
	// means the client's configured state.
	State string
	Lang  string // default zh_CN
}

type dataValue struct {
	Value string `json:"value"`
}

type subscribeBody struct {
	ToUser           string               `json:"touser"`
	TemplateID       string               `json:"template_id"`
	Page             string               `json:"page,omitempty"`
	Data             map[string]dataValue `json:"data"`
	MiniProgramState string               `json:"miniprogram_state"`
	Lang             string               `json:"lang"`
}

// SendSubscribe sends m. 43101 (no consent) comes back as ErrNoConsent.
func (c *Client) SendSubscribe(ctx context.Context, m Message) error {
	b := subscribeBody{ToUser: m.ToUser, TemplateID: m.TemplateID, Page: m.Page,
		Data: make(map[string]dataValue, len(m.Data)), MiniProgramState: m.State, Lang: m.Lang}
	if b.MiniProgramState == "" {
		b.MiniProgramState = c.state
	}
	if b.Lang == "" {
		b.Lang = "zh_CN"
	}
	for k, v := range m.Data {
		b.Data[k] = dataValue{Value: Truncate(k, v)}
	}
	var out apiStatus
	return c.callWithToken(ctx, "/cgi-bin/message/subscribe/send", b, &out)
}

// Template is the subscribe-message template used for one notification
// kind: its id, the mini-program page it opens, and which template key each
// payload key fills. Payload keys without a mapping are sent under their own
// name when they already look like a template key ("thing1"), else dropped.
type Template struct {
	ID string
	// Page is the page a message opens, with {payload_key} placeholders
	// (FillPage).
	Page string
	// Subscription is "one_time" or "long_term" (how the mini-program asks
	// for consent; kehou counts it).
	Subscription string
	Fields       map[string]string // payload key → template key
}

// Template returns the template configured for kind.
func (c *Client) Template(kind string) (Template, bool) {
	t, ok := c.templates[kind]
	return t, ok && t.ID != ""
}

// Templates returns the configured templates by notification kind (a copy).
func (c *Client) Templates() map[string]Template {
	out := make(map[string]Template, len(c.templates))
	for k, t := range c.templates {
		if t.ID != "" {
			out[k] = t
		}
	}
	return out
}

// FillPage fills the {key} placeholders of page from values (query-escaped);
// a query parameter whose placeholder has no value is left out, so a page
// never carries "id=" with nothing after it.
func FillPage(page string, values map[string]string) string {
	path, query, ok := strings.Cut(page, "?")
	if !ok {
		return page
	}
	var kept []string
	for _, p := range strings.Split(query, "&") {
		name, v, _ := strings.Cut(p, "=")
		if strings.HasPrefix(v, "{") && strings.HasSuffix(v, "}") {
			v = values[v[1:len(v)-1]]
			if v == "" {
				continue
			}
		}
		kept = append(kept, name+"="+url.QueryEscape(v))
	}
	if len(kept) == 0 {
		return path
	}
	return path + "?" + strings.Join(kept, "&")
}

// Notify sends the notification of kind to openid, through the template
// configured for kind (ErrNoTemplate if none), opening its page with the
// payload's ids.
func (c *Client) Notify(ctx context.Context, openid, kind string, payload map[string]string) error {
	t, ok := c.templates[kind]
	if !ok || t.ID == "" {
		return ErrNoTemplate
	}
	return c.SendSubscribe(ctx, Message{ToUser: openid, TemplateID: t.ID, Page: FillPage(t.Page, payload), Data: t.Data(payload)})
}

// Data maps a notification payload to the template's data keys.
func (t Template) Data(payload map[string]string) map[string]string {
	out := make(map[string]string, len(payload))
	keys := make([]string, 0, len(payload))
	for k := range payload {
		keys = append(keys, k)
	}
	sort.Strings(keys) // deterministic when two payload keys map to one template key
	for _, k := range keys {
		switch dst, ok := t.Fields[k]; {
		case ok && dst != "":
			out[dst] = payload[k]
		case !ok && isTemplateKey(k):
			out[k] = payload[k]
		}
	}
	return out
}

// isTemplateKey reports whether k is a WeChat template key: a known type
// followed by digits.
func isTemplateKey(k string) bool {
	typ := keyType(k)
	_, known := runeLimits[typ]
	return (known || typ == "name" || typ == "time" || typ == "date" || typ == "amount") && typ != k
}

// keyType strips the trailing digits of a template key: "thing12" → "thing".
func keyType(k string) string { return strings.TrimRight(k, "0123456789") }

// runeLimits are WeChat's value limits in characters, by key type.
var runeLimits = map[string]int{
	"thing":            20,
	"phrase":           5,
	"number":           32,
	"letter":           32,
	"symbol":           5,
	"character_string": 32,
	"phone_number":     17,
	"car_number":       8,
}

// Truncate fits v to the limit WeChat sets for the type of template key k
// (thing ≤ 20 characters, phrase ≤ 5, name ≤ 10 when it holds Chinese
// characters else 20, number/letter/character_string ≤ 32, symbol ≤ 5…),
// counting characters, never bytes, so a multi-byte character is never
// split. A thing or name too long (a club's or child's name as typed) ends
// in "…", so a reader sees it was shortened; kehou writes its own words to
// fit (models/notify_text.go). time, date and amount are left as they are:
// cutting them would change their meaning, and WeChat rejects a bad one
// (47003) instead. Invalid UTF-8 is replaced first.
func Truncate(k, v string) string {
	v = strings.ToValidUTF8(v, "\uFFFD")
	typ := keyType(k)
	limit, ok := runeLimits[typ]
	if typ == "name" {
		ok, limit = true, 20
		for _, r := range v {
			if r > unicode.MaxASCII {
				limit = 10
				break
			}
		}
	}
	if !ok || utf8.RuneCountInString(v) <= limit {
		return v
	}
	mark := ""
	if typ == "thing" || typ == "name" {
		mark, limit = "…", limit-1
	}
	n := 0
	for i := range v {
		if n == limit {
			return v[:i] + mark
		}
		n++
	}
	return v
}
