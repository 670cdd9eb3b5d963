package models_test

import (
	"context"
	"errors"
	"sync/atomic"
	"testing"
	"time"

	"kehou/models"
	"kehou/models/modelstest"
)

// TestLinkRemovalRetiresEveryInstance: with two instances on one database,
// a link removed through one is gone on the other at its next check, not
// when the other's 30-second children cache expires.
func TestLinkRemovalRetiresEveryInstance(t *testing.T) {
	url := modelstest.URL(t)
	one, two := modelstest.Open(t, url), modelstest.Open(t, url)
	two.LinkPoll = time.Nanosecond // every check reads link_version
	ctx := context.Background()
	sc := modelstest.School(t, one, modelstest.Region(t, one, nil).ID)
	st := modelstest.Student(t, one, sc.ID, 3, "13800000123")
	admin := models.Actor{UserID: modelstest.Staff(t, one, models.RoleSchoolAdmin, sc.ID, 0).ID, Role: models.RoleSchoolAdmin, SchoolID: sc.ID}
	for _, c := range []struct {
		name   string
		remove func(p models.User) error
	}{
		{"guardianUnlinks", func(p models.User) error {
			return models.UnlinkChild(ctx, one, models.Actor{UserID: p.ID, Role: models.RoleParent}, st.ID)
		}},
		{"schoolRemoves", func(p models.User) error { return models.RemoveGuardianLink(ctx, one, admin, st.ID, p.ID) }},
	} {
		t.Run(c.name, func(t *testing.T) {
			p := modelstest.Parent(t, one, st.ID)
			if ok, err := models.ParentHasChildInSchool(ctx, two, p.ID, sc.ID); err != nil || !ok {
				t.Fatalf("before: %v, %v", ok, err)
			}
			if err := c.remove(p); err != nil {
				t.Fatal(err)
			}
			if ok, err := models.ParentHasChildInSchool(ctx, two, p.ID, sc.ID); err != nil || ok {
				t.Fatalf("other instance still sees the child: %v, %v", ok, err)
			}
			if err := c.remove(p); !errors.Is(err, models.ErrNotFound) {
				t.Fatalf("second removal: %v, want ErrNotFound", err)
			}
		})
	}
	t.Run("otherSchoolAdmin404", func(t *testing.T) {
		p := modelstest.Parent(t, one, st.ID)
		other := modelstest.School(t, one, sc.RegionID)
		a := models.Actor{UserID: modelstest.Staff(t, one, models.RoleSchoolAdmin, other.ID, 0).ID, Role: models.RoleSchoolAdmin, SchoolID: other.ID}
		if err := models.RemoveGuardianLink(ctx, one, a, st.ID, p.ID); !errors.Is(err, models.ErrNotFound) {
			t.Fatalf("err = %v", err)
		}
	})
}

