// Package jobs is kehou's scheduled edge: each job is a function over the
// database, run by cron (Asia/Shanghai) and on demand, every run recorded in
// job_runs. A run is never started twice at once (an in-process guard plus a
// cross-process lock), a panic is recovered and recorded as a failure, and a
// scheduled run happens once per schedule however many instances share one
// database (the first instance to claim the slot runs it).
package jobs

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"runtime/debug"
	"sort"
	"strconv"
	"sync"
	"time"

	"github.com/robfig/cron/v3"

	"kehou/models"
)

// Func is the body of a job: it works as of now and answers how many rows it
// wrote.
type Func func(ctx context.Context, db *models.DB, now time.Time) (rows int64, err error)

// Job is a named job and its cron schedule (empty: manual only).
type Job struct {
	Name     string
	Schedule string
	Run      Func
	// Quiet jobs poll (the lottery looks every minute for a window that
	// closed): a scheduled run that succeeds having written nothing leaves
	// no record, so the history shows the runs that did something or
	// failed. Manual runs are always recorded.
	Quiet bool
}

// Runner schedules and runs jobs against one database.
type Runner struct {
	db       *models.DB
	log      *slog.Logger
	now      func() time.Time
	instance string
	// lease bounds how long a crashed holder keeps a job's SQLite lease.
	lease time.Duration

	mu      sync.Mutex
	jobs    map[string]Job
	running map[string]bool

	cron   *cron.Cron
	ctx    context.Context
	cancel context.CancelFunc
}

// Options tunes a Runner.
type Options struct {
	// Now is the clock (tests move it); default time.Now.
	Now func() time.Time
	// Instance names this process in run records; default host:pid.
	Instance string
	// Lease is the SQLite lock lease, renewed while the job runs; default
	// 2 minutes.
	Lease time.Duration
}

// New builds a Runner with no jobs; Register adds them.
func New(db *models.DB, log *slog.Logger, opt Options) *Runner {
	if opt.Now == nil {
		opt.Now = time.Now
	}
	if opt.Instance == "" {
		host, _ := os.Hostname()
		opt.Instance = host + ":" + strconv.Itoa(os.Getpid())
	}
	if opt.Lease <= 0 {
		opt.Lease = 2 * time.Minute
	}
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	ctx, cancel := context.WithCancel(context.Background())
	return &Runner{db: db, log: log, now: opt.Now, instance: opt.Instance, lease: opt.Lease,
		jobs: map[string]Job{}, running: map[string]bool{}, ctx: ctx, cancel: cancel}
}

// Register adds job j (replacing one of the same name).
func (r *Runner) Register(j Job) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.jobs[j.Name] = j
}

// Names lists the registered jobs.
func (r *Runner) Names() []string {
	r.mu.Lock()
	defer r.mu.Unlock()
	out := make([]string, 0, len(r.jobs))
	for n := range r.jobs {
		out = append(out, n)
	}
	sort.Strings(out)
	return out
}

// cronLogger adapts slog to cron's logger.
type cronLogger struct{ log *slog.Logger }

func (l cronLogger) Info(msg string, kv ...any) { l.log.Debug("cron: "+msg, kv...) }
func (l cronLogger) Error(err error, msg string, kv ...any) {
	l.log.Error("cron: "+msg, append(kv, "error", fmt.Sprint(err))...)
}

// Start schedules every job that has a schedule and starts cron.
func (r *Runner) Start() error {
	l := cronLogger{r.log}
	c := cron.New(cron.WithLocation(models.Zone), cron.WithLogger(l),
		cron.WithChain(cron.Recover(l), cron.SkipIfStillRunning(l)))
	r.mu.Lock()
	for _, j := range r.jobs {
		if j.Schedule == "" {
			continue
		}
		name := j.Name
		if _, err := c.AddFunc(j.Schedule, func() { r.runScheduled(name) }); err != nil {
			r.mu.Unlock()
			return fmt.Errorf("jobs: schedule %s %q: %w", name, j.Schedule, err)
		}
	}
	r.cron = c
	r.mu.Unlock()
	c.Start()
	return nil
}

// Stop stops scheduling, cancels the running jobs' context and waits for
// them to end (or for ctx). Call it before closing the database.
func (r *Runner) Stop(ctx context.Context) {
	r.mu.Lock()
	c := r.cron
	r.mu.Unlock()
	if c == nil {
		r.cancel()
		return
	}
	done := c.Stop().Done()
	r.cancel()
	select {
	case <-done:
	case <-ctx.Done():
	}
}

// Slot is the schedule slot of a firing at t: the minute, in Asia/Shanghai.
// cron fires on minute boundaries, so every instance firing the same
// schedule computes the same slot.
func Slot(t time.Time) string {
	return t.In(models.Zone).Truncate(time.Minute).Format("2006-01-02T15:04")
}

