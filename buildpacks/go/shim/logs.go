// The function's output and the invocation records, sent in batches to the host's log.sock (on a swarm, a second
// connection to the gateway).
package main

import (
	"fmt"
	"net"
	"strconv"
	"sync"
	"time"
)

// While the host falls behind or is away (a restart), at most maxPending bytes wait here: later lines are dropped
// and counted, never blocking the function's program.
const (
	maxPending = 1024 * 1024
	maxLine    = 64 * 1024
)

type logWriter struct {
	dial    dialer
	mu      sync.Mutex
	wake    *sync.Cond
	pending []byte
	dropped int
	conn    net.Conn
}

func newLogWriter(dial dialer) *logWriter {
	w := &logWriter{dial: dial}
	w.wake = sync.NewCond(&w.mu)
	go w.run()
	return w
}

// line adds one line: `o` stdout, `e` stderr, `p` an invocation's record.
func (w *logWriter) line(stream byte, text string) {
	if len(text) > maxLine {
		text = text[:maxLine] + fmt.Sprintf(" [lambda: line cut at %d characters]", maxLine)
	}
	w.mu.Lock()
	defer w.mu.Unlock()
	if len(w.pending)+len(text) > maxPending {
		w.dropped++
		return
	}
	if w.dropped > 0 {
		w.markDropped()
	}
	w.pending = append(w.pending, frame(stream, text)...)
	w.wake.Signal()
}

func frame(stream byte, text string) []byte {
	return []byte(strconv.FormatInt(time.Now().UnixMilli(), 10) + "\t" + string(stream) + "\t" + text + "\n")
}

func (w *logWriter) markDropped() {
	w.pending = append(w.pending, frame('p', fmt.Sprintf("[lambda] %d lines dropped: the function wrote faster than its log is kept", w.dropped))...)
	w.dropped = 0
}

// run sends what is pending, dialling (again, backing off) whenever the host is not there.
func (w *logWriter) run() {
	retry := 10 * time.Millisecond
	for {
		conn, err := w.dial(" log")
		if err != nil {
			time.Sleep(retry)
			if retry *= 2; retry > time.Second {
				retry = time.Second
			}
			continue
		}
		retry = 10 * time.Millisecond
		w.mu.Lock()
		w.conn = conn
		w.mu.Unlock()
		for {
			w.mu.Lock()
			for len(w.pending) == 0 {
				w.wake.Wait()
			}
			batch := w.pending
			w.pending = nil
			w.mu.Unlock()
			if _, err := conn.Write(batch); err != nil {
				break
			}
		}
		w.mu.Lock()
		w.conn = nil
		w.mu.Unlock()
		_ = conn.Close()
	}
}

// flush writes what waits, at exit, when the writer's goroutine will not run again.
func (w *logWriter) flush() {
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.conn != nil && len(w.pending) > 0 {
		_ = w.conn.SetWriteDeadline(time.Now().Add(500 * time.Millisecond))
		_, _ = w.conn.Write(w.pending)
		w.pending = nil
	}
}
