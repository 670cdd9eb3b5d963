package models

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"math/rand/v2"
	"slices"
	"strconv"
	"strings"
	"time"

	"gorm.io/gorm"
)

// Draw is the audit record of one lottery draw: its seed, who ran it, and
// the detail (offerings and seats, applications, the random order and the
// result) from which anyone can re-run and check it.
type Draw struct {
	ID        int64     `gorm:"primaryKey"`
	SchoolID  int64     `gorm:"column:school_id"`
	TermID    int64     `gorm:"column:term_id"`
	Seed      string    `gorm:"column:seed"`
	RunBy     *int64    `gorm:"column:run_by"`
	Assigned  int       `gorm:"column:assigned"`
	Rejected  int       `gorm:"column:rejected"`
	Detail    string    `gorm:"column:detail"`
	CreatedAt time.Time `gorm:"column:created_at"`
}

// TableName maps Draw to lottery_draws.
func (Draw) TableName() string { return "lottery_draws" }

// DrawDetail is what a Draw's Detail holds.
type DrawDetail struct {
	Offerings []DrawOffering    `json:"offerings"`
	Prefs     map[int64][]int64 `json:"prefs"`  // student → offerings, first choice first
	Order     []int64           `json:"order"`  // students in drawn order
	Result    map[int64]int64   `json:"result"` // student → offering won (absent: none)
	// Seeds are the offerings' committed seeds, revealed by the draw
	// (lottery_seed.go); Uncommitted lists offerings published before
	// seeds were committed, whose seed was drawn at the draw.
	Seeds       map[int64]string `json:"seeds"`
	Uncommitted []int64          `json:"uncommitted,omitempty"`
}

// DrawOffering is one offering in a draw and the seats it had.
type DrawOffering struct {
	ID    int64 `json:"id"`
	Seats int   `json:"seats"`
}

// lotteryStream fixes the second PCG word so a draw depends on the seed only.
const lotteryStream = 0x6b65686f75 // "kehou"

// DrawOrder returns the applicants (student ids) in the uniformly random
// order given by seed: the ids are sorted, then shuffled (Fisher–Yates) by a
// PCG generator seeded with seed. The same seed and the same applicants
// always give the same order.
func DrawOrder(seed int64, applicants []int64) []int64 {
	order := slices.Clone(applicants)
	slices.Sort(order)
	r := rand.New(rand.NewPCG(uint64(seed), lotteryStream))
	r.Shuffle(len(order), func(i, j int) { order[i], order[j] = order[j], order[i] })
	return order
}

// SerialDictatorship assigns seats by random serial dictatorship: each
// student in order gets the first offering of its prefs that still has a
// seat and that ok allows (ok may be nil). It returns student → offering for
// the students who got one; seats is consumed.
func SerialDictatorship(order []int64, prefs map[int64][]int64, seats map[int64]int, ok func(student, offering int64) bool) map[int64]int64 {
	won := map[int64]int64{}
	for _, s := range order {
		for _, o := range prefs[s] {
			if seats[o] > 0 && (ok == nil || ok(s, o)) {
				seats[o]--
				won[s] = o
				break
			}
		}
	}
	return won
}

// RunLottery draws every lottery offering of a school's term whose window
// has closed and that has not been drawn (SPEC rule 8), in one transaction:
// applicants in the random order of the offerings' committed seeds
// (DrawSeed; nobody passes a seed) each get
// their highest-ranked offering with a seat left that does not overlap a
// club they are enrolled in nor pass the term's max clubs; their other
// applications, and those of applicants who got nothing, are rejected.
// Drawn offerings are marked, so running it again changes nothing
// (ErrNothingToDraw). Families are notified through the outbox. a must
// manage the school (school admin, platform admin or the system).
func RunLottery(ctx context.Context, db *DB, a Actor, schoolID, termID int64) (Draw, error) {
	return runLottery(ctx, db, a, schoolID, termID, time.Now())
}

// DrawDueLotteries runs the draw of every school term with a lottery
// offering whose window closed by now and is not drawn yet (the cron job).
// It returns how many draws it ran.
func DrawDueLotteries(ctx context.Context, db *DB, now time.Time) (int, error) {
	type due struct {
		SchoolID int64 `gorm:"column:school_id"`
		TermID   int64 `gorm:"column:term_id"`
	}
	var dues []due
	if err := db.Read(ctx).Raw(`SELECT DISTINCT school_id, term_id FROM offerings WHERE mode = ? AND drawn_at IS NULL
		AND status IN (?, ?) AND enroll_closes_at <= ? ORDER BY school_id, term_id`,
		ModeLottery, OfferingPublished, OfferingClosed, now.UTC()).Scan(&dues).Error; err != nil {
		return 0, err
	}
	n := 0
	for _, d := range dues {
		_, err := runLottery(ctx, db, SystemActor, d.SchoolID, d.TermID, now)
		if errors.Is(err, ErrNothingToDraw) {
			continue // another instance drew it first
		}
		if err != nil {
			return n, fmt.Errorf("models: lottery school %d term %d: %w", d.SchoolID, d.TermID, err)
		}
		n++
	}
	return n, nil
}

