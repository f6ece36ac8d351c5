package views

import (
	"fmt"
	"io"
	"math"
	"sort"
	"sync"
	"sync/atomic"
	"time"
	"unicode/utf8"

	"github.com/vbauerster/mpb/v8"
	"github.com/vbauerster/mpb/v8/decor"

	"github.com/nexus-run/nexus/internal/api"
	"github.com/nexus-run/nexus/planner"
)

// ProgressOptions tune NewApplyProgress.
type ProgressOptions struct {
	// Color colours the marks and the summary.
	Color bool
	// RefreshRate is how often the display is redrawn; 0 means 120ms.
	RefreshRate time.Duration
	// Now is the clock of the elapsed times; nil means time.Now.
	Now func() time.Time
}

// NewApplyProgress renders an apply on the terminal w with a live display
// (github.com/vbauerster/mpb): a bar per running wave of the plan p,
// counting the wave's settled transitions against its total, a line per
// running transition with a spinner and its elapsed time (once it has run
// for a redraw: the thousands that take microseconds would only flicker),
// and a footer with the apply's totals. Each
// finished transition (✓ complete, ✗ failed), skipped change and finished
// wave gets a line above the live display, in the order they happened, and
// keeps it: the terminal holds the whole story once the display is gone.
// Close stops the display and prints the summary.
//
// w must be a terminal: the display redraws itself with cursor movements.
// Off a terminal, use NewApplyPlain. Message and Close must be called from
// one goroutine at a time (the apply stream's reader).
func NewApplyProgress(w io.Writer, p *planner.Plan, o ProgressOptions) ApplyView {
	if o.RefreshRate <= 0 {
		o.RefreshRate = 120 * time.Millisecond
	}
	if o.Now == nil {
		o.Now = time.Now
	}
	v := &applyProgress{
		w: w, c: palette{on: o.Color}, now: o.Now,
		changes: map[string]*planner.Change{}, totals: map[int]int{},
		waves: map[int]*waveBar{}, running: map[string]*runningLine{}, settled: map[string]int{},
	}
	if p != nil {
		for _, c := range p.Changes {
			v.changes[c.Address] = c
			v.totals[c.Wave] += len(c.Transitions)
		}
	}
	v.bars = mpb.New(mpb.WithOutput(w), mpb.WithRefreshRate(o.RefreshRate))
	v.stop = make(chan struct{})
	v.shower.Go(func() { v.showRunning(o.RefreshRate) })
	return v
}

type applyProgress struct {
	w    io.Writer
	c    palette
	now  func() time.Time
	bars *mpb.Progress

	changes map[string]*planner.Change // by address
	totals  map[int]int                // transitions per wave
	waves   map[int]*waveBar
	settled map[string]int // transitions done, failed or skipped, by address
	seq     int            // transitions started
	footer  *footer
	final   *api.Message
	closed  bool

	// running holds the running transitions by address (a change runs one
	// at a time); showRunning gives those that last a line.
	mu      sync.Mutex
	running map[string]*runningLine
	stop    chan struct{}
	shower  sync.WaitGroup
}

var (
	_ ApplyView = (*applyProgress)(nil)
	_ io.Writer = (*applyProgress)(nil)
)

// Message updates the display with one message of the apply stream.
func (v *applyProgress) Message(m api.Message) {
	if m.Hook == nil && m.Type != "apply_start" && m.Type != "apply_complete" {
		return
	}
	if v.footer == nil {
		v.addFooter()
	}
	switch m.Type {
	case "apply_start":
		v.println(v.c.bold(m.Text + "..."))
	case "transition_start":
		v.start(m.Hook)
	case "transition_complete":
		v.finish(m.Hook, v.c.green("✓")+" "+m.Hook.Address+": "+m.Hook.Transition+" complete after "+elapsed(m.Hook.ElapsedMS))
		v.settle(m.Hook.Address, 1, outcomeDone)
	case "transition_errored":
		v.finish(m.Hook, v.c.red("✗")+" "+m.Hook.Address+": "+m.Hook.Transition+" failed after "+elapsed(m.Hook.ElapsedMS)+": "+m.Hook.Error)
		v.settle(m.Hook.Address, v.remaining(m.Hook.Address), outcomeFailed)
	case "transition_skipped":
		// A change skipped in its down half is skipped in its up half too:
		// one line says so.
		if n := v.remaining(m.Hook.Address); n > 0 {
			v.println("  " + v.c.yellow("-") + " " + m.Hook.Address + ": skipped (" + m.Hook.Cause + " failed)")
			v.settle(m.Hook.Address, n, outcomeSkipped)
		}
	case "apply_complete":
		final := m
		v.final = &final
	}
}

// Write prints p above the live display (after it closed, straight to the
// terminal): for notices, such as the CLI's on Ctrl-C, that must not tear
// the display. It is safe for concurrent use.
func (v *applyProgress) Write(p []byte) (int, error) {
	if n, err := v.bars.Write(p); err == nil {
		return n, nil
	}
	return v.w.Write(p)
}

