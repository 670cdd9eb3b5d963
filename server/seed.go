package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"math/rand/v2"
	"runtime/debug"
	"text/tabwriter"
	"time"

	"kehou/models"
)

// demoPassword is the password of every demo account. The demo refuses to
// load in production, so it never guards real data.
const demoPassword = "kehou2026"

// demoLogin is one demo staff account.
type demoLogin struct {
	Username string
	Role     models.Role
	Scope    string
	Name     string // the display name the roll's history and the audit show
}

// demoSummary is what seeding did.
type demoSummary struct {
	Created  int // regions, schools, users and students created by this run
	County   models.Region
	Schools  []models.School
	Students int64
	Logins   []demoLogin
	History  demoHistory // what the simulated weeks of the term did (zero when nothing was new)
}

// seedDemo is `kehou seed demo`: loads a demo city with two counties and
// twelve schools of different sizes (~3,000 students with guardians), each
// with a term four weeks under way: the "5+2" base service and clubs,
// enrollments made over those weeks (full clubs, waitlists, a drawn
// lottery), a parent survey most families answered, and a statistics
// snapshot for every day of the term so every trend has a curve; one
// account per staff role, and a family with guardian phone 13812345678. It
// prints the logins. Running it again creates only what is missing and
// prints the logins again. `seed demo --small` loads a quarter of the
// students (for tests).
func seedDemo(ctx context.Context, cfg Config, log *slog.Logger, args []string, stdout io.Writer) error {
	small, now, profile := false, time.Now(), ""
	for i := 0; i < len(args); i++ {
		switch {
		case args[i] == "--small":
			small = true
		case args[i] == "--cpuprofile" && i+1 < len(args):
			i++
			profile = args[i]
		case args[i] == "--today" && i+1 < len(args):
			i++
			// The demo's "now" is that day at the same clock time as now, so
			// a day's sessions are as far along as they are today; or at
			// the time given (YYYY-MM-DDTHH:MM, Asia/Shanghai), so a test
			// builds it at any moment of the afternoon.
			if at, err := time.ParseInLocation("2006-01-02T15:04", args[i], models.Zone); err == nil {
				now = at
				break
			}
			day, err := time.ParseInLocation(time.DateOnly, args[i], models.Zone)
			if err != nil {
				return fmt.Errorf("seed demo: --today wants a date YYYY-MM-DD (or YYYY-MM-DDTHH:MM), not %q", args[i])
			}
			local := time.Now().In(models.Zone)
			now = day.Add(time.Duration(local.Hour())*time.Hour + time.Duration(local.Minute())*time.Minute)
		default:
			return errUsage
		}
	}
	if profile != "" {
		stop, err := startCPUProfile(profile)
		if err != nil {
			return fmt.Errorf("seed demo: %w", err)
		}
		defer stop()
	}
	// The seed is a batch of a few seconds with a heap under 10 MB live,
	// collected 126 times at the default GOGC: a quarter as often costs
	// tens of MB it has and a tenth of a second of CPU it does not. (The
	// setting is the process's: two seeds at once in one test binary
	// could restore each other's.)
	defer debug.SetGCPercent(debug.SetGCPercent(400))
	if cfg.Production() {
		return errors.New("seed demo: refusing to load demo accounts with a known password when KEHOU_ENV=production")
	}
	db, err := openDB(ctx, cfg, log)
	if err != nil {
		return err
	}
	defer db.Close()
	// Marked first, so a production server refuses this database even if
	// the seed stops half-way (serve.go, refuseSeeded).
	if err := models.MarkSeeded(ctx, db, models.SeedDemo, time.Now()); err != nil {
		return fmt.Errorf("seed demo: %w", err)
	}
	history, err := models.LastOutboxID(ctx, db)
	if err != nil {
		return fmt.Errorf("seed demo: %w", err)
	}
	sum, err := loadDemo(ctx, db, now, small)
	if err != nil {
		return fmt.Errorf("seed demo: %w", err)
	}
	// The simulated weeks' messages are the families' past: sent when they
	// were made (their inboxes say so), and the demo's first real message
	// does not wait behind them.
	if _, err := models.SettleOutboxHistory(ctx, db, history); err != nil {
		return fmt.Errorf("seed demo: %w", err)
	}
	if sum.Created == 0 {
		fmt.Fprintln(stdout, "Demo data is already loaded; nothing to do.")
	} else {
		fmt.Fprintf(stdout, "Loaded the demo county %s (region %d): %d schools, %d students with guardians.\n",
			sum.County.Name, sum.County.ID, len(sum.Schools), sum.Students)
	}
	for _, s := range sum.Schools {
		fmt.Fprintf(stdout, "  school %d  %s\n", s.ID, s.Name)
	}
	if h := sum.History; h.Days > 0 {
		fmt.Fprintf(stdout, "Simulated %d days of the term: %d enrollments (%d waitlisted), %d lottery draws, "+
			"%d rolls taken (%d marks), %d survey answers, %d daily statistics snapshots.\n",
			h.Days, h.Enrolled, h.Waitlisted, h.Draws, h.Rolls, h.Marks, h.Responses, h.Snapshots)
		fmt.Fprintf(stdout, "The daily loop of the last %d days: %d leave requests, %d absent children who came late "+
			"(after the absence alert), %d dismissals, %d corrections of a past day.\n",
			demoLoopDays, h.Leave, h.Arrivals, h.Dismissals, h.Corrections)
	}
	fmt.Fprintf(stdout, "Each school has a term four weeks under way with the 5+2 base service and clubs;\n"+
		"the demo family (two children in school 1) has guardian phones %s (father, both children) and %s (mother, the younger)\n"+
		"for the WeChat login demo (README).\n", models.MaskPhone(demoFamilyPhone), models.MaskPhone(demoMotherPhone))
	fmt.Fprintf(stdout, "\nDemo logins (password %s):\n", demoPassword)
	tw := tabwriter.NewWriter(stdout, 2, 4, 2, ' ', 0)
	for _, l := range sum.Logins {
		fmt.Fprintf(tw, "  %s\t%s\t%s\t%s\n", l.Username, l.Role, l.Scope, l.Name)
	}
	_ = tw.Flush()
	fmt.Fprintf(stdout, "\nTry:\n  curl -s -H 'Content-Type: application/json' -d '{\"username\":\"demo_school\",\"password\":\"%s\"}' http://127.0.0.1%s/api/v1/auth/login\n",
		demoPassword, portOf(cfg.ListenAddr))
	return nil
}

