package jobs_test

import (
	"context"
	"fmt"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"gorm.io/gorm"

	"kehou/jobs"
	"kehou/models"
	"kehou/models/modelstest"
	"kehou/wechat"
)

const tplEnroll = "TPL_ENROLL"

type outboxEnv struct {
	url    string
	db     *models.DB
	fake   *wechat.Fake
	client *wechat.Client
	parent models.User
	openid string
}

func newOutboxEnv(t *testing.T) *outboxEnv {
	t.Helper()
	url := modelstest.URL(t)
	db := modelstest.Open(t, url)
	f := wechat.NewFake("wxapp", "secret")
	srv := httptest.NewServer(f)
	t.Cleanup(srv.Close)
	c := wechat.New(wechat.Config{AppID: "wxapp", Secret: "secret", BaseURL: srv.URL,
		Templates: map[string]wechat.Template{models.NotifyEnrollmentConfirmed: {ID: tplEnroll,
			Fields: map[string]string{"student": "thing1", "offering": "thing2"}}}})
	p := modelstest.Parent(t, db)
	f.LoginCode(*p.OpenID, "") // the parent is a user of the mini-program
	e := &outboxEnv{url: url, db: db, fake: f, client: c, parent: p, openid: *p.OpenID}
	e.accept(t, 100) // plenty: the tests of consent start from a bare env
	return e
}

// newBareOutboxEnv is an outboxEnv whose parent accepted nothing yet.
func newBareOutboxEnv(t *testing.T) *outboxEnv {
	t.Helper()
	e := newOutboxEnv(t)
	e.fake = wechat.NewFake("wxapp", "secret")
	srv := httptest.NewServer(e.fake)
	t.Cleanup(srv.Close)
	e.client = wechat.New(wechat.Config{AppID: "wxapp", Secret: "secret", BaseURL: srv.URL,
		Templates: map[string]wechat.Template{
			models.NotifyEnrollmentConfirmed: {ID: tplEnroll, Subscription: models.SubscriptionOneTime,
				Fields: map[string]string{"student": "thing1", "offering": "thing2"}},
			models.NotifyAbsence: {ID: tplAbsence, Subscription: models.SubscriptionLongTerm,
				Fields: map[string]string{"student": "thing1"}}}})
	e.fake.LoginCode(e.openid, "")
	if err := e.db.W.Exec("DELETE FROM wechat_consents").Error; err != nil {
		t.Fatal(err)
	}
	return e
}

const tplAbsence = "TPL_ABSENCE"

// accept records that the parent accepted the enrollment template n times,
// as the phone does: at WeChat (the fake) and at kehou (POST
// /me/subscriptions).
func (e *outboxEnv) accept(t *testing.T, n int) {
	t.Helper()
	for range n {
		e.fake.Subscribe(e.openid, tplEnroll, false, true)
		if _, err := models.RecordSubscriptions(context.Background(), e.db, e.parent.ID,
			[]models.SubscriptionAnswer{{TemplateID: tplEnroll, Subscription: models.SubscriptionOneTime, Accepted: true}}, time.Now()); err != nil {
			t.Fatal(err)
		}
	}
}

// consentLeft is kehou's count of the parent's enrollment acceptances.
func (e *outboxEnv) consentLeft(t *testing.T) int {
	t.Helper()
	var n int
	if err := e.db.W.Raw("SELECT COALESCE(SUM(one_time), 0) FROM wechat_consents WHERE user_id = ? AND template_id = ?",
		e.parent.ID, tplEnroll).Scan(&n).Error; err != nil {
		t.Fatal(err)
	}
	return n
}

// enqueue writes n notifications of kind for the parent.
func (e *outboxEnv) enqueue(t *testing.T, kind string, n int) []int64 {
	t.Helper()
	var ids []int64
	for i := 0; i < n; i++ {
		key := fmt.Sprintf("test:%s:%d:%d", kind, time.Now().UnixNano(), i)
		if err := e.db.Tx(context.Background(), func(tx *gorm.DB) error {
			return models.EnqueueNotification(tx, models.Notification{Kind: kind, UserID: e.parent.ID,
				DedupeKey: key, Payload: map[string]string{"student": "小明", "offering": "篮球社（高年级提高班，每周二、周四下午四点半开始）"}})
		}); err != nil {
			t.Fatal(err)
		}
		var id int64
		e.db.R.Raw("SELECT id FROM outbox WHERE dedupe_key = ?", key).Scan(&id)
		ids = append(ids, id)
	}
	return ids
}

func (e *outboxEnv) row(t *testing.T, id int64) models.OutboxMessage {
	t.Helper()
	var m models.OutboxMessage
	if err := e.db.W.First(&m, id).Error; err != nil {
		t.Fatal(err)
	}
	return m
}