// println writes a finished line above the live display; lines keep the
// order they were written in.
func (v *applyProgress) println(s string) {
	_, _ = fmt.Fprintln(v.bars, s)
}

// start adds a running transition's line, and its wave's bar if it has none.
func (v *applyProgress) start(h *api.Hook) {
	wb := v.wave(h.Address)
	if v.changes[h.Address] == nil {
		wb.total++
		v.footer.total.Add(1)
		wb.bar.SetTotal(int64(wb.total), false) // shown; wave 0's bar completes only in Close
	}
	v.footer.running.Add(1)
	v.seq++
	l := &runningLine{label: h.Address + ": " + h.Transition, started: v.now(), now: v.now, seq: v.seq}
	v.mu.Lock()
	v.running[h.Address] = l
	v.mu.Unlock()
}

// finish replaces a running transition's line, if it has one, by its
// outcome.
func (v *applyProgress) finish(h *api.Hook, text string) {
	v.mu.Lock()
	l := v.running[h.Address]
	delete(v.running, h.Address)
	v.mu.Unlock()
	if l != nil {
		v.footer.running.Add(-1)
		if l.bar != nil {
			l.bar.SetTotal(-1, true) // removes it
		}
	}
	v.println("  " + text)
}

// showRunning gives each transition still running after a redraw's time a
// line, every redraw, until Close.
func (v *applyProgress) showRunning(every time.Duration) {
	t := time.NewTicker(every)
	defer t.Stop()
	for {
		select {
		case <-v.stop:
			return
		case <-t.C:
		}
		now := v.now()
		v.mu.Lock()
		for _, l := range v.running {
			if l.bar == nil && now.Sub(l.started) >= every {
				l.bar = v.bars.New(0, mpb.NopStyle(), mpb.BarFillerTrim(), mpb.BarRemoveOnComplete(), mpb.BarPriority(1<<20+l.seq),
					mpb.PrependDecorators(newTextDecor(l.render)))
			}
		}
		v.mu.Unlock()
	}
}

// outcome is how a transition settled.
type outcome int

const (
	outcomeDone outcome = iota
	outcomeFailed
	outcomeSkipped
)

// settle counts n transitions of the change at addr as settled in its
// wave's bar, and a failed or skipped change in the wave's tally; the
// wave's line replaces its bar once every transition settled.
func (v *applyProgress) settle(addr string, n int, o outcome) {
	wb := v.wave(addr)
	v.settled[addr] += n
	switch o {
	case outcomeFailed:
		wb.failed++
	case outcomeSkipped:
		wb.skipped++
	}
	if n == 0 {
		return
	}
	wb.done += n
	v.footer.done.Add(int64(n))
	if wb.n != 0 && wb.done >= wb.total {
		v.println(wb.summary(v.now(), v.c))
	}
	wb.bar.IncrBy(n)
}

// remaining is how many transitions of the change at addr have not
// settled: those a failure or a skip leaves undone, counted as settled so
// the wave's bar completes.
func (v *applyProgress) remaining(addr string) int {
	c := v.changes[addr]
	if c == nil {
		return 1
	}
	return max(len(c.Transitions)-v.settled[addr], 0)
}

// wave returns the bar of the wave of the change at addr, adding it on
// the wave's first event. Changes the plan does not list count in wave 0
// ("Other"), whose total grows as their transitions start and whose line
// comes when the display closes.
func (v *applyProgress) wave(addr string) *waveBar {
	n := 0
	if c := v.changes[addr]; c != nil {
		n = c.Wave
	}
	wb := v.waves[n]
	if wb == nil {
		wb = &waveBar{n: n, total: v.totals[n], started: v.now(), now: v.now}
		// A bar completes when its count reaches the total it was made
		// with; wave 0's total is not known (a bar of total 0 never
		// completes by itself), the others' are.
		total := int64(wb.total)
		if n == 0 {
			total = 0
		}
		wb.bar = v.bars.New(total, mpb.BarStyle(), mpb.BarWidth(30), mpb.BarRemoveOnComplete(), mpb.BarPriority(n),
			mpb.PrependDecorators(newTextDecor(wb.label)), mpb.AppendDecorators(newTextDecor(wb.status)))
		v.waves[n] = wb
	}
	return wb
}