// demoSchool is one school of the demo: its size (classes per grade,
// students per class) and whether its basic service meets "5+2".
type demoSchool struct {
	name, county      string
	classes, perClass int
	basicDays         []int
	basicEnd          string
}

// demoSchools are the demo's twelve schools, large and small, town and
// village; two of them fall short of "5+2" (four days; 90 minutes).
var demoSchools = []demoSchool{
	{"示范区实验小学", "区", 2, 28, weekdays5, "18:00"},
	{"示范区第二小学", "区", 2, 24, weekdays5, "18:00"},
	{"示范区育才小学", "区", 1, 30, weekdays5, "18:00"},
	{"示范区城南小学", "区", 3, 30, weekdays5, "18:00"},
	{"示范区光明小学", "区", 1, 18, weekdays5, "18:00"},
	{"示范区青石小学", "区", 1, 12, []int{1, 2, 3, 4}, "18:00"},
	{"示范区新华小学", "区", 2, 32, weekdays5, "18:00"},
	{"示范区东湖小学", "区", 2, 20, weekdays5, "18:00"},
	{"示范区桂花小学", "区", 1, 22, weekdays5, "17:30"},
	{"示范县城关小学", "县", 2, 26, weekdays5, "18:00"},
	{"示范县希望小学", "县", 1, 15, weekdays5, "18:00"},
	{"示范县实验学校", "县", 2, 28, weekdays5, "18:00"},
}

var weekdays5 = []int{1, 2, 3, 4, 5}