// TestConfirmDeletionErases: after the school confirms a guardian's
// request, the child's name, number, guardians and links are gone on every
// instance, the student is inactive, and a second confirmation is refused.
func TestConfirmDeletionErases(t *testing.T) {
	url := modelstest.URL(t)
	one, two := modelstest.Open(t, url), modelstest.Open(t, url)
	two.LinkPoll = time.Nanosecond
	ctx := context.Background()
	w := newWorld(t, one, 2)
	sc := w.school
	st := modelstest.Student(t, one, sc.ID, 3, "13800000456")
	p := modelstest.Parent(t, one, st.ID)
	parent := models.Actor{UserID: p.ID, Role: models.RoleParent}
	admin := w.admin.Actor()
	// The child holds the only seat of a club; another child waits for it.
	on := true
	o := w.offering(func(in *models.NewOffering) { in.Capacity = 1; in.Waitlist = &on })
	waiting := w.students(1)[0]
	if _, err := w.enroll(parent, st.ID, o.ID); err != nil {
		t.Fatal(err)
	}
	if e, err := w.enroll(admin, waiting.ID, o.ID); err != nil || e.Status != models.StatusWaitlisted {
		t.Fatalf("waiting child: %+v %v", e, err)
	}
	if ok, _ := models.ParentHasChildInSchool(ctx, two, p.ID, sc.ID); !ok {
		t.Fatal("not linked")
	}
	r, err := models.RequestDeletion(ctx, one, parent, st.ID, "转学", time.Now())
	if err != nil {
		t.Fatal(err)
	}
	if _, err := models.RequestDeletion(ctx, one, parent, st.ID, "", time.Now()); !errors.Is(err, models.ErrDeletionPending) {
		t.Fatalf("second request: %v", err)
	}
	stranger := models.Actor{UserID: modelstest.Parent(t, one).ID, Role: models.RoleParent}
	if _, err := models.RequestDeletion(ctx, one, stranger, st.ID, "", time.Now()); !errors.Is(err, models.ErrNotFound) {
		t.Fatalf("unlinked parent: %v", err)
	}
	if _, err := models.ConfirmDeletion(ctx, one, admin, r.ID, time.Now()); err != nil {
		t.Fatal(err)
	}
	got, _ := models.FindStudentByID(ctx, one, st.ID)
	if got.Name != models.ErasedName || got.StudentNo == st.StudentNo || got.Active || got.Gender != "" {
		t.Fatalf("student after erasure: %+v", got)
	}
	for q, want := range map[string]int64{
		"SELECT COUNT(*) FROM guardians WHERE student_id = ?":       0,
		"SELECT COUNT(*) FROM parent_students WHERE student_id = ?": 0,
	} {
		if n := count(t, one, q, st.ID); n != want {
			t.Fatalf("%s = %d", q, n)
		}
	}
	if ok, _ := models.ParentHasChildInSchool(ctx, two, p.ID, sc.ID); ok {
		t.Fatal("other instance still sees the erased child")
	}
	// The seat went to the waiting child; the erased child's row stays
	// (withdrawn), its applicant now the erased guardian.
	if n := count(t, one, "SELECT COUNT(*) FROM enrollments WHERE student_id = ? AND status = ?", waiting.ID, models.StatusEnrolled); n != 1 {
		t.Fatalf("waiting child enrolled = %d", n)
	}
	if n := count(t, one, `SELECT COUNT(*) FROM enrollments e JOIN users u ON u.id = e.applied_by
		WHERE e.student_id = ? AND e.status = ? AND u.openid = 'kehou:erased'`, st.ID, models.StatusWithdrawn); n != 1 {
		t.Fatalf("erased child's enrollment kept anonymised = %d", n)
	}
	if _, err := models.ConfirmDeletion(ctx, one, admin, r.ID, time.Now()); !errors.Is(err, models.ErrDeletionNotPending) {
		t.Fatalf("second confirmation: %v", err)
	}
}

// TestRosterDropsLinkOfChangedPhone: a parent who proved a phone and then
// moved to another loses the link when the roster drops the proved phone.
func TestRosterDropsLinkOfChangedPhone(t *testing.T) {
	db := modelstest.MustOpenDB(t)
	ctx := context.Background()
	sc := modelstest.School(t, db, modelstest.Region(t, db, nil).ID)
	const old, other = "13800000771", "13800000772"
	if _, err := models.ImportRoster(ctx, db, models.SystemActor, sc.ID, []models.RosterRow{
		row("P1", "学生", "女", "3", "1班", "家长", old, "母亲"), row("P1", "学生", "女", "3", "1班", "家长二", other, "父亲")}); err != nil {
		t.Fatal(err)
	}
	p := modelstest.Parent(t, db)
	if kids, err := models.BindPhone(ctx, db, p.ID, old); err != nil || len(kids) != 1 {
		t.Fatalf("bind: %v %v", kids, err)
	}
	// The parent proves a new phone that is nobody's guardian phone.
	if _, err := models.BindPhone(ctx, db, p.ID, "13900000999"); err != nil {
		t.Fatal(err)
	}
	if _, err := models.ImportRoster(ctx, db, models.SystemActor, sc.ID, []models.RosterRow{
		row("P1", "学生", "女", "3", "1班", "家长二", other, "父亲")}); err != nil {
		t.Fatal(err)
	}
	if ok, err := models.ParentHasChildInSchool(ctx, db, p.ID, sc.ID); err != nil || ok {
		t.Fatalf("link through a dropped phone kept: %v %v", ok, err)
	}
}