// Close stops the display, with a line for each transition and wave that
// never finished (the stream broke off, or the apply was interrupted), and
// prints the summary. It is safe to call more than once.
func (v *applyProgress) Close() {
	if v.closed {
		return
	}
	v.closed = true
	close(v.stop)
	v.shower.Wait()
	addrs := make([]string, 0, len(v.running))
	for a := range v.running {
		addrs = append(addrs, a)
	}
	sort.Strings(addrs)
	for _, a := range addrs {
		l := v.running[a]
		v.println("  " + v.c.yellow("…") + " " + l.label + " interrupted")
		if l.bar != nil {
			l.bar.Abort(true)
		}
	}
	waves := make([]int, 0, len(v.waves))
	for n := range v.waves {
		waves = append(waves, n)
	}
	sort.Ints(waves)
	for _, n := range waves {
		if wb := v.waves[n]; wb.done < wb.total || wb.n == 0 {
			v.println(wb.summary(v.now(), v.c))
			wb.bar.Abort(true)
		}
	}
	if v.footer != nil {
		// Last: the redraw that removes it writes out every line above.
		v.footer.bar.Abort(true)
	}
	v.bars.Wait()
	if v.final != nil {
		fmt.Fprintln(v.w, summaryText(*v.final, v.c))
	}
}

// addFooter adds the display's last line, the apply's totals. It lives
// until Close, which removes it last: mpb writes the lines printed above
// the display out with a redraw, and the footer's removal is the redraw
// that follows the last of them.
func (v *applyProgress) addFooter() {
	f := &footer{started: v.now(), now: v.now}
	for _, n := range v.totals {
		f.total.Add(int64(n))
	}
	f.bar = v.bars.New(0, mpb.NopStyle(), mpb.BarFillerTrim(), mpb.BarPriority(math.MaxInt),
		mpb.PrependDecorators(newTextDecor(f.render)))
	v.footer = f
}

// footer is the display's last line: settled and total transitions, those
// running, and the time since the apply began. Its counts are atomic:
// the stream's goroutine writes them, mpb's reads them.
type footer struct {
	bar                  *mpb.Bar
	started              time.Time
	now                  func() time.Time
	done, total, running atomic.Int64
}

func (f *footer) render(decor.Statistics) (string, string) {
	s := fmt.Sprintf("  %d/%d transitions, %d running, %s", f.done.Load(), f.total.Load(), f.running.Load(),
		elapsed(f.now().Sub(f.started).Milliseconds()))
	return s, s
}

// runningLine is one running transition's line: a spinner, the transition
// and its elapsed time. render runs on mpb's goroutines and reads only what
// is set before the bar is; bar is guarded by applyProgress.mu.
type runningLine struct {
	label   string
	started time.Time
	now     func() time.Time
	seq     int
	bar     *mpb.Bar // nil until shown
}

var spinner = []string{"⠋", "⠙", "⠹", "⠸", "⠼", "⠴", "⠦", "⠧", "⠇", "⠏"}

func (l *runningLine) render(decor.Statistics) (string, string) {
	d := l.now().Sub(l.started)
	s := "  " + spinner[int(d/(100*time.Millisecond))%len(spinner)] + " " + l.label + "  " + elapsed(d.Milliseconds())
	return s, s
}

// waveBar is one wave's bar. Its decorators run on mpb's goroutines and
// read only the fields set before the bar was; the counts belong to the
// stream's goroutine.
type waveBar struct {
	n               int
	bar             *mpb.Bar
	started         time.Time
	now             func() time.Time
	total, done     int
	failed, skipped int // changes
}

func (w *waveBar) name() string {
	if w.n == 0 {
		return "Other"
	}
	return fmt.Sprintf("Wave %d", w.n)
}

func (w *waveBar) label(decor.Statistics) (string, string) {
	return w.name(), w.name()
}

func (w *waveBar) status(st decor.Statistics) (string, string) {
	s := fmt.Sprintf("%d/%d  %s", st.Current, st.Total, elapsed(w.now().Sub(w.started).Milliseconds()))
	return s, s
}

// summary is the wave's line once it ended (or the apply did).
func (w *waveBar) summary(now time.Time, c palette) string {
	took := elapsed(now.Sub(w.started).Milliseconds())
	head := fmt.Sprintf("%s: %d/%d transitions", w.name(), w.done, w.total)
	switch {
	case w.done < w.total:
		return c.bold(head) + " " + c.yellow("interrupted") + " after " + took
	case w.failed > 0:
		return c.bold(head) + ", " + c.red(fmt.Sprintf("%d failed", w.failed)) + ", in " + took
	case w.skipped > 0:
		return c.bold(head) + ", " + c.yellow(fmt.Sprintf("%d skipped", w.skipped)) + ", in " + took
	}
	return c.bold(head) + " " + c.green("done") + " in " + took
}

// textDecor is an mpb decorator whose text may hold colour codes: its
// width is that of the plain text.
type textDecor struct {
	decor.WC
	render func(decor.Statistics) (shown, plain string)
}

var _ decor.Decorator = (*textDecor)(nil)

func newTextDecor(render func(decor.Statistics) (shown, plain string)) *textDecor {
	d := &textDecor{render: render}
	d.WC.Init()
	return d
}

// Decor returns the text and its width on screen.
func (d *textDecor) Decor(st decor.Statistics) (string, int) {
	shown, plain := d.render(st)
	return shown, utf8.RuneCountInString(plain)
}