// loadDemo finds or creates every piece of the demo; each step is
// idempotent (regions and schools by code, users by username, students by
// student_no through the roster import, a school's term and its history
// only when the school has no term yet).
//
// small keeps the same twelve schools and weeks with a quarter of the
// students (at least three per class), for tests that need the whole demo
// quickly.
func loadDemo(ctx context.Context, db *models.DB, now time.Time, small bool) (demoSummary, error) {
	// SQLite runs each statement of a context that can be cancelled on a
	// goroutine of its own, to interrupt it: the seed's hundred thousand
	// statements run on one that cannot, and stop (Ctrl-C) is checked
	// between schools and between the simulated days instead.
	stop := ctx
	ctx = context.WithoutCancel(ctx)
	// The demo accounts share one password, hashed once (bcrypt, cost 11,
	// is a tenth of a second of CPU) while the schools are loaded.
	hashed := make(chan error, 1)
	var hash string
	go func() {
		var err error
		hash, err = models.HashPassword(demoPassword)
		hashed <- err
	}()
	var sum demoSummary
	region := func(code, name string, parent *int64) (models.Region, error) {
		r, err := models.FindRegionByCode(ctx, db, code)
		if errors.Is(err, models.ErrNotFound) {
			sum.Created++
			return models.CreateRegion(ctx, db, models.SystemActor, models.NewRegion{Name: name, Code: code, ParentID: parent})
		}
		return r, err
	}
	city, err := region("DEMO-3301", "示范市", nil)
	if err != nil {
		return sum, err
	}
	if sum.County, err = region("DEMO-330102", "示范区", &city.ID); err != nil {
		return sum, err
	}
	county2, err := region("DEMO-330103", "示范县", &city.ID)
	if err != nil {
		return sum, err
	}
	var fresh []demoTermPlan
	for i, d := range demoSchools {
		if err := stop.Err(); err != nil {
			return sum, err
		}
		code := fmt.Sprintf("DEMO-S%d", i+1)
		regionID := sum.County.ID
		if d.county == "县" {
			regionID = county2.ID
		}
		s, err := models.FindSchoolByCode(ctx, db, code)
		if errors.Is(err, models.ErrNotFound) {
			sum.Created++
			s, err = models.CreateSchool(ctx, db, models.SystemActor, models.NewSchool{Name: d.name, RegionID: regionID, Code: &code})
		}
		if err != nil {
			return sum, err
		}
		if small {
			d.perClass = max(3, d.perClass/4)
		}
		rows := demoRoster(i+1, d.classes, d.perClass)
		if i == 0 {
			rows = append(rows, demoFamilyRows()...)
		}
		res, err := models.ImportRoster(ctx, db, models.SystemActor, s.ID, rows)
		if err != nil {
			return sum, err
		}
		plan, made, err := seedDemoTerm(ctx, db, s, i+1, d, now)
		if err != nil {
			return sum, err
		}
		if plan != nil {
			plan.phones = map[string]string{}
			for _, r := range rows {
				if _, ok := plan.phones[r.StudentNo]; !ok {
					plan.phones[r.StudentNo] = r.GuardianPhone
				}
			}
			fresh = append(fresh, *plan)
		}
		sum.Created += made
		sum.Created += res.Created
		sum.Students += int64(res.Created + res.Updated)
		sum.Schools = append(sum.Schools, s)
	}
	school1 := sum.Schools[0].ID
	logins := []struct {
		demoLogin
		school, region *int64
	}{
		{demoLogin{"demo_platform", models.RolePlatformAdmin, "全平台", "平台管理员"}, nil, nil},
		{demoLogin{"demo_city", models.RoleBureauAdmin, city.Name + "教育局", "陈科长（市教育局）"}, nil, &city.ID},
		{demoLogin{"demo_bureau", models.RoleBureauAdmin, sum.County.Name + "教育局", "刘科长（区教育局）"}, nil, &sum.County.ID},
		{demoLogin{"demo_school", models.RoleSchoolAdmin, sum.Schools[0].Name, "赵主任（教务处）"}, &school1, nil},
		{demoLogin{"demo_teacher", models.RoleTeacher, sum.Schools[0].Name, "王芳老师"}, &school1, nil},
	}
	if err := <-hashed; err != nil {
		return sum, err
	}
	for _, u := range logins {
		_, err := models.FindUserByUsername(ctx, db, u.Username)
		if errors.Is(err, models.ErrNotFound) {
			_, err = models.CreateUser(ctx, db, models.SystemActor, models.NewUser{Username: u.Username,
				Password: demoPassword, PasswordHash: hash, Role: u.Role, SchoolID: u.school, RegionID: u.region,
				DisplayName: u.Name})
			if err == nil {
				sum.Created++
			}
		}
		if err != nil {
			return sum, err
		}
		sum.Logins = append(sum.Logins, u.demoLogin)
		if u.Role == models.RoleTeacher {
			if err := seedDemoTeacher(ctx, db, school1); err != nil {
				return sum, err
			}
		}
	}
	if len(fresh) > 0 {
		h, err := simulateDemo(ctx, stop, db, city.ID, fresh, now)
		if err != nil {
			return sum, err
		}
		sum.History = h
	}
	return sum, seedDemoFees(ctx, db, sum, now) // seed_fees.go
}