// runScheduled is what cron calls.
func (r *Runner) runScheduled(name string) {
	if _, err := r.RunScheduled(r.ctx, name, Slot(r.now())); err != nil && !errors.Is(err, errSlotTaken) {
		r.log.Error("job failed to start", "job", name, "error", err.Error())
	}
}

// errSlotTaken means another instance claimed the slot; nothing is recorded.
var errSlotTaken = errors.New("jobs: slot claimed by another instance")

// RunScheduled runs job name for schedule slot, once across every instance
// sharing the database: the instance that claims the slot runs it; the
// others record nothing. A slot won while the job is still running (here
// or elsewhere) is recorded as skipped.
func (r *Runner) RunScheduled(ctx context.Context, name, slot string) (models.JobRun, error) {
	j, ok := r.job(name)
	if !ok {
		return models.JobRun{}, models.ErrUnknownJob
	}
	won, err := models.ClaimJobSlot(ctx, r.db, name, slot, r.instance, r.now())
	if err != nil {
		return models.JobRun{}, err
	}
	if !won {
		r.log.Debug("job slot taken by another instance", "job", name, "slot", slot)
		return models.JobRun{}, errSlotTaken
	}
	run, err := r.run(ctx, j, models.TriggerScheduled, slot)
	if errors.Is(err, models.ErrJobRunning) {
		return models.StartJobRun(context.WithoutCancel(ctx), r.db, models.JobRun{Name: name,
			Trigger: models.TriggerScheduled, Instance: r.instance, Slot: slot, StartedAt: r.now(),
			Status: models.RunSkipped, Error: "上一次运行尚未结束"})
	}
	return run, err
}

// RunNow runs job name at once, synchronously, and answers its run record:
// ErrUnknownJob for a name not registered, ErrJobRunning when it is running.
// The record's status tells whether the job itself failed.
func (r *Runner) RunNow(ctx context.Context, name string) (models.JobRun, error) {
	j, ok := r.job(name)
	if !ok {
		return models.JobRun{}, models.ErrUnknownJob
	}
	return r.run(ctx, j, models.TriggerManual, "")
}

func (r *Runner) job(name string) (Job, bool) {
	r.mu.Lock()
	defer r.mu.Unlock()
	j, ok := r.jobs[name]
	return j, ok
}

// run takes the in-process guard and the cross-process lock, records the
// run, calls the job with panics recovered, and records how it ended.
func (r *Runner) run(ctx context.Context, j Job, trigger, slot string) (models.JobRun, error) {
	r.mu.Lock()
	if r.running[j.Name] {
		r.mu.Unlock()
		return models.JobRun{}, models.ErrJobRunning
	}
	r.running[j.Name] = true
	r.mu.Unlock()
	defer func() {
		r.mu.Lock()
		delete(r.running, j.Name)
		r.mu.Unlock()
	}()

	lock, ok, err := models.TryJobLock(ctx, r.db, j.Name, r.instance, r.lease, r.now())
	if err != nil {
		return models.JobRun{}, err
	}
	if !ok {
		return models.JobRun{}, models.ErrJobRunning
	}
	defer lock.Release()

	book := context.WithoutCancel(ctx) // the record must be written even if ctx ends
	run := models.JobRun{Name: j.Name, Trigger: trigger, Instance: r.instance, Slot: slot, StartedAt: r.now()}
	// A quiet scheduled run is recorded once it has done something (or
	// failed), at its end: most of its runs leave no row.
	deferRecord := j.Quiet && trigger == models.TriggerScheduled
	if !deferRecord {
		if run, err = models.StartJobRun(book, r.db, run); err != nil {
			return models.JobRun{}, err
		}
	}
	log := r.log.With("job", j.Name, "run_id", run.ID, "trigger", trigger)
	if !deferRecord {
		log.Info("job started")
	}
	rows, runErr := call(ctx, j.Run, r.db, r.now())
	status, msg := models.RunSucceeded, ""
	if runErr != nil {
		status, msg = models.RunFailed, runErr.Error()
		log.Error("job failed", "error", msg)
	}
	if deferRecord {
		if runErr == nil && rows == 0 {
			run.Status = models.RunSucceeded
			return run, nil
		}
		if run, err = models.StartJobRun(book, r.db, run); err != nil {
			return run, err
		}
	}
	if err := models.FinishJobRun(book, r.db, &run, status, msg, rows, r.now()); err != nil {
		return run, err
	}
	log.Info("job ended", "status", status, "rows", rows, "duration_ms", run.EndedAt.Sub(run.StartedAt).Milliseconds())
	return run, nil
}

// call runs f, turning a panic into an error that carries its text.
func call(ctx context.Context, f Func, db *models.DB, now time.Time) (rows int64, err error) {
	defer func() {
		if p := recover(); p != nil {
			err = fmt.Errorf("panic: %v\n%s", p, debug.Stack())
		}
	}()
	return f(ctx, db, now)
}
