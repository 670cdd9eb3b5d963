package models

import (
	"context"
	"time"

	"gorm.io/gorm"
)

// Consent to WeChat subscribe messages, counted per parent and template as
// WeChat counts it (docs/wechat.md): each accepted one-time template allows
// one message; an accepted long-term template allows every message until
// the parent rejects it. The mini-program reports the answers of
// wx.requestSubscribeMessage (RecordSubscriptions); the outbox spends one
// acceptance per message before it calls WeChat (SpendConsent), gives it
// back when WeChat did not take the message (ReturnConsent), and forgets
// every acceptance when WeChat says there is none (ForgetConsent: WeChat's
// count is the truth).

// WeChatConsent is what one parent allowed one template.
type WeChatConsent struct {
	UserID     int64     `gorm:"column:user_id;primaryKey" json:"-"`
	TemplateID string    `gorm:"column:template_id;primaryKey" json:"template_id"`
	OneTime    int       `gorm:"column:one_time" json:"one_time"`
	LongTerm   bool      `gorm:"column:long_term" json:"long_term"`
	UpdatedAt  time.Time `gorm:"column:updated_at" json:"-"`
}

// TableName maps WeChatConsent to its table.
func (WeChatConsent) TableName() string { return "wechat_consents" }

// SubscriptionAnswer is the parent's answer for one template, with the
// template's subscription type (SubscriptionOneTime or SubscriptionLongTerm).
type SubscriptionAnswer struct {
	TemplateID   string
	Subscription string
	Accepted     bool
}

// RecordSubscriptions counts the parent's answers in one transaction: an
// accepted one-time template adds one message; an accepted long-term one
// turns the subscription on, a rejected one off. A rejected one-time
// template takes nothing back (WeChat keeps the acceptances already
// given). It returns the consents of the templates answered.
func RecordSubscriptions(ctx context.Context, db *DB, userID int64, answers []SubscriptionAnswer, now time.Time) ([]WeChatConsent, error) {
	out := make([]WeChatConsent, 0, len(answers))
	err := db.Tx(ctx, func(tx *gorm.DB) error {
		out = out[:0]
		for _, a := range answers {
			c := WeChatConsent{UserID: userID, TemplateID: a.TemplateID}
			err := tx.Where("user_id = ? AND template_id = ?", userID, a.TemplateID).Take(&c).Error
			found := err == nil
			if err != nil && notFound(err) != ErrNotFound {
				return err
			}
			switch {
			case a.Subscription == SubscriptionLongTerm:
				c.LongTerm = a.Accepted
			case a.Accepted:
				c.OneTime++
			}
			c.UpdatedAt = now.UTC()
			if found {
				err = tx.Model(&WeChatConsent{}).Where("user_id = ? AND template_id = ?", userID, a.TemplateID).
					Updates(map[string]any{"one_time": c.OneTime, "long_term": c.LongTerm, "updated_at": c.UpdatedAt}).Error
			} else {
				err = tx.Create(&c).Error
			}
			if err != nil {
				return err
			}
			out = append(out, c)
		}
		return nil
	})
	return out, err
}

// Consent spent by SpendConsent.
const (
	ConsentNone     = ""
	ConsentOneTime  = SubscriptionOneTime
	ConsentLongTerm = SubscriptionLongTerm
)

// SpendConsent takes what allows one message of templateID to userID: a
// long-term subscription (kept), else one one-time acceptance (spent), else
// nothing (ConsentNone: the message must not be sent).
func SpendConsent(ctx context.Context, db *DB, userID int64, templateID string, now time.Time) (string, error) {
	spent := ConsentNone
	err := db.Tx(ctx, func(tx *gorm.DB) error {
		var c WeChatConsent
		if err := tx.Where("user_id = ? AND template_id = ?", userID, templateID).Take(&c).Error; err != nil {
			if notFound(err) == ErrNotFound {
				return nil
			}
			return err
		}
		if c.LongTerm {
			spent = ConsentLongTerm
			return nil
		}
		res := tx.Exec(`UPDATE wechat_consents SET one_time = one_time - 1, updated_at = ?
			WHERE user_id = ? AND template_id = ? AND one_time > 0`, now.UTC(), userID, templateID)
		if res.Error == nil && res.RowsAffected == 1 {
			spent = ConsentOneTime
		}
		return res.Error
	})
	return spent, err
}

// ReturnConsent gives back what SpendConsent took when WeChat did not take
// the message (it failed before WeChat counted it).
func ReturnConsent(ctx context.Context, db *DB, userID int64, templateID, spent string, now time.Time) error {
	if spent != ConsentOneTime {
		return nil
	}
	return db.Tx(ctx, func(tx *gorm.DB) error {
		return tx.Exec(`UPDATE wechat_consents SET one_time = one_time + 1, updated_at = ?
			WHERE user_id = ? AND template_id = ?`, now.UTC(), userID, templateID).Error
	})
}

// ForgetConsent records that WeChat holds no consent of userID for
// templateID (it answered 43101): kehou's count was wrong, WeChat's wins.
func ForgetConsent(ctx context.Context, db *DB, userID int64, templateID string, now time.Time) error {
	return db.Tx(ctx, func(tx *gorm.DB) error {
		return tx.Exec(`UPDATE wechat_consents SET one_time = 0, long_term = ?, updated_at = ?
			WHERE user_id = ? AND template_id = ?`, false, now.UTC(), userID, templateID).Error
	})
}

// FindConsents returns userID's consents, by template.
func FindConsents(ctx context.Context, db *DB, userID int64) ([]WeChatConsent, error) {
	out := []WeChatConsent{}
	err := db.Read(ctx).Where("user_id = ?", userID).Order("template_id").Find(&out).Error
	return out, err
}