// TestRosterLinksSiblingOfKnownParent: a child imported after a parent
// proved the child's guardian phone is linked by the import itself, and
// the parent gets one message naming the child; an unrelated parent gets
// nothing.
func TestRosterLinksSiblingOfKnownParent(t *testing.T) {
	db := modelstest.MustOpenDB(t)
	ctx := context.Background()
	sc := modelstest.School(t, db, modelstest.Region(t, db, nil).ID)
	const phone = "13800000881"
	if _, err := models.ImportRoster(ctx, db, models.SystemActor, sc.ID, []models.RosterRow{
		row("Q1", "郑大", "女", "5", "1班", "郑母", phone, "母亲")}); err != nil {
		t.Fatal(err)
	}
	p := modelstest.Parent(t, db)
	if _, err := models.BindPhone(ctx, db, p.ID, phone); err != nil {
		t.Fatal(err)
	}
	other := modelstest.Parent(t, db)
	if _, err := models.BindPhone(ctx, db, other.ID, "13800000882"); err != nil {
		t.Fatal(err)
	}
	sibling := []models.RosterRow{row("Q2", "郑小", "男", "2", "3班", "郑母", phone, "母亲")}
	for range 2 { // the second import finds the link made: no second message
		if _, err := models.ImportRoster(ctx, db, models.SystemActor, sc.ID, sibling); err != nil {
			t.Fatal(err)
		}
	}
	kids, err := models.ChildrenOf(ctx, db, p.ID)
	if err != nil || len(kids) != 2 || kids[1].Name != "郑小" {
		t.Fatalf("children %+v, %v", kids, err)
	}
	if n := count(t, db, "SELECT COUNT(*) FROM outbox WHERE kind = ? AND user_id = ? AND payload LIKE ?",
		models.NotifyChildLinked, p.ID, "%郑小%"); n != 1 {
		t.Fatalf("messages to the parent = %d, want 1", n)
	}
	if n := count(t, db, "SELECT COUNT(*) FROM outbox WHERE user_id = ?", other.ID); n != 0 {
		t.Fatalf("messages to an unrelated parent = %d", n)
	}
}

// TestLinkPollBoundsStaleness: another instance keeps its view of the links
// for at most LinkPoll (no read of link_version on every check) and
// retires it once the interval has passed.
func TestLinkPollBoundsStaleness(t *testing.T) {
	url := modelstest.URL(t)
	one, two := modelstest.Open(t, url), modelstest.Open(t, url)
	var now atomic.Int64
	now.Store(time.Date(2026, 12, 3, 16, 0, 0, 0, time.UTC).UnixNano())
	two.Clock = func() time.Time { return time.Unix(0, now.Load()) }
	ctx := context.Background()
	sc := modelstest.School(t, one, modelstest.Region(t, one, nil).ID)
	st := modelstest.Student(t, one, sc.ID, 3, "13800000124")
	p := modelstest.Parent(t, one, st.ID)
	if ok, err := models.ParentHasChildInSchool(ctx, two, p.ID, sc.ID); err != nil || !ok {
		t.Fatalf("before: %v, %v", ok, err)
	}
	if err := models.UnlinkChild(ctx, one, models.Actor{UserID: p.ID, Role: models.RoleParent}, st.ID); err != nil {
		t.Fatal(err)
	}
	now.Add(int64(models.DefaultLinkPoll / 2))
	if ok, _ := models.ParentHasChildInSchool(ctx, two, p.ID, sc.ID); !ok {
		t.Fatal("within the poll interval the other instance read link_version again")
	}
	now.Add(int64(models.DefaultLinkPoll))
	if ok, err := models.ParentHasChildInSchool(ctx, two, p.ID, sc.ID); err != nil || ok {
		t.Fatalf("after the poll interval the other instance still sees the child: %v, %v", ok, err)
	}
}