func TestDeliverOutbox(t *testing.T) {
	ctx := context.Background()

	t.Run("sentOnce", func(t *testing.T) {
		e := newOutboxEnv(t)
		id := e.enqueue(t, models.NotifyEnrollmentConfirmed, 1)[0]
		now := time.Now()
		n, err := jobs.DeliverOutbox(ctx, e.db, e.client, now, 10)
		if err != nil || n != 1 {
			t.Fatalf("delivered %d, %v", n, err)
		}
		n, _ = jobs.DeliverOutbox(ctx, e.db, e.client, now.Add(time.Hour), 10)
		ms := e.fake.Messages()
		if n != 0 || len(ms) != 1 {
			t.Fatalf("second run delivered %d; fake has %d", n, len(ms))
		}
		if ms[0].ToUser != e.openid || ms[0].TemplateID != tplEnroll || ms[0].Data["thing1"] != "小明" ||
			len([]rune(ms[0].Data["thing2"])) != 20 || !strings.HasSuffix(ms[0].Data["thing2"], "…") {
			t.Fatalf("message %+v", ms[0])
		}
		m := e.row(t, id)
		if m.Status != models.OutboxSent || m.SentAt == nil || m.Attempts != 1 {
			t.Fatalf("row %+v", m)
		}
	})

	t.Run("noConsentRefusedWithoutCallingWeChat", func(t *testing.T) {
		e := newBareOutboxEnv(t)
		id := e.enqueue(t, models.NotifyEnrollmentConfirmed, 1)[0]
		now := time.Now()
		if n, err := jobs.DeliverOutbox(ctx, e.db, e.client, now, 10); n != 0 || err != nil {
			t.Fatalf("delivered %d, %v", n, err)
		}
		if m := e.row(t, id); m.Status != models.OutboxRefused {
			t.Fatalf("status %s", m.Status)
		}
		if e.fake.Calls(wechat.EndpointSend) != 0 {
			t.Fatal("WeChat was called without a consent")
		}
		e.accept(t, 1)
		_, _ = jobs.DeliverOutbox(ctx, e.db, e.client, now.Add(24*time.Hour), 10)
		if e.fake.Calls(wechat.EndpointSend) != 0 || len(e.fake.Messages()) != 0 {
			t.Fatal("a refused message was retried")
		}
	})

	t.Run("oneAcceptanceOneMessage", func(t *testing.T) {
		e := newBareOutboxEnv(t)
		e.accept(t, 1)
		ids := e.enqueue(t, models.NotifyEnrollmentConfirmed, 2)
		if n, err := jobs.DeliverOutbox(ctx, e.db, e.client, time.Now(), 10); n != 1 || err != nil {
			t.Fatalf("delivered %d, %v", n, err)
		}
		if a, b := e.row(t, ids[0]).Status, e.row(t, ids[1]).Status; a != models.OutboxSent || b != models.OutboxRefused {
			t.Fatalf("statuses %s, %s", a, b)
		}
		if e.fake.Calls(wechat.EndpointSend) != 1 || e.consentLeft(t) != 0 {
			t.Fatalf("WeChat called %d times, %d acceptances left", e.fake.Calls(wechat.EndpointSend), e.consentLeft(t))
		}
	})

	t.Run("longTermSendsEvery", func(t *testing.T) {
		e := newBareOutboxEnv(t)
		e.fake.Subscribe(e.openid, tplAbsence, true, true)
		if _, err := models.RecordSubscriptions(ctx, e.db, e.parent.ID, []models.SubscriptionAnswer{
			{TemplateID: tplAbsence, Subscription: models.SubscriptionLongTerm, Accepted: true}}, time.Now()); err != nil {
			t.Fatal(err)
		}
		e.enqueue(t, models.NotifyAbsence, 3)
		if n, err := jobs.DeliverOutbox(ctx, e.db, e.client, time.Now(), 10); n != 3 || err != nil {
			t.Fatalf("delivered %d, %v", n, err)
		}
	})

	t.Run("weChatSaysNoConsentForgetsCount", func(t *testing.T) {
		e := newBareOutboxEnv(t)
		// kehou counted two acceptances WeChat never saw (an app that
		// reported more than the parent accepted): WeChat's count wins.
		if _, err := models.RecordSubscriptions(ctx, e.db, e.parent.ID, []models.SubscriptionAnswer{
			{TemplateID: tplEnroll, Subscription: models.SubscriptionOneTime, Accepted: true},
			{TemplateID: tplEnroll, Subscription: models.SubscriptionOneTime, Accepted: true}}, time.Now()); err != nil {
			t.Fatal(err)
		}
		id := e.enqueue(t, models.NotifyEnrollmentConfirmed, 1)[0]
		_, _ = jobs.DeliverOutbox(ctx, e.db, e.client, time.Now(), 10)
		if m := e.row(t, id); m.Status != models.OutboxRefused || e.consentLeft(t) != 0 {
			t.Fatalf("status %s, %d left", m.Status, e.consentLeft(t))
		}
	})

	t.Run("busyGivesTheConsentBack", func(t *testing.T) {
		e := newBareOutboxEnv(t)
		e.accept(t, 1)
		id := e.enqueue(t, models.NotifyEnrollmentConfirmed, 1)[0]
		e.fake.Fail(wechat.EndpointSend, wechat.CodeBusy)
		now := time.Now()
		_, _ = jobs.DeliverOutbox(ctx, e.db, e.client, now, 10)
		if e.consentLeft(t) != 1 {
			t.Fatalf("%d acceptances left after a busy WeChat, want 1", e.consentLeft(t))
		}
		if n, _ := jobs.DeliverOutbox(ctx, e.db, e.client, now.Add(time.Minute), 10); n != 1 || e.row(t, id).Status != models.OutboxSent {
			t.Fatal("not sent on retry")
		}
	})

	t.Run("causedByRecipientStaysInApp", func(t *testing.T) {
		e := newOutboxEnv(t)
		key := fmt.Sprintf("test:own:%d", time.Now().UnixNano())
		if err := e.db.Tx(ctx, func(tx *gorm.DB) error {
			return models.EnqueueNotification(tx, models.Notification{Kind: models.NotifyEnrollmentConfirmed, UserID: e.parent.ID,
				DedupeKey: key, Payload: map[string]string{"student": "小明", "actor_id": fmt.Sprint(e.parent.ID)}})
		}); err != nil {
			t.Fatal(err)
		}
		before := e.consentLeft(t)
		_, _ = jobs.DeliverOutbox(ctx, e.db, e.client, time.Now(), 10)
		var status models.OutboxStatus
		e.db.W.Raw("SELECT status FROM outbox WHERE dedupe_key = ?", key).Scan(&status)
		if status != models.OutboxInApp || e.fake.Calls(wechat.EndpointSend) != 0 || e.consentLeft(t) != before {
			t.Fatalf("status %s, %d sends, consent %d → %d", status, e.fake.Calls(wechat.EndpointSend), before, e.consentLeft(t))
		}
	})

	t.Run("busyRetriedWithBackoff", func(t *testing.T) {
		e := newOutboxEnv(t)
		id := e.enqueue(t, models.NotifyEnrollmentConfirmed, 1)[0]
		e.fake.Fail(wechat.EndpointSend, wechat.CodeBusy)
		now := time.Now()
		_, _ = jobs.DeliverOutbox(ctx, e.db, e.client, now, 10)
		m := e.row(t, id)
		if m.Status != models.OutboxPending || m.Attempts != 1 || m.LastError == "" ||
			m.NextAttemptAt.Sub(now) < 29*time.Second || m.NextAttemptAt.Sub(now) > 31*time.Second {
			t.Fatalf("after busy: %+v", m)
		}
		if n, _ := jobs.DeliverOutbox(ctx, e.db, e.client, now.Add(10*time.Second), 10); n != 0 {
			t.Fatal("retried before the backoff")
		}
		if n, _ := jobs.DeliverOutbox(ctx, e.db, e.client, now.Add(31*time.Second), 10); n != 1 {
			t.Fatal("not retried after the backoff")
		}
		if m := e.row(t, id); m.Status != models.OutboxSent || m.Attempts != 2 {
			t.Fatalf("after retry: %+v", m)
		}
	})

	t.Run("gaveUpAfterMaxAttempts", func(t *testing.T) {
		e := newOutboxEnv(t)
		id := e.enqueue(t, models.NotifyEnrollmentConfirmed, 1)[0]
		now := time.Now()
		for i := 0; i < models.OutboxMaxAttempts; i++ {
			e.fake.Fail(wechat.EndpointSend, wechat.CodeBusy)
			_, _ = jobs.DeliverOutbox(ctx, e.db, e.client, now, 10)
			now = now.Add(2 * time.Hour)
		}
		if m := e.row(t, id); m.Status != models.OutboxFailed || m.Attempts != models.OutboxMaxAttempts {
			t.Fatalf("row %+v", m)
		}
	})

	t.Run("noTemplateInboxOnlyNotRetried", func(t *testing.T) {
		// The README's demo sets no WECHAT_TEMPLATE_*: a message of a kind
		// without a template is settled as inbox-only at once (delivery
		// in_app, the reason kept), not retried for hours as if WeChat had
		// failed; nothing reaches WeChat.
		e := newOutboxEnv(t)
		id := e.enqueue(t, models.NotifyLotteryResult, 1)[0] // no template configured
		now := time.Now()
		_, _ = jobs.DeliverOutbox(ctx, e.db, e.client, now, 10)
		_, _ = jobs.DeliverOutbox(ctx, e.db, e.client, now.Add(2*time.Hour), 10)
		m := e.row(t, id)
		if m.Status != models.OutboxInApp || m.Attempts != 1 || !strings.Contains(m.LastError, "no template") {
			t.Fatalf("row %+v", m)
		}
		if n := len(e.fake.Messages()); n != 0 {
			t.Fatalf("%d messages reached WeChat", n)
		}
		inbox, err := models.FindInbox(ctx, e.db, e.parent.ID, "", 10)
		if err != nil || len(inbox) != 1 || inbox[0].Delivery != models.DeliveryInApp {
			t.Fatalf("inbox %+v %v: want delivery in_app", inbox, err)
		}
	})
}

