package jobs

import (
	"context"
	"encoding/json"
	"errors"
	"log/slog"
	"strconv"
	"time"

	"kehou/models"
	"kehou/wechat"
)

// Sender delivers one notification to a WeChat user; *wechat.Client is one
// (it maps the kind to its configured template and fits the values).
type Sender interface {
	// Template is the template configured for kind, whose consent a
	// message spends.
	Template(kind string) (wechat.Template, bool)
	Notify(ctx context.Context, openid, kind string, payload map[string]string) error
}

// DeliverOutbox claims up to limit due outbox messages and sends each once:
// in_app when its recipient caused it (they saw it on screen) or its kind
// has no template configured (inbox only, not retried), refused when
// the parent has no consent left for its template (kehou's count, or WeChat's
// 43101; never retried), sent on success,
// failed on other permanent errors, else retried later with exponential
// backoff. It returns how many were sent. Every message is claimed (status
// sending, with a lease) in a committed transaction before WeChat is called,
// so a crash after sending cannot resend while the lease holds. When ctx ends
// mid-batch, the messages not yet tried are handed back.
func DeliverOutbox(ctx context.Context, db *models.DB, s Sender, now time.Time, limit int) (int, error) {
	msgs, err := models.ClaimOutbox(ctx, db, now, limit)
	if err != nil {
		return 0, err
	}
	// Outcomes are recorded even when ctx ends: the send already happened.
	bg := context.WithoutCancel(ctx)
	sent := 0
	var errs []error
	for i, m := range msgs {
		if ctx.Err() != nil {
			for _, rest := range msgs[i:] {
				errs = append(errs, models.ReleaseOutbox(bg, db, rest))
			}
			break
		}
		ok, err := deliverOne(ctx, bg, db, s, m, now)
		if ok {
			sent++
		}
		errs = append(errs, err)
	}
	return sent, errors.Join(errs...)
}

func deliverOne(ctx, bg context.Context, db *models.DB, s Sender, m models.ClaimedMessage, now time.Time) (bool, error) {
	if m.OpenID == "" {
		return false, models.MarkOutboxFailed(bg, db, m, "recipient has no WeChat openid")
	}
	var payload map[string]string
	if err := json.Unmarshal([]byte(m.Payload), &payload); err != nil {
		return false, models.MarkOutboxFailed(bg, db, m, "payload is not a JSON object of strings")
	}
	if models.CausedBy(payload, m.UserID) {
		return false, models.MarkOutboxInApp(bg, db, m)
	}
	t, ok := s.Template(m.Kind)
	if !ok {
		// Nothing to send it with: inbox only, not a WeChat failure to retry.
		return false, models.MarkOutboxInboxOnly(bg, db, m, wechat.ErrNoTemplate.Error())
	}
	spent, err := models.SpendConsent(bg, db, m.UserID, t.ID, now)
	if err != nil {
		_, merr := models.MarkOutboxRetry(bg, db, m, err.Error(), now)
		return false, errors.Join(err, merr)
	}
	if spent == models.ConsentNone {
		return false, models.MarkOutboxRefused(bg, db, m, "no consent: the parent has no acceptance of this template left")
	}
	if m.StudentID != nil && payload["student_id"] == "" {
		payload["student_id"] = strconv.FormatInt(*m.StudentID, 10) // the page opens on the child
	}
	err = s.Notify(ctx, m.OpenID, m.Kind, payload)
	switch {
	case err == nil:
		return true, models.MarkOutboxSent(bg, db, m, now)
	case errors.Is(err, wechat.ErrNoConsent):
		return false, errors.Join(models.ForgetConsent(bg, db, m.UserID, t.ID, now),
			models.MarkOutboxRefused(bg, db, m, err.Error()))
	case ctx.Err() != nil:
		// Stopped mid-call: WeChat may have sent it (and spent the
		// consent). Leave it claimed; only an expired lease retries it.
		return false, nil
	}
	// WeChat did not take it, so it did not count the consent either.
	rerr := models.ReturnConsent(bg, db, m.UserID, t.ID, spent, now)
	if wechat.IsPermanent(err) {
		return false, errors.Join(rerr, models.MarkOutboxFailed(bg, db, m, err.Error()))
	}
	_, merr := models.MarkOutboxRetry(bg, db, m, err.Error(), now)
	return false, errors.Join(rerr, merr)
}

// OutboxWorker delivers the outbox in the background until its context ends.
type OutboxWorker struct {
	DB     *models.DB
	Sender Sender
	Log    *slog.Logger
	// Interval between polls when the outbox is drained (default 1 s).
	Interval time.Duration
	// Batch is how many messages one poll claims (default 20).
	Batch int
	// Now is the clock (default time.Now).
	Now func() time.Time
}

// Run polls the outbox every Interval, and at once again after a full
// batch, until ctx ends; it returns after the batch in flight is finished.
func (w *OutboxWorker) Run(ctx context.Context) {
	interval, batch, now := w.Interval, w.Batch, w.Now
	if interval <= 0 {
		interval = time.Second
	}
	if batch <= 0 {
		batch = 20
	}
	if now == nil {
		now = time.Now
	}
	t := time.NewTicker(interval)
	defer t.Stop()
	for {
		n, err := DeliverOutbox(ctx, w.DB, w.Sender, now(), batch)
		if err != nil && ctx.Err() == nil && w.Log != nil {
			w.Log.Error("outbox delivery", "error", err.Error())
		}
		if n == batch && err == nil && ctx.Err() == nil {
			continue
		}
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
	}
}

// Outbox is a manual-only job (POST /api/v1/jobs/outbox/run) that delivers
// due notifications now through s; the OutboxWorker polls the same queue
// every second, so it needs no schedule. With no sender (WeChat not
// configured) a run fails with models.ErrUnavailable and nothing is claimed.
func Outbox(s Sender) Job {
	return Job{Name: "outbox", Run: func(ctx context.Context, db *models.DB, now time.Time) (int64, error) {
		if s == nil {
			return 0, models.ErrUnavailable.WithMessage("未配置微信，通知保留在发件箱中")
		}
		n, err := DeliverOutbox(ctx, db, s, now, 500)
		return int64(n), err
	}}
}