var (
	demoSurnames = []string{"王", "李", "张", "刘", "陈", "杨", "黄", "赵", "吴", "周", "徐", "孙", "马", "朱", "胡", "郭", "何", "林", "高", "罗", "郑", "梁", "谢", "宋", "唐", "韩", "冯", "邓", "曹", "许"}
	demoBoys     = []string{"浩然", "宇轩", "子墨", "梓豪", "俊熙", "一鸣", "思远", "博文", "天佑", "明哲", "嘉懿", "皓轩", "子涵", "泽宇", "晨阳", "煜祺"}
	demoGirls    = []string{"欣怡", "梓萱", "雨桐", "一诺", "诗涵", "可馨", "语嫣", "若曦", "佳怡", "思琪", "紫涵", "梦瑶", "雅琪", "晓彤", "静怡", "安然"}
	demoFathers  = []string{"伟", "强", "军", "磊", "勇", "杰", "斌", "涛", "建华", "志刚", "海波", "国庆"}
	demoMothers  = []string{"丽", "娜", "敏", "静", "芳", "燕", "霞", "婷", "秀英", "丽娟", "春梅", "晓燕"}
	demoPrefixes = []string{"139", "138", "137", "136", "135", "158", "186", "188"}
)

// demoRoster generates school n's roster: grades 1–6, classes per grade,
// perClass students per class, with one or two guardians each. It is
// deterministic (seeded by n), so running the seed again upserts the same
// students instead of adding new ones.
func demoRoster(n, classes, perClass int) []models.RosterRow {
	rng := rand.New(rand.NewPCG(uint64(n), 2026))
	pick := func(s []string) string { return s[rng.IntN(len(s))] }
	var rows []models.RosterRow
	seq := 0
	phone := func() string {
		seq++
		return fmt.Sprintf("%s%04d%04d", pick(demoPrefixes), n*100+rng.IntN(100), seq)
	}
	for grade := 1; grade <= 6; grade++ {
		for class := 1; class <= classes; class++ {
			for k := 1; k <= perClass; k++ {
				surname := pick(demoSurnames)
				gender, given := "男", pick(demoBoys)
				if rng.IntN(2) == 0 {
					gender, given = "女", pick(demoGirls)
				}
				base := models.RosterRow{
					StudentNo: fmt.Sprintf("2026%d%02d%02d", grade, class, k), Name: surname + given,
					Gender: gender, Grade: fmt.Sprint(grade), Class: fmt.Sprintf("%d班", class),
				}
				father, mother := base, base
				father.GuardianName, father.GuardianPhone, father.Relationship = surname+pick(demoFathers), phone(), "父亲"
				mother.GuardianName, mother.GuardianPhone, mother.Relationship = pick(demoSurnames)+pick(demoMothers), phone(), "母亲"
				switch rng.IntN(3) {
				case 0:
					rows = append(rows, mother)
				case 1:
					rows = append(rows, father, mother)
				default:
					rows = append(rows, mother, father)
				}
			}
		}
	}
	return rows
}