type application struct {
	ID         int64 `gorm:"column:id"`
	StudentID  int64 `gorm:"column:student_id"`
	OfferingID int64 `gorm:"column:offering_id"`
	Rank       int   `gorm:"column:rank"`
}

type heldSlot struct {
	StudentID int64 `gorm:"column:student_id"`
	Held
}

func runLottery(ctx context.Context, db *DB, a Actor, schoolID, termID int64, now time.Time) (Draw, error) {
	if a != SystemActor {
		if err := requireManage(ctx, db, a, schoolID); err != nil {
			return Draw{}, err
		}
	}
	t, err := FindTermByID(ctx, db, termID)
	if err != nil || t.SchoolID != schoolID {
		return Draw{}, ErrNotFound
	}
	now = now.UTC()
	var d Draw
	// One clock for the draw: the seats are taken at now.
	err = db.writeOfferings(withClock(ctx, now), func(tx *gorm.DB) error {
		q := `SELECT * FROM offerings WHERE school_id = ? AND term_id = ? AND mode = ? AND drawn_at IS NULL
			AND status IN (?, ?) AND enroll_closes_at <= ? ORDER BY id`
		if db.Dialect == Postgres {
			q += " FOR UPDATE"
		}
		var offs []Offering
		if err := tx.Raw(q, schoolID, termID, ModeLottery, OfferingPublished, OfferingClosed, now).Scan(&offs).Error; err != nil {
			return err
		}
		if len(offs) == 0 {
			return ErrNothingToDraw
		}
		ids := make([]int64, len(offs))
		byID := map[int64]Offering{}
		seats := map[int64]int{}
		seeds, bySeed, uncommitted, err := drawSeeds(tx, offs, now)
		if err != nil {
			return err
		}
		s := DrawSeed(seeds)
		detail := DrawDetail{Prefs: map[int64][]int64{}, Result: map[int64]int64{}, Seeds: bySeed, Uncommitted: uncommitted}
		for i, o := range offs {
			ids[i], byID[o.ID], seats[o.ID] = o.ID, o, o.Remaining()
			detail.Offerings = append(detail.Offerings, DrawOffering{ID: o.ID, Seats: o.Remaining()})
		}
		var apps []application
		if err := tx.Raw(`SELECT id, student_id, offering_id, rank FROM enrollments WHERE offering_id IN ? AND status = ?
			ORDER BY student_id, rank, id`, ids, StatusApplied).Scan(&apps).Error; err != nil {
			return err
		}
		var students []int64
		for _, ap := range apps {
			if len(detail.Prefs[ap.StudentID]) == 0 {
				students = append(students, ap.StudentID)
			}
			detail.Prefs[ap.StudentID] = append(detail.Prefs[ap.StudentID], ap.OfferingID)
		}
		// The applicants' rows are locked after the offerings', the
		// reverse of the batch's order (students, then offerings): on
		// PostgreSQL a draw can deadlock with a batch of one of its
		// applicants, and writeOfferings (retryTx) runs it again.
		if db.Dialect == Postgres && len(students) > 0 {
			if err := tx.Exec("SELECT id FROM students WHERE id IN ? ORDER BY id FOR UPDATE", students).Error; err != nil {
				return err
			}
		}
		var held []heldSlot
		if err := tx.Raw(`SELECT e.student_id, e.offering_id, e.status, e.rank, o.kind, o.weekdays, o.start_min, o.end_min
			FROM enrollments e JOIN offerings o ON o.id = e.offering_id
			WHERE e.term_id = ? AND e.status IN (?, ?, ?) AND e.offering_id NOT IN ?
			AND e.student_id IN (SELECT student_id FROM enrollments WHERE offering_id IN ? AND status = ?)`,
			termID, StatusEnrolled, StatusPendingPayment, StatusWaitlisted, ids, ids, StatusApplied).Scan(&held).Error; err != nil {
			return err
		}
		heldBy := map[int64][]Held{}
		for _, h := range held {
			heldBy[h.StudentID] = append(heldBy[h.StudentID], h.Held)
		}
		// The rules a new place meets (rules 5 and 6) against each
		// applicant's enrolled and waitlisted places outside this draw.
		ok := func(student, offering int64) bool {
			return checkTimetable(byID[offering], t.MaxClubs, heldBy[student]) == nil
		}
		detail.Order = DrawOrder(s, students)
		detail.Result = SerialDictatorship(detail.Order, detail.Prefs, seats, ok)

		d = Draw{SchoolID: schoolID, TermID: termID, Seed: strconv.FormatInt(s, 10), RunBy: nullID(a.UserID),
			Assigned: len(detail.Result), Rejected: len(students) - len(detail.Result), CreatedAt: now}
		b, err := json.Marshal(detail)
		if err != nil {
			return err
		}
		d.Detail = string(b)
		if err := tx.Create(&d).Error; err != nil {
			return err
		}
		return settleDraw(tx, d, offs, apps, detail.Result, byID, now)
	})
	return d, err
}