func TestOutboxExactlyOnceAcrossRestart(t *testing.T) {
	ctx := context.Background()
	e := newOutboxEnv(t)
	ids := e.enqueue(t, models.NotifyEnrollmentConfirmed, 3)
	now := time.Now()

	// A worker claims the batch and dies before recording any outcome
	// (perhaps after WeChat sent them).
	claimed, err := models.ClaimOutbox(ctx, e.db, now, 10)
	if err != nil || len(claimed) != 3 {
		t.Fatalf("claimed %d, %v", len(claimed), err)
	}

	// A restarted worker (a new handle on the same database) must not
	// resend while the lease holds.
	db2 := modelstest.Open(t, e.url)
	if n, err := jobs.DeliverOutbox(ctx, db2, e.client, now.Add(time.Minute), 10); n != 0 || err != nil {
		t.Fatalf("resent under a valid lease: %d, %v", n, err)
	}
	if len(e.fake.Messages()) != 0 {
		t.Fatal("sent under a valid lease")
	}

	// Once the lease expired, each is retried exactly once.
	later := now.Add(models.OutboxLease + time.Second)
	if n, err := jobs.DeliverOutbox(ctx, db2, e.client, later, 10); n != 3 || err != nil {
		t.Fatalf("after the lease: %d, %v", n, err)
	}
	_, _ = jobs.DeliverOutbox(ctx, db2, e.client, later.Add(time.Hour), 10)
	if got := len(e.fake.Messages()); got != 3 {
		t.Fatalf("fake got %d messages, want 3", got)
	}

	// The dead worker's late outcome cannot overwrite the new one.
	if _, err := models.MarkOutboxRetry(ctx, e.db, claimed[0], "late", now); err != nil {
		t.Fatal(err)
	}
	if m := e.row(t, ids[0]); m.Status != models.OutboxSent {
		t.Fatalf("late outcome overwrote: %+v", m)
	}
}

