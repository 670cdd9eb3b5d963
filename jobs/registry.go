package jobs

// Defaults are the jobs every kehou server runs.
func Defaults() []Job {
	return []Job{Stats, StatsFinal, Retention}
}