// settleDraw writes a draw's outcome: per offering, the winners take their
// seats and the losers' applications end rejected (seats.go: takeSeats,
// freeSeats, so the counters move there, guarded by capacity); then the
// drawn marks, and a notification per applicant.
func settleDraw(tx *gorm.DB, d Draw, offs []Offering, apps []application, won map[int64]int64, byID map[int64]Offering, now time.Time) error {
	winners, losers := map[int64][]Enrollment{}, map[int64][]Enrollment{}
	for _, ap := range apps {
		e := Enrollment{ID: ap.ID, StudentID: ap.StudentID, OfferingID: ap.OfferingID, Status: StatusApplied}
		if won[ap.StudentID] == ap.OfferingID {
			winners[ap.OfferingID] = append(winners[ap.OfferingID], e)
		} else {
			losers[ap.OfferingID] = append(losers[ap.OfferingID], e)
		}
	}
	ids := make([]int64, len(offs))
	for i, o := range offs {
		ids[i] = o.ID
		if err := takeSeats(tx, o, winners[o.ID]); err != nil {
			if errors.Is(err, ErrFull) {
				return fmt.Errorf("models: lottery overfilled offering %d", o.ID)
			}
			return err
		}
		if err := freeSeats(tx, o, losers[o.ID], release{to: StatusRejected}); err != nil {
			return err
		}
	}
	if err := tx.Exec("UPDATE offerings SET drawn_at = ?, draw_id = ?, updated_at = ? WHERE id IN ?", now, d.ID, now, ids).Error; err != nil {
		return err
	}
	// A win in a priced offering is a seat held for payment (order_hold.go).
	holdNotes := map[int64][2]string{} // the note and the inbox's full text
	for _, ap := range apps {
		if won[ap.StudentID] != ap.OfferingID || byID[ap.OfferingID].FeeFen == 0 {
			continue
		}
		e := Enrollment{ID: ap.ID, StudentID: ap.StudentID, OfferingID: ap.OfferingID, Status: StatusEnrolled}
		held, err := holdSeat(tx, &e, byID[ap.OfferingID], now)
		if err != nil {
			return err
		}
		if held {
			holdNotes[ap.StudentID] = [2]string{holdNote(e), holdDetail(e)}
		}
	}
	notified := map[int64]bool{}
	for _, ap := range apps {
		if notified[ap.StudentID] {
			continue
		}
		notified[ap.StudentID] = true
		// A family that got nothing is told which clubs it ranked.
		var ranked []string
		for _, x := range apps {
			if x.StudentID == ap.StudentID {
				ranked = append(ranked, byID[x.OfferingID].Name)
			}
		}
		p := map[string]string{"status": "未中签", "offering": lotteryOfferings(ranked), "note": "未获得名额",
			"detail":  "未获得名额：" + strings.Join(ranked, "、"),
			"draw_id": fmt.Sprint(d.ID)}
		if oid, ok := won[ap.StudentID]; ok {
			p = map[string]string{"status": "中签", "offering": byID[oid].Name, "draw_id": fmt.Sprint(d.ID),
				"time": FormatClock(byID[oid].StartMin) + "-" + FormatClock(byID[oid].EndMin)}
			if note := holdNotes[ap.StudentID]; note[0] != "" {
				p["note"], p["detail"] = note[0], note[1]
			}
		}
		if err := NotifyGuardians(tx, NotifyLotteryResult, ap.StudentID, fmt.Sprintf("lottery:draw:%d:student:%d", d.ID, ap.StudentID), p); err != nil {
			return err
		}
	}
	return nil
}
