package jobs

// Defaults are the jobs every kehou server runs; s delivers notifications.
func Defaults(s Sender) []Job {
	return []Job{Stats, StatsFinal, Retention, Lottery, Sessions, Holds, Outbox(s)}
}
