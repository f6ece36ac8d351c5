package schedule

import "time"

// nextRun returns when the schedule runs next: for `every`, the first time
// after now on the grid prev + k×every (fixed rate, missed ticks skipped);
// for `cron`, the first matching time after both prev and now. prev is the
// last scheduled time (or when the schedule began). The zero time means
// never (a cron expression that matches no date).
func nextRun(cfg config, prev, now time.Time) time.Time {
	if cfg.cron != nil {
		if prev.After(now) {
			now = prev
		}
		return cfg.cron.Next(now)
	}
	next := prev.Add(cfg.every)
	if !next.After(now) {
		missed := now.Sub(prev) / cfg.every
		next = prev.Add((missed + 1) * cfg.every)
	}
	return next
}
