package main

import (
	"strings"
	"testing"

	"kehou/models"
)

func TestLoadConfigWeChat(t *testing.T) {
	strong := strings.Repeat("s", 32)
	cases := []struct {
		name    string
		env     map[string]string
		wantErr string
		check   func(t *testing.T, c Config)
	}{
		{name: "templatesWithDefaultFields", env: map[string]string{"WECHAT_TEMPLATE_ENROLLMENT": "tplE", "WECHAT_TEMPLATE_WAITLIST": " tplW "},
			check: func(t *testing.T, c Config) {
				e, w := c.WeChatTemplates[models.NotifyEnrollmentConfirmed], c.WeChatTemplates[models.NotifyWaitlistPromoted]
				if e.ID != "tplE" || w.ID != "tplW" || e.Fields["offering"] != "thing2" || e.Page != "pages/enrollment/detail?id={enrollment_id}&student_id={student_id}" ||
					e.Subscription != models.SubscriptionOneTime || len(c.WeChatTemplates) != 4 ||
					c.WeChatTemplates[models.NotifyWaitlisted].ID != "tplW" || c.WeChatTemplates[models.NotifyWithdrawn].ID != "tplE" {
					t.Fatalf("templates %+v", c.WeChatTemplates)
				}
			}},
		{name: "templateWithMapping", env: map[string]string{"WECHAT_TEMPLATE_LOTTERY": "tplL|student=name1, result=phrase2"},
			check: func(t *testing.T, c Config) {
				l := c.WeChatTemplates[models.NotifyLotteryResult]
				if l.ID != "tplL" || l.Fields["student"] != "name1" || l.Fields["result"] != "phrase2" || len(l.Fields) != 2 || !strings.HasPrefix(l.Page, "pages/lottery/result?") {
					t.Fatalf("template %+v", l)
				}
			}},
		{name: "badMapping", env: map[string]string{"WECHAT_TEMPLATE_CANCELLED": "tplC|student"}, wantErr: "WECHAT_TEMPLATE_CANCELLED"},
		{name: "emptyTemplateID", env: map[string]string{"WECHAT_TEMPLATE_CANCELLED": "|a=b"}, wantErr: "empty template id"},
		{name: "badState", env: map[string]string{"WECHAT_MINIPROGRAM_STATE": "beta"}, wantErr: "WECHAT_MINIPROGRAM_STATE"},
		{name: "fakeInDev", env: map[string]string{"WECHAT_FAKE": "1", "WECHAT_FAKE_ADDR": ":8091"}, check: func(t *testing.T, c Config) {
			if !c.WeChatFake || c.WeChatAPIBase != "http://127.0.0.1:8091" || c.WeChatAppID != demoAppID || c.WeChatSecret != demoSecret {
				t.Fatalf("fake config %+v", c)
			}
		}},
		{name: "noFakeRealHost", env: map[string]string{}, check: func(t *testing.T, c Config) {
			if c.WeChatFake || c.WeChatAPIBase != "https://api.weixin.qq.com" {
				t.Fatalf("config %+v", c)
			}
		}},
		{name: "fakeRefusedInProduction", env: map[string]string{"KEHOU_ENV": "production", "JWT_SECRET": strong,
			"WECHAT_APPID": "a", "WECHAT_SECRET": "b", "WECHAT_FAKE": "1"}, wantErr: "WECHAT_FAKE"},
		{name: "badFakeFlag", env: map[string]string{"WECHAT_FAKE": "yes"}, wantErr: "WECHAT_FAKE"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			c, err := LoadConfig(envOf(tc.env))
			if tc.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
					t.Fatalf("err = %v, want it to mention %q", err, tc.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			tc.check(t, c)
		})
	}
}