func TestOutboxTwoWorkersDeliverEachOnce(t *testing.T) {
	e := newOutboxEnv(t)
	const n = 40
	e.enqueue(t, models.NotifyEnrollmentConfirmed, n)
	dbs := []*models.DB{e.db, modelstest.Open(t, e.url)}
	var wg sync.WaitGroup
	for i := range 4 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for range 10 {
				if _, err := jobs.DeliverOutbox(context.Background(), dbs[i%2], e.client, time.Now(), 5); err != nil {
					t.Error(err)
				}
			}
		}()
	}
	wg.Wait()
	ms := e.fake.Messages()
	var sent int64
	e.db.R.Raw("SELECT COUNT(*) FROM outbox WHERE status = ?", models.OutboxSent).Scan(&sent)
	if len(ms) != n || sent != n {
		t.Fatalf("fake got %d messages, %d rows sent; want %d each", len(ms), sent, n)
	}
}

func TestOutboxWorkerRun(t *testing.T) {
	e := newOutboxEnv(t)
	e.enqueue(t, models.NotifyEnrollmentConfirmed, 2)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	w := &jobs.OutboxWorker{DB: e.db, Sender: e.client, Interval: 10 * time.Millisecond}
	go func() { defer close(done); w.Run(ctx) }()
	deadline := time.Now().Add(5 * time.Second)
	for len(e.fake.Messages()) < 2 && time.Now().Before(deadline) {
		time.Sleep(10 * time.Millisecond)
	}
	e.enqueue(t, models.NotifyEnrollmentConfirmed, 1)
	for len(e.fake.Messages()) < 3 && time.Now().Before(deadline) {
		time.Sleep(10 * time.Millisecond)
	}
	cancel()
	select {
	case <-done:
	case <-time.After(5 * time.Second):
		t.Fatal("worker did not stop")
	}
	if got := len(e.fake.Messages()); got != 3 {
		t.Fatalf("worker sent %d, want 3", got)
	}
}
