package audit

import "fmt"

// run is the writer goroutine: it takes every request waiting, writes them
// with one write and one fsync, and answers them, until Close closes reqs.
func (l *Log) run() {
	defer close(l.done)
	batch := make([]*request, 0, maxBatch)
	for req := range l.reqs {
		batch = append(batch[:0], req)
	fill:
		for len(batch) < maxBatch {
			select {
			case more, ok := <-l.reqs:
				if !ok {
					break fill
				}
				batch = append(batch, more)
			default:
				break fill
			}
		}
		l.commit(batch)
		clear(batch) // let answered requests be collected
	}
}

// commit links, writes and fsyncs a batch, then answers each request.
func (l *Log) commit(batch []*request) {
	errs := make([]error, len(batch))
	if l.err != nil {
		for i := range batch {
			errs[i] = l.err
		}
		answer(batch, errs)
		return
	}
	buf := l.buf[:0]
	c := l.chain
	written := 0
	for i, req := range batch {
		line, next, err := c.link(&req.rec, l.now().UTC())
		if err != nil {
			errs[i] = fmt.Errorf("audit %s: %w", req.rec.Type, err)
			continue
		}
		buf = append(buf, line...)
		buf = append(buf, '\n')
		c = next
		written++
	}
	if written > 0 {
		if err := l.write(buf); err != nil {
			l.err = err
			for i := range errs {
				if errs[i] == nil {
					errs[i] = err
				}
			}
		} else {
			l.chain = c
			l.headMu.Lock()
			l.head = c.head
			l.headMu.Unlock()
		}
	}
	if cap(buf) <= 4<<20 {
		l.buf = buf // keep a modest buffer for the next batch
	}
	answer(batch, errs)
}

// write appends buf to the file and fsyncs it.
func (l *Log) write(buf []byte) error {
	if _, err := l.f.Write(buf); err != nil {
		return fmt.Errorf("write audit log %s: %w; the log accepts no more records until the daemon restarts and the file is checked", l.path, err)
	}
	if err := l.f.Sync(); err != nil {
		return fmt.Errorf("fsync audit log %s: %w; the log accepts no more records until the daemon restarts and the file is checked", l.path, err)
	}
	return nil
}

func answer(batch []*request, errs []error) {
	for i, req := range batch {
		req.result <- errs[i]
	}
}
